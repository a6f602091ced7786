"""RFC 9457 problem documents: the only error shape the API answers."""

from __future__ import annotations

import json
from typing import Any

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.kuploy.dev/problems/"

# On every answer, JSON or HTML. HSTS: browsers that once reached this host keep to
# HTTPS for two years (63,072,000 s), subdomains included, so a network attacker cannot
# downgrade a later visit to plain HTTP and read a token off it. COOP: a page opened
# from another site gets no handle on this window (no `window.opener` tricks).
TRANSPORT_HEADERS = {
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cross-Origin-Opener-Policy": "same-origin",
}

API_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    **TRANSPORT_HEADERS,
}


def problem_body(status: int, code: str, title: str, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    body.update(extensions)
    return body


def problem_headers(status: int, code: str) -> dict[str, str]:
    headers = {"Content-Type": PROBLEM_CONTENT_TYPE, **API_HEADERS}
    if status == 401:
        # RFC 6750: tell the client which kind of credential failed.
        error = "invalid_request" if code == "unauthorized" else "invalid_token"
        headers["WWW-Authenticate"] = f'Bearer realm="kuploy", error="{error}"'
    return headers


def problem_result(status: int, code: str, title: str, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    """A complete API Gateway (payload 2.0) result, for answers made before routing."""
    return {
        "statusCode": status,
        "headers": problem_headers(status, code),
        "body": json.dumps(problem_body(status, code, title, detail, **extensions)),
        "isBase64Encoded": False,
    }
