"""An API Gateway HTTP API in miniature: routes, the Lambda authorizer, payload 2.0.

One request: find the route (devserver.routing), build the payload 2.0 event
(devserver.events), run the authorizer step on a protected route
(devserver.authorizer_step), invoke the function on a container
(devserver.containers) and read its result as API Gateway does (devserver.responses).

It answers exactly as the deployed gateway does where the gateway answers by itself:
404 `{"message":"Not Found"}` for no route, 401 `{"message":"Unauthorized"}` when a
configured identity source is missing, 403 `{"message":"Forbidden"}` when the
authorizer refuses, 413 for a body over API Gateway's 10 MB, 500
`{"message":"Internal Server Error"}` when a function fails.
"""

from __future__ import annotations

import traceback
from typing import Any

from devserver.authorizer_step import AuthorizerStep
from devserver.containers import DEFAULT_MAX_COPIES, Fleet, load_handler
from devserver.events import build_event
from devserver.function_output import running_function
from devserver.responses import GatewayResponse, gateway_answer, to_gateway_response
from devserver.routing import RouteTable
from devserver.template import ApiSpec, FunctionSpec, RouteSpec

__all__ = ["GatewayResponse", "LocalGateway", "load_handler"]

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


class LocalGateway:
    def __init__(self, api: ApiSpec, max_copies: int = DEFAULT_MAX_COPIES) -> None:
        self.api = api
        self._routes = RouteTable(api.routes)
        self._fleet = Fleet(max_copies)
        # Through `self.invoke` at call time, so that a test spying on invoke sees the
        # authorizer's invocations too.
        self._authorizer = (
            AuthorizerStep(api.authorizer, lambda function, event: self.invoke(function, event))
            if api.authorizer is not None
            else None
        )

    def load_all(self) -> None:
        """Import every function once, as Lambda's init phase would, before serving."""
        functions = {route.function.logical_id: route.function for route in self.api.routes}
        if self.api.authorizer:
            functions[self.api.authorizer.function.logical_id] = self.api.authorizer.function
        for function in functions.values():
            self._fleet.warm(function)

    def invoke(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        return self._fleet.invoke(function, event)

    def handle(
        self, method: str, raw_path: str, raw_query: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> GatewayResponse:
        if len(body) > MAX_PAYLOAD_BYTES:
            return gateway_answer(413, "Request Entity Too Large")
        path = raw_path or "/"
        matched = self._routes.match(method, path)
        if matched is None:
            return gateway_answer(404, "Not Found")
        route = matched.route
        event = build_event(route, method, path, raw_query, headers, body, source_ip, matched.path_parameters)
        response = self._pass_on(route, event)
        # As API Gateway does: the id a client can quote, which every log line of the
        # request carries as its correlation_id.
        response.headers.append(("apigw-requestid", event["requestContext"]["requestId"]))
        return response

    def _pass_on(self, route: RouteSpec, event: dict[str, Any]) -> GatewayResponse:
        if route.protected and self._authorizer is not None:
            refusal = self._authorizer.admit(event)
            if refusal is not None:
                return refusal

        try:
            result = self.invoke(route.function, event)
        except Exception:  # the function crashed: API Gateway answers 500 by itself
            with running_function():  # Lambda reports the crash in the function's log
                traceback.print_exc()
            return gateway_answer(500, "Internal Server Error")
        return to_gateway_response(result)
