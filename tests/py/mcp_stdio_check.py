#!/usr/bin/env python3
"""Drive a stdio MCP server (`termbridge stdio`, or `termbridge bridge` in
front of a running server) with the OFFICIAL MCP Python SDK stdio client
(`mcp.client.stdio.stdio_client` with `StdioServerParameters`).

Usage:
  mcp_stdio_check.py --command PATH [--arg ARG ...] [--env NAME=VALUE ...]
                     [--errlog FILE] [--restart]

Steps, failing (exit 1, message on stderr) at the first problem:
  1. initialize; the server declares the tools capability;
  2. tools/list: every tool valid (as in mcp_client_check.py: description,
     object input/output schemas that are valid JSON Schema);
  3. session_open, then session_run of a command that takes ~1.5 s with a
     progress callback: the result is `completed`, exit code 3, the
     expected output, valid against the outputSchema; at least one progress
     notification arrived, all of them before the result, with increasing
     progress;
  4. notifications: `notifications/roots/list_changed` is sent (a server
     answers it with nothing; over HTTP with 202), then `ping` still works;
  5. cancellation: a 20-probe `ping` of 127.0.0.1 is cancelled with
     `notifications/cancelled` after its first progress notification: the
     result says stopped "cancelled" with fewer than 20 replies;
  6. with --restart: prints {"phase": "restart"} on stdout, waits for one
     line on stdin (the test restarts the server meanwhile), then
     server_info, session_open and session_run must work again through the
     same stdio connection.
On success prints ONE JSON summary line on stdout and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from datetime import timedelta
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mcp_client_check import (  # noqa: E402
    CheckFailed,
    check_call_result,
    check_tool_definition,
    describe_exc,
    leaf_exceptions,
)

PHASE = {"now": "starting the server"}


def eprint(*args: Any) -> None:
    print("mcp_stdio_check:", *args, file=sys.stderr, flush=True)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--command", required=True, help="the server program")
    p.add_argument("--arg", action="append", default=[], help="one argument of the program (repeatable)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="environment variable for the program (repeatable)")
    p.add_argument("--errlog", default=None, help="file for the program's stderr (default: ours)")
    p.add_argument("--restart", action="store_true", help="run the restart phase (see above)")
    p.add_argument("--timeout", type=float, default=90.0, help="overall deadline in seconds")
    p.add_argument("--request-timeout", type=float, default=30.0, help="per-request timeout in seconds")
    return p.parse_args(argv)


async def call_checked(session, by_name, name: str, arguments: dict, **kw) -> Any:
    PHASE["now"] = f"tools/call {name}"
    try:
        result = await session.call_tool(name, arguments, **kw)
    except Exception as e:
        raise CheckFailed(f"tools/call {name!r} failed in the SDK client: {describe_exc(e)}") from e
    return check_call_result(name, result, by_name[name].outputSchema)


async def run_session_command(session, by_name, label: str) -> dict[str, Any]:
    opened = await call_checked(session, by_name, "session_open", {"name": f"stdio-check-{label}"})
    sid = opened["id"]
    progress: list[tuple[float, float | None, str | None]] = []
    done = {"result": False}

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        if done["result"]:
            raise CheckFailed("a progress notification arrived after the result")
        progress.append((value, total, message))

    result = await call_checked(
        session, by_name, "session_run",
        {"session_id": sid, "command": "sleep 1.5; echo stdio-$((40+2)); exit_with() { return $1; }; exit_with 3",
         "timeout_ms": 20000},
        progress_callback=on_progress,
    )
    done["result"] = True
    if result["status"] != "completed" or result["exit_code"] != 3:
        raise CheckFailed(f"session_run: expected completed with exit code 3, got {json.dumps(result)[:500]}")
    if "stdio-42" not in result["output"]:
        raise CheckFailed(f"session_run: output lacks stdio-42: {result['output']!r}")
    if not progress:
        raise CheckFailed("session_run with a progress callback: no progress notification arrived")
    values = [p[0] for p in progress]
    if values != sorted(values) or len(set(values)) != len(values):
        raise CheckFailed(f"progress values do not increase: {values}")
    await call_checked(session, by_name, "session_close", {"session_id": sid})
    return {"session_id": sid, "exit_code": result["exit_code"], "progress": len(progress),
            "first_progress_message": progress[0][2]}


async def cancel_ping(session, by_name) -> dict[str, Any]:
    import anyio
    import mcp.types as types

    PHASE["now"] = "cancelling a ping"
    first = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        first.set()

    # The SDK numbers requests itself; this is the id the next one gets.
    request_id = session._request_id
    outcome: dict[str, Any] = {}

    async def call() -> None:
        outcome["result"] = await call_checked(
            session, by_name, "ping", {"host": "127.0.0.1", "count": 20, "interval_ms": 200},
            progress_callback=on_progress)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await first.wait()
        await session.send_notification(types.ClientNotification(types.CancelledNotification(
            params=types.CancelledNotificationParams(requestId=request_id, reason="seen enough"))))
    result = outcome["result"]
    replies = len(result.get("replies") or [])
    if result.get("stopped") != "cancelled" or not replies < 20:
        raise CheckFailed(f"ping after notifications/cancelled: expected stopped 'cancelled' with fewer "
                          f"than 20 replies, got stopped {result.get('stopped')!r} with {replies}")
    return {"stopped": result["stopped"], "replies": replies}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    import anyio
    import mcp.types as types
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    env = dict(kv.split("=", 1) for kv in args.env)
    params = StdioServerParameters(command=args.command, args=args.arg, env=env)
    errlog = open(args.errlog, "a") if args.errlog else sys.stderr
    summary: dict[str, Any] = {}
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=args.request_timeout)) as session:
            PHASE["now"] = "initialize"
            init = await session.initialize()
            if init.capabilities.tools is None:
                raise CheckFailed("initialize: no tools capability")
            summary["protocolVersion"] = init.protocolVersion
            summary["serverName"] = init.serverInfo.name

            PHASE["now"] = "tools/list"
            tools = (await session.list_tools()).tools
            for t in tools:
                check_tool_definition(t)
            by_name = {t.name: t for t in tools}
            summary["tools"] = [t.name for t in tools]

            summary["run"] = await run_session_command(session, by_name, "first")

            PHASE["now"] = "a notification, then ping"
            await session.send_notification(types.ClientNotification(types.RootsListChangedNotification()))
            await session.send_ping()
            summary["notification_then_ping"] = True

            summary["cancel"] = await cancel_ping(session, by_name)

            if args.restart:
                PHASE["now"] = "waiting for the server restart"
                print(json.dumps({"phase": "restart"}), flush=True)
                line = await anyio.to_thread.run_sync(sys.stdin.readline)
                if not line:
                    raise CheckFailed("stdin closed while waiting for the restart")
                info = await call_checked(session, by_name, "server_info", {})
                summary["after_restart"] = {
                    "uptime_ms": info.get("uptime_ms"),
                    "run": await run_session_command(session, by_name, "after-restart"),
                }
            PHASE["now"] = "closing"
    return summary


def main(argv: list[str]) -> int:
    args = parse_args(argv)

    def watchdog() -> None:
        eprint(f"FAIL: watchdog: still running {args.timeout + 5:.0f} s after start during {PHASE['now']}")
        os._exit(1)

    timer = threading.Timer(args.timeout + 5, watchdog)
    timer.daemon = True
    timer.start()
    import anyio

    async def bounded() -> dict[str, Any]:
        with anyio.fail_after(args.timeout):
            return await run(args)

    try:
        summary = anyio.run(bounded)
    except BaseException as exc:  # noqa: BLE001
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        leaves = leaf_exceptions(exc)
        leaves.sort(key=lambda e: not isinstance(e, CheckFailed))
        eprint(f"FAIL during {PHASE['now']}: {describe_exc(leaves[0])}")
        if os.environ.get("MCP_CLIENT_CHECK_TRACEBACK"):
            import traceback
            traceback.print_exception(exc)
        sys.stderr.flush()
        os._exit(1)
    timer.cancel()
    print(json.dumps({"phase": "done", "summary": summary}, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
