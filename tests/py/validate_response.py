#!/usr/bin/env python3
"""Validate a REST response body against termbridge's OpenAPI document.

Usage: validate_response.py OPENAPI_FILE OPERATION_ID STATUS BODY_FILE

Finds the operation by operationId, takes the JSON schema of the given status
and validates the body with openapi-schema-validator's OAS 3.0 validator
(references into #/components resolve against the document). Exit 0 when the
body matches; 1 with the validation error otherwise.
"""

import json
import sys

from openapi_schema_validator import OAS30Validator


def main() -> int:
    doc_path, operation_id, status, body_path = sys.argv[1:5]
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    with open(body_path, encoding="utf-8") as f:
        body = json.load(f)
    for methods in doc["paths"].values():
        for op in methods.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                response = op["responses"].get(status)
                if response is None:
                    print(f"{operation_id} documents no {status} response", file=sys.stderr)
                    return 1
                schema = dict(response["content"]["application/json"]["schema"])
                schema["components"] = doc.get("components", {})
                errors = sorted(OAS30Validator(schema).iter_errors(body), key=str)
                if errors:
                    for e in errors:
                        print(f"{operation_id} {status}: {e.message} at {list(e.absolute_path)}", file=sys.stderr)
                    return 1
                print(f"{operation_id} {status}: body matches the documented schema")
                return 0
    print(f"no operation {operation_id}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
