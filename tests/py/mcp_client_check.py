#!/usr/bin/env python3
"""Check an MCP server (streamable HTTP) with the OFFICIAL MCP Python SDK client.

Usage:
  mcp_client_check.py --url http://127.0.0.1:PORT/mcp --token TOKEN \\
      --protocol-version 2025-06-18|2025-11-25 [--call server_info --call ip_addresses]

What it checks, failing (exit 1, message on stderr) at the first problem:
  1. initialize with exactly the requested protocol version, and the server's
     answer `protocolVersion` equals it (no silent downgrade/upgrade);
  2. tools/list (all pages): every tool has a non-empty description, an
     inputSchema of type "object" and an outputSchema of type "object", and
     both schemas are valid JSON Schema (Draft 2020-12 unless they say `$schema`);
  3. each --call NAME runs tools/call NAME with {} (or --call 'NAME={"json":1}'
     with those arguments): isError is false, structuredContent is present and
     validates against the tool's outputSchema (jsonschema Draft202012Validator,
     `$ref`s must resolve inside the schema, as in the SDK), and the first
     content block is text whose JSON equals structuredContent.
On success prints ONE JSON line on stdout and exits 0:
  {"protocolVersion": ..., "tools": [names], "calls": {name: structuredContent}}

The whole run is bounded by --timeout (default 25 s), each request by
--request-timeout (default 10 s); a watchdog kills the process 3 s after the
overall deadline if shutdown itself hangs, so it never runs longer than ~30 s.

Forcing the protocol version: the SDK's ClientSession.initialize() always sends
`mcp.types.LATEST_PROTOCOL_VERSION`. This script uses a ClientSession subclass
whose send_request() rewrites `params.protocolVersion` of the InitializeRequest
(and nothing else) to the requested version before it is sent; the SDK's
streamable HTTP transport then sends the negotiated version in the
`MCP-Protocol-Version` header of later requests.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from datetime import timedelta
from typing import Any

EXIT_FAIL = 1

# What the check was doing when it failed; named in the failure message.
PHASE = {"now": "connecting"}


class CheckFailed(Exception):
    """A check did not hold; the message says which and why."""


def eprint(*args: Any) -> None:
    print("mcp_client_check:", *args, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Check an MCP streamable-HTTP server with the official MCP Python SDK.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--url", required=True, help="MCP endpoint, e.g. http://127.0.0.1:1985/mcp")
    p.add_argument("--token", default=None, help="Bearer token (sent as Authorization: Bearer TOKEN)")
    p.add_argument("--protocol-version", required=True,
                   help="protocol version to request and to require back, e.g. 2025-06-18 or 2025-11-25")
    p.add_argument("--call", action="append", default=[], metavar="NAME[=JSON]",
                   help="call tool NAME with {} (or with the JSON object after '='); repeatable")
    p.add_argument("--timeout", type=float, default=25.0, help="overall deadline in seconds (default 25)")
    p.add_argument("--request-timeout", type=float, default=10.0,
                   help="per-request read timeout in seconds (default 10)")
    args = p.parse_args(argv)

    calls: list[tuple[str, dict[str, Any]]] = []
    for spec in args.call:
        name, sep, raw = spec.partition("=")
        arguments: Any = {}
        if sep:
            try:
                arguments = json.loads(raw)
            except json.JSONDecodeError as e:
                p.error(f"--call {spec!r}: arguments are not JSON: {e}")
            if not isinstance(arguments, dict):
                p.error(f"--call {spec!r}: arguments must be a JSON object")
        if not name:
            p.error(f"--call {spec!r}: empty tool name")
        calls.append((name, arguments))
    args.calls = calls
    return args


def schema_validator(schema: dict[str, Any], what: str):
    """A jsonschema validator for `schema`: Draft 2020-12 unless `$schema` names
    another dialect; `$ref`s resolve only inside the schema (empty registry),
    exactly like the SDK's own check in ClientSession.call_tool."""
    from jsonschema import Draft202012Validator, SchemaError
    from jsonschema.validators import validator_for
    from referencing import Registry

    cls = validator_for(schema, default=Draft202012Validator)
    if cls is not Draft202012Validator:
        eprint(f"note: {what} declares $schema {schema.get('$schema')!r}; validating with {cls.__name__}")
    try:
        cls.check_schema(schema)
    except SchemaError as e:
        raise CheckFailed(f"{what} is not a valid JSON Schema: {e.message} "
                          f"(at {'/'.join(map(str, e.absolute_path)) or '<root>'})") from None
    return cls(schema, registry=Registry())


