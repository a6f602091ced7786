"""Writes functions/openapi/openapi.json from every function's resolver.

    python -m tools.generate_openapi [--check]

Each function has its own Powertools resolver; this merges their OpenAPI documents
into one, so the served document is exactly what the handlers validate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "functions" / "openapi" / "openapi.json"
TITLE = "Kuploy Access"
VERSION = "1.0.0"
DESCRIPTION = (
    "Accounts, sessions, organizations and API keys for the Kuploy platform. "
    "Errors are RFC 9457 problem documents with a stable `code`."
)


SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A user access token (JWT) or an organization API key (kpy_…)",
    }
}


def _document_problems(operation: dict[str, Any]) -> None:
    """Every route answers problem documents, never Powertools' own validation shape."""
    from kuploy_access.http.openapi_docs import problem_doc_schema

    responses: dict[str, Any] = operation.setdefault("responses", {})
    if "requestBody" not in operation and not operation.get("parameters"):
        responses.pop("422", None)  # nothing to validate
    if "422" in responses:
        responses["422"] = problem_doc_schema(*_codes(responses["422"], "validation_error"))
    if "requestBody" in operation:
        responses.setdefault("400", problem_doc_schema("validation_error"))
        responses.setdefault("413", problem_doc_schema("payload_too_large"))
    if operation.get("security"):
        responses.setdefault("401", problem_doc_schema("unauthorized", "invalid_token", "token_expired"))


def _codes(response: dict[str, Any], default: str) -> list[str]:
    """The codes a handler documented on this status, or the default."""
    content = response.get("content", {})
    if "application/problem+json" in content:
        description = str(response.get("description", ""))
        found = [part.strip("` ,") for part in description.split(":", 1)[-1].split(",")]
        return [code for code in found if code] or [default]
    return [default]


def build_document() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "shared"))
    sys.path.insert(0, str(ROOT))
    from devserver.embedded_aws import LOCAL_ENVIRONMENT
    from devserver.gateway import load_handler
    from devserver.template import api_spec

    # The handlers read their settings when imported (kuploy_access.config); the
    # document depends on none of them.
    for name, value in {**LOCAL_ENVIRONMENT, "PUBLIC_BASE_URL": "http://127.0.0.1:3000"}.items():
        os.environ.setdefault(name, value)
    api = api_spec()
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    seen: set[str] = set()
    for route in api.routes:
        function = route.function
        if function.logical_id in seen or function.code_dir == OUTPUT.parent:
            continue
        seen.add(function.logical_id)
        load_handler(function)
        module = sys.modules[f"kuploy_function_{function.logical_id}"]
        app = getattr(module, "app", None)
        if app is None:
            continue
        document = json.loads(
            app.get_openapi_json_schema(title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES)
        )
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                _document_problems(operation)
            paths.setdefault(path, {}).update(operations)
        schemas.update(document.get("components", {}).get("schemas", {}))
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    paths.setdefault("/openapi.json", {})["get"] = {
        "summary": "This document",
        "tags": ["meta"],
        "operationId": "openapi_get",
        "responses": {"200": {"description": "The OpenAPI 3 document", "content": {"application/json": {}}}},
    }
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem document",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "code": {"type": "string"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> str:
    return json.dumps(build_document(), indent=2, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    args = parser.parse_args()
    text = render()
    if args.check:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print("functions/openapi/openapi.json is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
