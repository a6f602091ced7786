"""API Gateway's Lambda authorizer step for a protected route, as template.yaml
configures it: a REQUEST authorizer, payload format 2.0, simple responses.

The gateway's own answers are the deployed ones: 401 `{"message":"Unauthorized"}`
when a configured identity source is missing (the authorizer is not called), 403
`{"message":"Forbidden"}` when it answers `isAuthorized: false`, 500 when it fails.
An authorized request carries the authorizer's `context` to the function as
`requestContext.authorizer.lambda`.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from devserver.events import authorizer_event
from devserver.function_output import running_function
from devserver.responses import GatewayResponse, gateway_answer
from devserver.template import AuthorizerSpec, FunctionSpec

Invoke = Callable[[FunctionSpec, dict[str, Any]], Any]


class AuthorizerStep:
    def __init__(self, spec: AuthorizerSpec, invoke: Invoke) -> None:
        if spec.payload_version != "2.0" or not spec.simple_responses:
            raise ValueError(
                "the local server runs a Lambda authorizer with AuthorizerPayloadFormatVersion 2.0 and "
                f"EnableSimpleResponses only; the template asks for {spec.payload_version}, "
                f"simple responses {spec.simple_responses}"
            )
        self.spec = spec
        self._invoke = invoke

    def admit(self, event: dict[str, Any]) -> GatewayResponse | None:
        """None when the request may go on (its event now carries the authorizer's
        context); else the gateway's answer."""
        headers = event["headers"]
        identity = [headers.get(name) for name in self.spec.identity_headers]
        present = [value for value in identity if value is not None]
        if len(present) != len(identity):
            return gateway_answer(401, "Unauthorized")
        try:
            answer = self._invoke(self.spec.function, authorizer_event(event, present))
        except Exception:  # the authorizer crashed: API Gateway answers 500 by itself
            with running_function():  # Lambda reports the crash in the function's log
                traceback.print_exc()
            return gateway_answer(500, "Internal Server Error")
        if not isinstance(answer, dict) or answer.get("isAuthorized") is not True:
            return gateway_answer(403, "Forbidden")
        event["requestContext"]["authorizer"] = {"lambda": answer.get("context") or {}}
        return None
