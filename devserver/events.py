"""What Lambda hands a function behind an HTTP API: the payload 2.0 event, the
authorizer's REQUEST event, and the context object.

Plain dictionaries in AWS's documented shapes, built from the request and the route
the template declares; nothing here knows how a handler reads them.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from devserver.template import RouteSpec

ACCOUNT_ID = "123456789012"
API_ID = "local"
REGION = "us-east-1"
STAGE = "$default"
# Bodies of these types reach the function as text; any other body is base64.
TEXT_CONTENT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


@dataclass
class LambdaContext:
    """The attributes and method of Lambda's context object that handlers and Powertools read."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    # The function's Timeout: the remaining time counts down from it, as on Lambda (a
    # handler that hands work over before its time runs out can be tested locally).
    timeout_seconds: float = 10.0
    started_at: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.started_at + self.timeout_seconds - time.monotonic()
        return max(0, int(left * 1000))


def _headers_and_cookies(headers: list[tuple[str, str]]) -> tuple[dict[str, str], list[str]]:
    """Names lower-cased, repeated headers joined by commas, Cookie headers split into `cookies`."""
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    return merged, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded, blank values kept, repeated names joined by commas."""
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    return query


def _body_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """UTF-8 text of a text type as it is; anything else base64 with isBase64Encoded."""
    if not body:
        return {"isBase64Encoded": False}
    if content_type.startswith(TEXT_CONTENT_TYPES):
        try:
            return {"body": body.decode("utf-8"), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass
    return {"body": base64.b64encode(body).decode(), "isBase64Encoded": True}


def build_event(
    route: RouteSpec,
    method: str,
    path: str,
    raw_query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    """The API Gateway HTTP API payload format 2.0 event for one request."""
    merged, cookies = _headers_and_cookies(headers)
    query = _query_parameters(raw_query)
    host = merged.get("host", "localhost")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": STAGE,
            "time": datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    # API Gateway leaves these out when empty.
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event.update(_body_fields(body, merged.get("content-type", "")))
    return event


def authorizer_event(event: dict[str, Any], identity: list[str]) -> dict[str, Any]:
    """The REQUEST authorizer's event (payload 2.0) for the request `event` describes."""
    request: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/{STAGE}/" + event["routeKey"].replace(" ", ""),
        "identitySource": identity,
        "routeKey": event["routeKey"],
        "rawPath": event["rawPath"],
        "rawQueryString": event["rawQueryString"],
        "headers": dict(event["headers"]),
        "requestContext": dict(event["requestContext"]),
    }
    for key in ("cookies", "queryStringParameters", "pathParameters"):
        if key in event:
            request[key] = event[key]
    return request
