"""What the local gateway answers: a function's result read as API Gateway reads it
(payload 2.0), or one of the gateway's own fixed answers."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_answer(status: int, message: str) -> GatewayResponse:
    """API Gateway's own answer, `{"message": ...}`: no route, no identity, a refusal, a crash."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)


def to_gateway_response(result: Any) -> GatewayResponse:
    """Interpret a payload 2.0 function result as API Gateway does."""
    if not isinstance(result, dict) or "statusCode" not in result:
        # A plain value: API Gateway answers 200 with it as JSON.
        body = json.dumps(result).encode()
        return GatewayResponse(200, [("Content-Type", "application/json")], body)
    raw_body = result.get("body") or ""
    body = base64.b64decode(raw_body) if result.get("isBase64Encoded") else str(raw_body).encode("utf-8")
    headers: list[tuple[str, str]] = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(v)) for v in values)
    headers.extend(("Set-Cookie", cookie) for cookie in result.get("cookies") or [])
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return GatewayResponse(int(result["statusCode"]), headers, body)
