#!/usr/bin/env python3
"""Validate an OpenAPI 3.0 / 3.1 document (termbridge's /openapi.json).

Usage: validate_openapi.py FILE        (FILE may be "-" for stdin; JSON, or YAML)

Uses openapi-spec-validator's `validate`, which detects the version from the
document's `openapi` field. Anything but OpenAPI 3.0.x or 3.1.x (for instance
a Swagger 2.0 document that was not converted) is rejected.

Exit status: 0 valid, 1 invalid or unreadable, 2 bad usage. On success prints
one line to stdout: `valid OpenAPI <version>: <n> paths, <m> operations`.
Errors go to stderr, one per block, each with its JSON path in the document.
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import NoReturn

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def fail(msg: str) -> NoReturn:
    print(f"validate_openapi: {msg}", file=sys.stderr)
    sys.exit(1)


def load(arg: str) -> tuple[object, str]:
    if arg == "-":
        text, base_uri = sys.stdin.read(), ""
    else:
        path = pathlib.Path(arg)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as e:
            fail(f"cannot read {arg}: {e}")
        base_uri = path.resolve().as_uri()
    try:
        return json.loads(text), base_uri
    except json.JSONDecodeError as json_err:
        try:
            import yaml  # PyYAML comes with openapi-spec-validator
        except ImportError:
            fail(f"{arg} is not valid JSON: {json_err}")
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as yaml_err:
            fail(f"{arg} is neither valid JSON ({json_err}) nor valid YAML ({yaml_err})")
        if not isinstance(doc, dict):
            fail(f"{arg} is not valid JSON: {json_err}")
        return doc, base_uri


def json_path(parts) -> str:
    out = "$"
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else f"[{json.dumps(p)}]"
    return out


def describe(err) -> str:
    """One readable block for a jsonschema-style ValidationError."""
    lines = [f"- at {json_path(getattr(err, 'absolute_path', []) or [])}: {err.message}"]
    schema_path = list(getattr(err, "absolute_schema_path", []) or [])
    if schema_path:
        lines.append(f"    (rule: {'/'.join(str(p) for p in schema_path)})")
    for sub in sorted(getattr(err, "context", None) or [], key=lambda e: list(e.absolute_path))[:5]:
        lines.append(f"    * {json_path(sub.absolute_path)}: {sub.message}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    arg = argv[1]

    from openapi_spec_validator import validate
    from openapi_spec_validator.shortcuts import get_validator_cls
    from openapi_spec_validator.validation.exceptions import ValidatorDetectError
    from jsonschema_path import SchemaPath

    spec, base_uri = load(arg)
    if not isinstance(spec, dict):
        fail(f"{arg}: the document must be a JSON object, got {type(spec).__name__}")

    version = spec.get("openapi")
    if not isinstance(version, str) or not (version.startswith("3.0.") or version.startswith("3.1.")):
        if "swagger" in spec:
            fail(f"{arg}: is a Swagger {spec.get('swagger')!r} document, expected OpenAPI 3.0/3.1")
        fail(f"{arg}: `openapi` field is {version!r}, expected a 3.0.x or 3.1.x version string")

    try:
        validate(spec, base_uri=base_uri)
    except ValidatorDetectError:
        fail(f"{arg}: could not detect the OpenAPI version from `openapi: {version}`")
    except Exception as first:  # OpenAPIValidationError and friends
        # `validate` raises only the first error; list them all for the reader.
        errors = []
        try:
            cls = get_validator_cls(spec)
            errors = list(cls(SchemaPath.from_dict(spec, base_uri=base_uri)).iter_errors())
        except Exception:  # pragma: no cover - fall back to the one error we have
            pass
        if not errors:
            errors = [first]
        print(f"validate_openapi: {arg}: INVALID OpenAPI {version} document, "
              f"{len(errors)} error(s):", file=sys.stderr)
        for err in errors[:50]:
            print(describe(err) if hasattr(err, "message") else f"- {type(err).__name__}: {err}",
                  file=sys.stderr)
        if len(errors) > 50:
            print(f"... and {len(errors) - 50} more", file=sys.stderr)
        return 1

    paths = spec.get("paths") or {}
    ops = sum(1 for item in paths.values() if isinstance(item, dict)
              for method in item if method in HTTP_METHODS)
    print(f"valid OpenAPI {version}: {len(paths)} paths, {ops} operations")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
