"""An API Gateway HTTP API in miniature: routes, the Lambda authorizer, payload 2.0.

It answers exactly as the deployed gateway does where the gateway answers by itself:
404 `{"message":"Not Found"}` for no route, 401 `{"message":"Unauthorized"}` when a
configured identity source is missing, 403 `{"message":"Forbidden"}` when the
authorizer refuses, 500 `{"message":"Internal Server Error"}` when a function fails.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from devserver.template import ApiSpec, FunctionSpec, RouteSpec

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
ACCOUNT_ID = "123456789012"
API_ID = "local"

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass
class LambdaContext:
    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _gateway_answer(status: int, message: str) -> GatewayResponse:
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body)


_request_state = threading.local()


def _isolate_resolver_requests() -> None:
    """Keep each thread's request to itself inside Powertools' resolver.

    `ApiGatewayResolver.resolve` stores the current event and context on the
    `BaseRouter` class, shared by every copy of every function in this process. On
    Lambda a process serves one request at a time, so that is harmless there; here
    concurrent requests run on threads of one process and would read each other's
    caller, path and body. Properties on the resolver class (found before BaseRouter's
    attributes) answer each thread its own request instead.
    """
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    if getattr(ApiGatewayResolver, "_kuploy_thread_isolated", False):
        return
    to_proxy_event = ApiGatewayResolver._to_proxy_event
    resolve = ApiGatewayResolver.resolve

    def thread_proxy_event(self: Any, event: dict[str, Any]) -> Any:
        _request_state.event = to_proxy_event(self, event)
        return _request_state.event

    def thread_resolve(self: Any, event: dict[str, Any], context: Any) -> Any:
        _request_state.context = context
        return resolve(self, event, context)

    def set_event(_: Any, value: Any) -> None:
        _request_state.event = value

    def set_context(_: Any, value: Any) -> None:
        _request_state.context = value

    patched: dict[str, Any] = {
        "_to_proxy_event": thread_proxy_event,
        "resolve": thread_resolve,
        "current_event": property(lambda _: getattr(_request_state, "event", None), set_event),
        "lambda_context": property(lambda _: getattr(_request_state, "context", None), set_context),
        "_kuploy_thread_isolated": True,
    }
    for name, value in patched.items():
        setattr(ApiGatewayResolver, name, value)


def load_handler(function: FunctionSpec, instance: int = 0) -> Handler:
    """Import a function's module; each `instance` is a separate copy, like a Lambda container."""
    _isolate_resolver_requests()
    path = function.code_dir / f"{function.module.replace('.', '/')}.py"
    name = f"kuploy_function_{function.logical_id}" + (f"_{instance}" if instance else "")
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    handler: Handler = getattr(module, function.handler)
    return handler


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        plain = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy.group(1)}>.+)")
        elif plain:
            parts.append(f"(?P<{plain.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


class _Containers:
    """Warm copies of one function. Like Lambda, a copy serves one request at a time;
    concurrent requests get another copy (a cold start), so handlers that keep
    per-request state on module globals (Powertools' resolver does) never share it."""

    def __init__(self, function: FunctionSpec) -> None:
        self.function = function
        self._idle: list[Handler] = []
        self._created = 0
        self._lock = threading.Lock()

    @contextmanager
    def container(self) -> Iterator[Handler]:
        with self._lock:
            if self._idle:
                handler = self._idle.pop()
            else:
                handler = None
                instance = self._created
                self._created += 1
        if handler is None:
            handler = load_handler(self.function, instance)
        try:
            yield handler
        finally:
            with self._lock:
                self._idle.append(handler)


@dataclass
class _CompiledRoute:
    spec: RouteSpec
    pattern: re.Pattern[str]
    literal_segments: int


class LocalGateway:
    def __init__(self, api: ApiSpec) -> None:
        self.api = api
        self._routes = [
            _CompiledRoute(r, _path_pattern(r.path), sum("{" not in s for s in r.path.split("/"))) for r in api.routes
        ]
        # API Gateway prefers the most specific route: more literal segments first.
        self._routes.sort(key=lambda r: -r.literal_segments)
        self._containers: dict[str, _Containers] = {}
        self._containers_lock = threading.Lock()

    def load_all(self) -> None:
        """Import every function once, as Lambda's init phase would, before serving."""
        functions = {r.spec.function.logical_id: r.spec.function for r in self._routes}
        if self.api.authorizer:
            functions[self.api.authorizer.function.logical_id] = self.api.authorizer.function
        for function in functions.values():
            with self._pool(function).container():
                pass

    def _pool(self, function: FunctionSpec) -> _Containers:
        with self._containers_lock:
            if function.logical_id not in self._containers:
                self._containers[function.logical_id] = _Containers(function)
            return self._containers[function.logical_id]

    def invoke(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        with self._pool(function).container() as handler:
            return handler(event, LambdaContext(function.logical_id))

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        for route in self._routes:
            if route.spec.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return route.spec, found.groupdict()
        return None

    def handle(
        self, method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> GatewayResponse:
        if len(body) > MAX_PAYLOAD_BYTES:
            return _gateway_answer(413, "Request Entity Too Large")
        path = raw_path or "/"
        matched = self.match(method, path)
        if matched is None:
            return _gateway_answer(404, "Not Found")
        route, path_parameters = matched
        event = build_event(route, method, path, raw_query, headers, body, source_ip, path_parameters)

        if route.protected and self.api.authorizer is not None:
            refusal = self._authorize(event)
            if refusal is not None:
                return refusal

        try:
            result = self.invoke(route.function, event)
        except Exception:  # the function crashed: API Gateway answers 500 by itself
            import traceback

            traceback.print_exc()
            return _gateway_answer(500, "Internal Server Error")
        return to_gateway_response(result)

    def _authorize(self, event: dict[str, Any]) -> GatewayResponse | None:
        authorizer = self.api.authorizer
        assert authorizer is not None
        headers = event["headers"]
        identity = [headers.get(h) for h in authorizer.identity_headers]
        if any(value is None for value in identity):
            return _gateway_answer(401, "Unauthorized")
        request = authorizer_event(event, [v for v in identity if v is not None])
        try:
            answer = self.invoke(authorizer.function, request)
        except Exception:
            import traceback

            traceback.print_exc()
            return _gateway_answer(500, "Internal Server Error")
        if not isinstance(answer, dict) or answer.get("isAuthorized") is not True:
            return _gateway_answer(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": answer.get("context") or {}}
        return None


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
    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[key] = f"{merged[key]},{value}" if key in merged else value
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    now = datetime.now(UTC)
    content_type = merged.get("content-type", "")
    is_text = not body or content_type.startswith(("application/json", "text/", "application/x-www-form-urlencoded"))
    try:
        text_body = body.decode("utf-8") if is_text else None
    except UnicodeDecodeError:
        text_body = None
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": merged,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": merged.get("host", "localhost"),
            "domainPrefix": merged.get("host", "localhost").split(".")[0],
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": merged.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body:
        if text_body is not None:
            event["body"] = text_body
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    return event


def authorizer_event(event: dict[str, Any], identity: list[str]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": f"arn:aws:execute-api:us-east-1:{ACCOUNT_ID}:{API_ID}/$default/"
        + event["routeKey"].replace(" ", ""),
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