def check_tool_definition(tool: Any) -> None:
    name = tool.name
    if not isinstance(tool.description, str) or not tool.description.strip():
        raise CheckFailed(f"tool {name!r}: missing or empty description")
    for field in ("inputSchema", "outputSchema"):
        schema = getattr(tool, field, None)
        if schema is None:
            raise CheckFailed(f"tool {name!r}: no {field}")
        if not isinstance(schema, dict):
            raise CheckFailed(f"tool {name!r}: {field} is not an object: {schema!r}")
        if schema.get("type") != "object":
            raise CheckFailed(f"tool {name!r}: {field}.type is {schema.get('type')!r}, expected 'object'")
        schema_validator(schema, f"tool {name!r} {field}")


def check_call_result(name: str, result: Any, output_schema: dict[str, Any]) -> Any:
    from jsonschema.exceptions import best_match

    def content_text() -> str:
        parts = [getattr(c, "text", f"<{getattr(c, 'type', '?')} block>") for c in (result.content or [])]
        return " | ".join(parts)[:2000]

    if result.isError:
        raise CheckFailed(f"tools/call {name!r}: isError is true: {content_text()}")
    sc = result.structuredContent
    if sc is None:
        raise CheckFailed(f"tools/call {name!r}: no structuredContent (content: {content_text()})")
    validator = schema_validator(output_schema, f"tool {name!r} outputSchema")
    errors = list(validator.iter_errors(sc))
    if errors:
        worst = best_match(errors)
        where = "/".join(map(str, worst.absolute_path)) or "<root>"
        raise CheckFailed(
            f"tools/call {name!r}: structuredContent does not validate against outputSchema "
            f"({len(errors)} error(s)); at {where}: {worst.message}\n"
            f"  structuredContent: {json.dumps(sc)[:2000]}"
        )
    if not result.content:
        raise CheckFailed(f"tools/call {name!r}: content is empty (expected a text block with the JSON)")
    first = result.content[0]
    if getattr(first, "type", None) != "text":
        raise CheckFailed(f"tools/call {name!r}: first content block is {getattr(first, 'type', None)!r}, "
                          "expected 'text'")
    try:
        parsed = json.loads(first.text)
    except json.JSONDecodeError as e:
        raise CheckFailed(f"tools/call {name!r}: first text block is not JSON ({e}): {first.text[:500]!r}")
    if parsed != sc:
        raise CheckFailed(
            f"tools/call {name!r}: first text block's JSON differs from structuredContent\n"
            f"  text:              {json.dumps(parsed, sort_keys=True)[:1000]}\n"
            f"  structuredContent: {json.dumps(sc, sort_keys=True)[:1000]}"
        )
    return sc


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    import mcp.types as types
    from mcp import ClientSession
    from mcp.shared.version import SUPPORTED_PROTOCOL_VERSIONS

    wanted = args.protocol_version
    if wanted not in SUPPORTED_PROTOCOL_VERSIONS:
        raise CheckFailed(f"protocol version {wanted!r} is not one this SDK speaks: {SUPPORTED_PROTOCOL_VERSIONS}")

    sent_versions: list[str] = []

    class VersionForcingSession(ClientSession):
        """ClientSession whose initialize request carries the requested version."""

        async def send_request(self, request, *a, **kw):  # type: ignore[override]
            root = getattr(request, "root", None)
            if isinstance(root, types.InitializeRequest):
                root.params.protocolVersion = wanted
                sent_versions.append(root.params.protocolVersion)
            return await super().send_request(request, *a, **kw)

    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    rt = args.request_timeout

    # mcp >= 1.2x: streamable_http_client(url, http_client=...); the older
    # streamablehttp_client(url, headers=...) is deprecated there but is the
    # only one in earlier 1.x releases.
    try:
        from mcp.client.streamable_http import streamable_http_client
    except ImportError:
        streamable_http_client = None

    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        if streamable_http_client is not None:
            http = await stack.enter_async_context(
                httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(rt, read=rt)))
            transport = streamable_http_client(args.url, http_client=http)
        else:  # pragma: no cover - older 1.x
            from mcp.client.streamable_http import streamablehttp_client
            transport = streamablehttp_client(args.url, headers=headers, timeout=rt, sse_read_timeout=rt)
        read, write, _get_session_id = await stack.enter_async_context(transport)
        session = await stack.enter_async_context(
            VersionForcingSession(read, write, read_timeout_seconds=timedelta(seconds=rt)))

        # 1. initialize
        PHASE["now"] = f"initialize (protocolVersion {wanted})"
        init = await session.initialize()
        if sent_versions != [wanted]:
            raise CheckFailed(f"internal: initialize sent protocol versions {sent_versions}, wanted [{wanted!r}]")
        if init.protocolVersion != wanted:
            raise CheckFailed(f"initialize: requested protocolVersion {wanted!r}, "
                              f"server answered {init.protocolVersion!r}")
        if init.capabilities.tools is None:
            raise CheckFailed("initialize: server does not declare the `tools` capability")

        # 2. tools/list, every page
        PHASE["now"] = "tools/list"
        tools = []
        cursor = None
        for _page in range(100):
            if cursor is None:
                page = await session.list_tools()
            elif hasattr(types, "PaginatedRequestParams"):
                page = await session.list_tools(params=types.PaginatedRequestParams(cursor=cursor))
            else:  # pragma: no cover - older 1.x
                page = await session.list_tools(cursor)
            tools.extend(page.tools)
            cursor = page.nextCursor
            if not cursor:
                break
        else:
            raise CheckFailed("tools/list: more than 100 pages (nextCursor never ends?)")
        if not tools:
            raise CheckFailed("tools/list: no tools")
        names = [t.name for t in tools]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise CheckFailed(f"tools/list: duplicate tool names: {dupes}")
        for t in tools:
            check_tool_definition(t)
        by_name = {t.name: t for t in tools}

        # 3. tools/call
        calls: dict[str, Any] = {}
        for name, arguments in args.calls:
            PHASE["now"] = f"tools/call {name}"
            if name not in by_name:
                raise CheckFailed(f"--call {name!r}: no such tool; tools are {names}")
            try:
                result = await session.call_tool(name, arguments)
            except Exception as e:
                # The SDK itself rejects a result whose structuredContent is
                # missing or does not match outputSchema (RuntimeError).
                raise CheckFailed(f"tools/call {name!r} failed in the SDK client: {describe_exc(e)}") from e
            calls[name] = check_call_result(name, result, by_name[name].outputSchema)

        PHASE["now"] = "closing the session"
        return {"protocolVersion": init.protocolVersion, "tools": names, "calls": calls}


