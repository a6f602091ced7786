"""The route guard: turns the authorizer's principal into a caller or a 401/403."""

from __future__ import annotations

from typing import Any

from kuploy_access.domain.errors import ApiKeyNotAllowed, ServiceUnavailable, Unauthorized
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.http.problems import problem_result

_UNAUTHORIZED_DETAILS = {
    "token_expired": "The access token has expired; refresh it",
    "invalid_token": "The access token or API key is not valid",
    "unauthorized": "Send an access token or API key in the Authorization header",
}


# The authorizer's reason when it could not check a credential (services/authorizer.py).
UNAVAILABLE = ServiceUnavailable.code

__all__ = ["ApiKeyNotAllowed", "principal_of", "require_user", "unauthorized_problem"]


def principal_of(event: Any) -> Principal:
    """The principal the authorizer put in `requestContext.authorizer.lambda`."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    return Principal.from_context(authorizer.get("lambda"))


def require_user(event: Any) -> Principal:
    principal = principal_of(event)
    if principal.type == USER and principal.id:
        return principal
    if principal.type == API_KEY:
        raise ApiKeyNotAllowed()
    if principal.auth_error == UNAVAILABLE:
        raise ServiceUnavailable()
    code = _unauthorized_code(principal)
    raise Unauthorized(code, _UNAUTHORIZED_DETAILS[code])


def _unauthorized_code(principal: Principal) -> str:
    code = principal.auth_error or "unauthorized"
    return code if code in _UNAUTHORIZED_DETAILS else "invalid_token"


def unauthorized_problem(principal: Principal) -> dict[str, Any]:
    """The complete 401 answer for a request that reached a protected route without a
    caller; a 503 when the authorizer could not check the credential at all."""
    if principal.auth_error == UNAVAILABLE:
        unavailable = ServiceUnavailable()
        result = problem_result(unavailable.status, unavailable.code, unavailable.title)
        result["headers"]["Retry-After"] = str(unavailable.retry_after)
        return result
    code = _unauthorized_code(principal)
    return problem_result(401, code, "Authentication required", _UNAUTHORIZED_DETAILS[code])
