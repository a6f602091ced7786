"""The Lambda authorizer (payload 2.0, simple responses) in front of every protected route.

It never refuses: API Gateway would turn a refusal into a fixed 403 that clients
cannot act on. A missing or refused token becomes an anonymous principal with the
reason (`unauthorized`, `invalid_token`, `token_expired`), and the route guard in
`kuploy_access.http.guard` answers the 401 problem document. User JWTs cost no
database call. Kept small on purpose: no argon2, pyotp or pydantic on this path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from kuploy_access.domain.access_tokens import JwtKind, TokenRejected
from kuploy_access.domain.principal import USER, Principal
from kuploy_access.wiring import jwt_codec

logger = Logger()

API_KEY_PREFIX = "kpy_"
MAX_TOKEN_LENGTH = 4096


def bearer_token(headers: dict[str, str] | None) -> str | None:
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authorize(token: str | None, now: datetime) -> Principal:
    if token is None:
        return Principal.anonymous("unauthorized")
    if len(token) > MAX_TOKEN_LENGTH or token.startswith(API_KEY_PREFIX):
        # Organization API keys arrive with their own issue; until then a key is
        # simply not a valid credential.
        return Principal.anonymous("invalid_token")
    try:
        verified = jwt_codec().verify(JwtKind.ACCESS, token, now)
    except TokenRejected as rejected:
        logger.info("token refused", extra={"reason": rejected.reason, "code": rejected.code})
        return Principal.anonymous(rejected.code)
    return Principal(type=USER, id=verified.subject, session_id=verified.session_id or "")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    principal = authorize(bearer_token(event.get("headers")), datetime.now(UTC))
    return {"isAuthorized": True, "context": principal.to_context()}
