"""The resolver every handler is built on, and the Lambda entry point around it.

One place maps errors to problem documents, so handlers only parse, call a
service, and shape the answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from kuploy_access.adapters.retry_policy import is_unavailable
from kuploy_access.domain.errors import DomainError, ServiceUnavailable
from kuploy_access.domain.idempotency import IdempotencyKeyInUse
from kuploy_access.domain.principal import ANONYMOUS
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.http.guard import principal_of, unauthorized_problem
from kuploy_access.http.problems import API_HEADERS, problem_body, problem_headers, problem_result
from kuploy_access.observability import count, instrumented, log_principal, logger, metrics

__all__ = ["count", "counting_failures", "create_app", "lambda_entry", "logger", "metrics", "problem_answer"]

MAX_BODY_BYTES = 64 * 1024
RATE_LIMITED_METRIC = "RateLimited"
UNAVAILABLE_METRIC = "DependencyUnavailable"


def problem_answer(status: int, code: str, title: str, detail: str | None = None, **ext: Any) -> Response[Any]:
    """A problem document as the resolver's `Response` (`problems.problem_result` is the
    same as a finished Lambda result, for answers given before the resolver runs)."""
    return Response(
        status_code=status,
        content_type=problem_headers(status, code)["Content-Type"],
        headers={k: v for k, v in problem_headers(status, code).items() if k != "Content-Type"},
        body=json.dumps(problem_body(status, code, title, detail, **ext)),
    )


@contextmanager
def counting_failures(metric: str) -> Iterator[None]:
    """Count a refused attempt (a `DomainError`) as one `metric`; the error goes on to
    its problem document."""
    try:
        yield
    except DomainError:
        count(metric)
        raise


def _validation_problem(errors: list[dict[str, Any]]) -> Response[Any]:
    # Never echo `input`: it may hold a password.
    body_errors = [e for e in errors if tuple(e.get("loc", ()))[:1] == ("body",)]
    unreadable = any(e.get("type") == "json_invalid" for e in body_errors) or any(
        len(tuple(e.get("loc", ()))) == 1 for e in body_errors
    )
    if unreadable:
        return problem_answer(400, "validation_error", "The body must be a JSON object")
    fields = [
        {
            "field": ".".join(str(part) for part in tuple(e.get("loc", ()))[1:]) or str(e.get("loc")),
            "in": str(next(iter(e.get("loc", ("body",))))),
            "message": str(e.get("msg", "invalid")),
        }
        for e in errors
    ]
    return problem_answer(
        422, "validation_error", "The request did not pass validation", fields[0]["message"], errors=fields
    )


def _domain_problem(error: DomainError) -> Response[Any]:
    response = problem_answer(error.status, error.code, error.title, error.detail)
    if isinstance(error, RateLimited | IdempotencyKeyInUse | ServiceUnavailable):
        response.headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, ServiceUnavailable):
        count(UNAVAILABLE_METRIC)
    return response


def create_app() -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)

    @app.exception_handler(DomainError)
    def _domain_error(error: DomainError) -> Response[Any]:
        return _domain_problem(error)

    @app.exception_handler(RequestValidationError)
    def _invalid_request(error: RequestValidationError) -> Response[Any]:
        return _validation_problem(list(error.errors()))

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported_type(_: RequestUnsupportedContentType) -> Response[Any]:
        return problem_answer(415, "validation_error", "Send the body as application/json")

    @app.exception_handler(UnicodeDecodeError)
    def _undecodable(_: UnicodeDecodeError) -> Response[Any]:
        return problem_answer(400, "validation_error", "The body must be UTF-8 text")

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[Any]:
        return problem_answer(404, "not_found", "Not found")

    @app.exception_handler(Exception)
    def _bug(error: Exception) -> Response[Any]:
        if is_unavailable(error):
            # AWS said "not now" (throttled, failing, unreachable) and the retries are
            # spent: the request may be sent again, so not a 500.
            logger.warning("dependency unavailable", exc_info=True)
            return _domain_problem(ServiceUnavailable())
        logger.exception("unhandled error")
        return problem_answer(500, "internal_error", "Something went wrong on our side")

    return app


def _body_size(event: dict[str, Any]) -> int:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return len(base64.b64decode(body, validate=False))
    return len(body.encode("utf-8"))


def _json_by_default(event: dict[str, Any]) -> dict[str, Any]:
    """Read a JSON-looking body as JSON whatever its declared type.

    `curl -d '{...}'` declares application/x-www-form-urlencoded; API.md says JSON in
    and out, so a body that starts like a JSON document is read as one.
    """
    headers = event.get("headers") or {}
    declared = str(headers.get("content-type", "")).strip().lower()
    if declared.startswith("application/json"):
        return event
    if declared and not declared.startswith("application/x-www-form-urlencoded"):
        return event
    body = str(event.get("body") or "")
    if event.get("isBase64Encoded"):
        # API Gateway sends a body without a declared type base64-encoded: it must be
        # read (and checked) as JSON all the same.
        try:
            body = base64.b64decode(body, validate=False).decode("utf-8", errors="replace")
        except ValueError:
            return event
    body = body.lstrip()
    if not body.startswith(("{", "[", '"')) and body[:4] not in ("null", "true", "fals") and not body[:1].isdigit():
        return event
    return {**event, "headers": {**headers, "content-type": "application/json"}}


# What a multipart declaration that cannot be read is passed on as: a type no route
# reads, so it is refused as any unsupported type is (415) where a route reads a body.
UNREADABLE_MULTIPART = "application/x-multipart-without-boundary"


def _multipart_needs_its_boundary(event: dict[str, Any]) -> dict[str, Any]:
    """A `multipart/form-data` body whose declaration names no boundary (or an empty one)
    cannot be split into fields; Powertools' parser raises a bare ValueError on it, which
    would answer 500. Declared as a type no route reads instead, it is refused as one.
    The boundary is found as Powertools finds it: the first `boundary=` parameter, as
    written (case and all), without the quotes around it."""
    headers = event.get("headers") or {}
    declared = str(headers.get("content-type", "")).strip()
    if not declared.startswith("multipart/form-data"):
        return event
    for parameter in declared.split(";"):
        written = parameter.strip()
        if written.startswith("boundary="):
            boundary = written.removeprefix("boundary=")
            if boundary.startswith('"') and boundary.endswith('"'):
                boundary = boundary[1:-1]
            if boundary:
                return event
            break
    return {**event, "headers": {**headers, "content-type": UNREADABLE_MULTIPART}}


def _not_a_json_object(event: dict[str, Any]) -> bool:
    """A JSON body that is anything but an object: an array, a string, a number, `null`,
    `true`; or JSON the resolver's parser would crash on rather than refuse (nesting
    deeper than the recursion limit, integers past Python's 4,300-digit limit).

    Checked here, once, for every route: Powertools validates a model against a list's
    first element or treats `null` as no body at all, so a route-by-route model cannot
    be trusted to refuse these. An empty body is left to the route (optional bodies).
    """
    headers = event.get("headers") or {}
    if not str(headers.get("content-type", "")).lower().startswith("application/json") or not event.get("body"):
        return False
    body = event["body"]
    try:
        document = json.loads(base64.b64decode(body) if event.get("isBase64Encoded") else body)
    except (ValueError, RecursionError):
        return True
    return not isinstance(document, dict)


def _behind_authorizer(event: dict[str, Any]) -> bool:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return "lambda" in authorizer


def lambda_entry(app: APIGatewayHttpResolver) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Wrap the resolver: body limit, observability (kuploy_access.observability), and
    the headers every answer carries."""

    @instrumented
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        result = _answer(app, event, context)
        if result.get("statusCode") == 429:
            # Counted here, at the one exit, whoever refused: a service's RateLimited
            # through the problem handler, or a page that shows the refusal itself.
            count(RATE_LIMITED_METRIC)
        logger.debug("answered", extra={"route": event.get("routeKey"), "status": result.get("statusCode")})
        return result

    return handler


def _answer(app: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _body_size(event) > MAX_BODY_BYTES:
        return problem_result(413, "payload_too_large", "The body is larger than 64 KiB")
    principal = principal_of(event)
    log_principal(principal, str((event.get("pathParameters") or {}).get("org_id") or ""))
    if _behind_authorizer(event) and principal.type == ANONYMOUS:
        # Every route behind the authorizer needs a caller; answer before the body
        # is even parsed, so a client learns "sign in again" first.
        return unauthorized_problem(principal)
    event = _multipart_needs_its_boundary(_json_by_default(event))
    if _not_a_json_object(event):
        return problem_result(400, "validation_error", "The body must be a JSON object")
    result: dict[str, Any] = app.resolve(event, context)
    headers = result.setdefault("headers", {})
    for name, value in API_HEADERS.items():
        headers.setdefault(name, value)
    return result