def leaf_exceptions(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        out: list[BaseException] = []
        for e in exc.exceptions:
            out.extend(leaf_exceptions(e))
        return out
    return [exc]


def describe_exc(exc: BaseException) -> str:
    try:
        from mcp.shared.exceptions import McpError
    except ImportError:  # pragma: no cover
        McpError = ()  # type: ignore[assignment]
    import httpx

    if isinstance(exc, CheckFailed):
        return str(exc)
    if isinstance(exc, McpError):
        err = exc.error
        msg = f"MCP error {err.code}: {err.message}" + (f" (data: {err.data!r})" if err.data else "")
        if err.message == "Session terminated":
            msg += " (the SDK reports an HTTP 404 answer this way: wrong URL, or the server forgot the session)"
        return msg
    if isinstance(exc, httpx.HTTPStatusError):
        r = exc.response
        msg = f"HTTP {r.status_code} from {exc.request.method} {exc.request.url}"
        if r.headers.get("www-authenticate"):
            msg += f"; WWW-Authenticate: {r.headers['www-authenticate']}"
        try:
            if r.text:
                msg += f"; body: {r.text[:500]!r}"
        except Exception:  # a streamed body the SDK did not read
            pass
        return msg
    if isinstance(exc, httpx.HTTPError):
        return f"{type(exc).__name__} talking to the server: {exc}"
    return f"{type(exc).__name__}: {exc}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    # Last line of defence: the process never outlives the deadline by more
    # than a few seconds, even if the SDK's shutdown hangs.
    def watchdog() -> None:
        eprint(f"FAIL: watchdog: still running {args.timeout + 3:.0f} s after start; killing myself")
        os._exit(EXIT_FAIL)

    timer = threading.Timer(args.timeout + 3, watchdog)
    timer.daemon = True
    timer.start()

    import anyio

    async def bounded() -> dict[str, Any]:
        with anyio.fail_after(args.timeout):
            return await run(args)

    try:
        summary = anyio.run(bounded)
    except BaseException as exc:  # noqa: BLE001 - report everything, then exit 1
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        leaves = leaf_exceptions(exc)
        # CheckFailed is the interesting one; transport noise comes after it.
        leaves.sort(key=lambda e: not isinstance(e, CheckFailed))
        if any(isinstance(e, TimeoutError) for e in leaves) and not any(isinstance(e, CheckFailed) for e in leaves):
            eprint(f"FAIL during {PHASE['now']}: overall deadline of {args.timeout:g} s passed "
                   f"talking to {args.url}")
            leaves = [e for e in leaves if not isinstance(e, TimeoutError)]
        for e in leaves:
            eprint(f"FAIL during {PHASE['now']}: {describe_exc(e)}")
        if os.environ.get("MCP_CLIENT_CHECK_TRACEBACK"):
            import traceback
            traceback.print_exception(exc)
        sys.stderr.flush()
        os._exit(EXIT_FAIL)  # do not wait for stray SDK threads/tasks
    timer.cancel()
    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
