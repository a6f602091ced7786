"""Idempotency-Key on the create routes (API.md, second round): `@idempotent`, under the
route's own decorator, whose documentation adds `idempotent_problems`.

    @app.post("/orgs/<org_id>/projects", status_code=201,
              **route("projects", "Create a project", (201, "Created"), **idempotent_problems(WRITE_PROBLEMS)))
    @idempotent
    def create_project(org_id: Id, body: NameRequest, caller: OrgMember) -> ProjectView:

Without the header the route runs as it always did, and nothing is read or written for
it. With one:

- the resolver validates the key like any header (422 `validation_error`), and the
  body and the route's dependencies come first, on every attempt (a body that is not
  JSON, such as a form, is refused: 415 `validation_error`): a retry passes the
  same checks as the first request (who may call, sudo mode) before it is answered;
  only the creation is not repeated;
- the first successful answer (the route's 2xx) is kept for 24 h under the caller, the
  route and the key (domain/idempotency.py), and a retry with the same body gets it
  again, with `Idempotent-Replayed: true` (and one `IdempotentReplays` metric);
- a refusal (any problem document) keeps nothing: the client may fix the request, or
  wait out a 429, and send it again under the same key;
- the same key with another body: 422 `idempotency_key_reused`; while the first request
  still runs: 409 `idempotency_key_in_use` with `Retry-After: 1`.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Annotated, Any, ParamSpec, TypeVar, cast, get_type_hints

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.request import Request
from pydantic import BaseModel

from kuploy_access import wiring
from kuploy_access.domain.idempotency import KEY_PATTERN, MAX_KEY_LENGTH, Attempt, FirstAnswer, scope_of
from kuploy_access.http.api import count
from kuploy_access.http.guard import principal_of
from kuploy_access.http.openapi_docs import Codes, Problems

P = ParamSpec("P")
R = TypeVar("R")

REPLAYED_HEADER = "Idempotent-Replayed"
REPLAY_METRIC = "IdempotentReplays"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=KEY_PATTERN,
        description=(
            "Makes a retry safe: the same key with the same body within 24 h answers the first answer "
            f"again (with `{REPLAYED_HEADER}: true`) and creates nothing. Up to {MAX_KEY_LENGTH} printable "
            "ASCII characters; a random UUID per creation is a good choice. Keys are the caller's own, per route."
        ),
        examples=["4f6f0c8e-3c1d-4a52-9a8e-0b6b1f3f2d7e"],
    ),
]


def _codes(codes: Codes | None) -> tuple[str, ...]:
    return () if codes is None else (codes,) if isinstance(codes, str) else codes


def idempotent_problems(problems: Problems) -> Problems:
    """A create route's problem documents, with those its Idempotency-Key may add."""
    merged = Problems(**problems)
    merged["s409"] = (*_codes(problems.get("s409")), "idempotency_key_in_use")
    s422 = _codes(problems.get("s422"))
    merged["s422"] = (*s422, *(() if "validation_error" in s422 else ("validation_error",)), "idempotency_key_reused")
    return merged


def _json_body(raw_body: str | None) -> Any:
    """The body as the JSON document a retry must match. Powertools also reads form and
    multipart bodies into a route's model; with a key they are refused before anything is
    claimed or created, as api.py refuses any body it cannot read (415)."""
    if not raw_body:
        return None
    try:
        return json.loads(raw_body)
    except ValueError:
        raise RequestUnsupportedContentType("Send the body as application/json", errors=[]) from None


def _attempt(request: Request, key: str) -> Attempt:
    event: Any = request.resolved_event
    raw_body = event.decoded_body
    # The path values as API Gateway matched them (`request.path_parameters` holds the
    # route's validated arguments by now, the body among them).
    path_values = dict(event.path_parameters or {})
    return Attempt(
        scope=scope_of(principal_of(event.raw_event), request.method, request.route, path_values),
        key=key,
        body=_json_body(raw_body),
    )


def _success_status(request: Request) -> int:
    # Powertools keeps the matched route in the resolver's context; it reads the
    # route's status from there itself when it turns a returned model into an answer.
    return int(request.context["_route"].status_code)


def idempotent(route: Callable[P, R]) -> Callable[P, R]:
    """Accept an Idempotency-Key on a create route that answers a response model."""
    hints = get_type_hints(route, include_extras=True)
    answer_model = hints.get("return")
    if not (isinstance(answer_model, type) and issubclass(answer_model, BaseModel)):
        raise TypeError(f"{route.__qualname__}: an idempotent route answers a response model")
    model: type[BaseModel] = answer_model

    @functools.wraps(route)
    def once(*args: Any, idempotency_key: str | None = None, idempotency_request: Request, **kwargs: Any) -> Any:
        if idempotency_key is None:
            return route(*args, **kwargs)

        def create() -> FirstAnswer:
            created = cast(BaseModel, route(*args, **kwargs))
            return FirstAnswer(_success_status(idempotency_request), created.model_dump(mode="json", by_alias=True))

        answered = wiring.answer_ledger().answer_once(_attempt(idempotency_request, idempotency_key), create)
        headers: dict[str, str] = {}
        if answered.replayed:
            count(REPLAY_METRIC)
            headers[REPLAYED_HEADER] = "true"
        # The resolver checks a route's answer against its model, which reads some fields
        # under other names (`validation_alias`); the kept answer has the names it was
        # published with, so it is read by name. First answers take the same way, so a
        # replay is the first answer, byte for byte.
        body = model.model_validate(answered.answer.body, by_alias=False, by_name=True)
        return Response(answered.answer.status, content_type="application/json", body=body, headers=headers)

    # What Powertools reads to validate and document the route: the route's own
    # parameters (their annotations resolved here, where the route's module is known),
    # and the header and the request this wrapper takes.
    signature = inspect.signature(route)
    extra = [
        inspect.Parameter("idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=IdempotencyKey),
        inspect.Parameter("idempotency_request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
    ]
    resolved = [parameter.replace(annotation=hints[name]) for name, parameter in signature.parameters.items()]
    once.__signature__ = signature.replace(parameters=[*resolved, *extra], return_annotation=model)  # type: ignore[attr-defined]
    once.__annotations__ = {**hints, "idempotency_key": IdempotencyKey, "idempotency_request": Request}
    return cast(Callable[P, R], once)
