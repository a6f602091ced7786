"""Writes functions/openapi/openapi.json from every function's resolver.

    python -m tools.generate_openapi [--check]

Each function has its own Powertools resolver, which describes its routes from their
decorators and models. Powertools' `OpenAPIMerge` assembles them into one document (paths,
component schemas, tags, security schemes; a route defined twice is an error). The
functions come from template.yaml, as on the local server: Powertools' own discovery
(`OpenAPIMerge.discover`) looks for `app = APIGatewayHttpResolver(...)` in the files it
globs, and ours are made by `http.api.create_app()`.

What Powertools cannot know is added afterwards, and only that: the problem documents
that shared code answers around a route's own (`_entry_point_answers`: the entry point in
`http.api`, on every route; `_org_guard_answers`: the organization guard, from the
permission table), in place of the JSON shape Powertools gives validation errors
(`HTTPValidationError`), which no route answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _code_root in (ROOT, ROOT / "shared"):
    if str(_code_root) not in sys.path:
        sys.path.insert(0, str(_code_root))

from kuploy_access.domain.permissions import ROLE_PERMISSIONS, ROUTE_PERMISSIONS  # noqa: E402
from kuploy_access.http.openapi_docs import TAGS, add_problem  # noqa: E402

OUTPUT = ROOT / "functions" / "openapi" / "openapi.json"
TITLE = "Kuploy Access"
VERSION = "1.0.0"
DESCRIPTION = (
    "Accounts, sessions, organizations and API keys for the Kuploy platform. Errors are RFC 9457 problem "
    "documents (`application/problem+json`) with a stable `code`; each answer lists the codes it can carry. "
    "Every route can answer 500 `internal_error` (a bug), and 503 `service_unavailable` with `Retry-After` "
    "when a dependency stayed throttled or unreachable through the service's retries (nothing was half done: "
    "send the same request again after that many seconds). API Gateway itself may also answer, without a problem "
    'document: 429 `{"message":"Too Many Requests"}` when the stage\'s throttle is exceeded, 404 '
    '`{"message":"Not Found"}` for a route that does not exist, and 500 or 503 when a function fails or times '
    "out. Calling it from a CI pipeline: docs/ci.md."
)
# `http.api.MAX_BODY_BYTES`, in words.
BODY_LIMIT = "64 KiB"

SECURITY_SCHEMES: dict[str, Any] = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "A user access token (JWT) or an organization API key (kpy_…)",
    }
}

PROBLEM_SCHEMA: dict[str, Any] = {
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

# `GET /openapi.json` serves a file and has no resolver: described here.
OPENAPI_OPERATION: dict[str, Any] = {
    "tags": ["meta"],
    "summary": "This document",
    "operationId": "getOpenApiDocument",
    "responses": {"200": {"description": "The OpenAPI 3 document", "content": {"application/json": {}}}},
}

# Powertools' own validation shapes, which no route answers.
POWERTOOLS_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
RETRY_AFTER = {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
WWW_AUTHENTICATE = {"description": 'RFC 6750: `Bearer realm="kuploy", error="…"`', "schema": {"type": "string"}}


def _entry_point_answers(method: str, operation: dict[str, Any]) -> None:
    """The problem documents `http.api` answers on every route of a resolver, whatever the
    route's own code does. Statuses are JSON strings here (the merged document)."""
    answers: dict[str, Any] = operation["responses"]

    def answer(status: str, *codes: str) -> None:
        answers[status] = add_problem(answers.get(status, {"description": ""}), codes)

    takes_json = "application/json" in operation.get("requestBody", {}).get("content", {})
    if "application/json" in answers.get("422", {}).get("content", {}):
        # Powertools' default 422, in its own JSON shape; a route's own 422 (a problem
        # document or a page) replaces it in the decorator.
        del answers["422"]
    if takes_json or operation.get("parameters"):
        answer("422", "validation_error")
    if method != "get":
        # The entry point refuses any body over the limit, and a JSON body that is not an
        # object, on every route that may carry one, before the route reads it.
        answer("400", "validation_error")
        answer("413", "payload_too_large")
        answers["413"]["description"] += f" (a body over {BODY_LIMIT})"
    if takes_json:
        answer("415", "validation_error")
        answers["415"]["description"] += " (a body that is neither JSON nor a form)"
    if operation.get("security"):
        answer("401", "unauthorized", "invalid_token", "token_expired")
    if "401" in answers:
        answers["401"].setdefault("headers", {})["WWW-Authenticate"] = WWW_AUTHENTICATE
    answer("500", "internal_error")
    # `http.api` (ServiceUnavailable, or an AWS failure that outlasted adapters/retry_policy.py),
    # and the route guard when the authorizer could not check a credential.
    answer("503", "service_unavailable")
    for status in ("429", "503"):
        if status in answers:
            answers[status].setdefault("headers", {})["Retry-After"] = RETRY_AFTER
    operation["responses"] = dict(sorted(answers.items()))


def _org_guard_answers(method: str, path: str, operation: dict[str, Any]) -> None:
    """What the organization guard (`http.deps`, `services.access`) answers on an
    organization route, from the route's rule in the permission table: 404 for an
    organization the caller is not in, 403 `two_factor_required` under the 2FA policy,
    `forbidden` when the role or the key's scopes lack the permission, and
    `api_key_not_allowed` on the routes for users only."""
    rule = ROUTE_PERMISSIONS.get(f"{method.upper()} {path}")
    if rule is None:
        return
    answers: dict[str, Any] = operation["responses"]
    some_role_lacks_it = any(rule.permission not in held for held in ROLE_PERMISSIONS.values())
    refusals = ["two_factor_required"]
    if some_role_lacks_it or not rule.user_only:
        refusals.append("forbidden")
    if rule.user_only:
        refusals.append("api_key_not_allowed")
    answers["403"] = add_problem(answers.get("403", {"description": ""}), refusals)
    answers["404"] = add_problem(answers.get("404", {"description": ""}), ["not_found"])


def _shared_responses() -> dict[str, tuple[str, dict[str, Any]]]:
    """The answers many operations give word for word, as `components/responses`: an
    operation refers to one (`$ref`) instead of repeating it."""
    shared: dict[str, tuple[str, tuple[str, ...]]] = {
        "BodyRefused": ("400", ("validation_error",)),
        "Unauthenticated": ("401", ("unauthorized", "invalid_token", "token_expired")),
        "NotFound": ("404", ("not_found",)),
        "PayloadTooLarge": ("413", ("payload_too_large",)),
        "UnsupportedMediaType": ("415", ("validation_error",)),
        "ValidationFailed": ("422", ("validation_error",)),
        "RateLimited": ("429", ("rate_limited",)),
        "InternalError": ("500", ("internal_error",)),
        "ServiceUnavailable": ("503", ("service_unavailable",)),
    }
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, (status, codes) in shared.items():
        operation: dict[str, Any] = {
            "responses": {status: add_problem({"description": ""}, codes)},
            "requestBody": {"content": {"application/json": {}}},
            "security": [{}],
        }
        _entry_point_answers("post", operation)
        found[name] = (status, operation["responses"][status])
    return found


def _refer_to_shared(document: dict[str, Any]) -> None:
    shared = _shared_responses()
    for operations in document["paths"].values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                for name, (shared_status, response) in shared.items():
                    if status == shared_status and answer == response:
                        operation["responses"][status] = {"$ref": f"#/components/responses/{name}"}
    document["components"]["responses"] = {name: response for name, (_, response) in shared.items()}


def _function_schemas() -> list[dict[str, Any]]:
    """Each function's OpenAPI document, from its resolver, in template order."""
    from devserver.embedded_aws import LOCAL_ENVIRONMENT
    from devserver.gateway import load_handler
    from devserver.template import api_spec

    # The handlers read their settings when imported (kuploy_access.config); the
    # document depends on none of them.
    for name, value in {**LOCAL_ENVIRONMENT, "PUBLIC_BASE_URL": "http://127.0.0.1:3000"}.items():
        os.environ.setdefault(name, value)
    schemas: list[dict[str, Any]] = []
    seen: set[str] = set()
    for route in api_spec().routes:
        function = route.function
        if function.logical_id in seen or function.code_dir == OUTPUT.parent:
            continue
        seen.add(function.logical_id)
        load_handler(function)
        app = getattr(sys.modules[f"kuploy_function_{function.logical_id}"], "app", None)
        if app is not None:
            schemas.append(app.get_openapi_schema(title=TITLE, version=VERSION, security_schemes=SECURITY_SCHEMES))
    return schemas


def build_document() -> dict[str, Any]:
    from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
    from aws_lambda_powertools.event_handler.openapi.models import Tag

    function_schemas = _function_schemas()
    merge = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        tags=[Tag(name=name, description=text) for name, text in TAGS.items()],
        security_schemes=SECURITY_SCHEMES,
        on_conflict="error",
    )
    for schema in function_schemas:
        merge.add_schema(schema)
    merge.add_schema({"paths": {"/openapi.json": {"get": OPENAPI_OPERATION}}})
    # Through Powertools' OpenAPI model: the merged document is checked against it.
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if path != "/openapi.json":
                _org_guard_answers(method, path, operation)
                _entry_point_answers(method, operation)
    _refer_to_shared(document)
    schemas = document["components"]["schemas"]
    for unused in POWERTOOLS_SCHEMAS:
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


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
