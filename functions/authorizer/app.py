"""The Lambda authorizer (payload 2.0, simple responses) in front of every protected route.

It never refuses: API Gateway would turn a refusal into a fixed 403 that clients
cannot act on. A missing or refused credential becomes an anonymous principal with the
reason (`unauthorized`, `invalid_token`, `token_expired`), and the route guard in
`kuploy_access.http.guard` answers the 401 problem document.

- A user JWT costs no database call.
- An API key (`kpy_…`) is checked for shape and checksum first (a typo costs nothing),
  then read with one GetItem by its SHA-256; a warm container keeps a key's record for
  at most KEY_CACHE_SECONDS, which bounds how long a revoked key still passes.
- Only the Authorization header counts: a request carrying a key in its query string
  is refused, so that keys do not end up in access logs and browser histories.

Kept small on purpose: no argon2, pyotp, pydantic or PynamoDB on this path.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger

from kuploy_access.adapters.api_key_lookup import KeyLookup, KeyRecord
from kuploy_access.config import settings
from kuploy_access.domain.access_tokens import JwtKind, TokenRejected
from kuploy_access.domain.api_keys import PREFIX, hash_key, is_well_formed
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.wiring import jwt_codec

logger = Logger()

MAX_TOKEN_LENGTH = 4096
# How long a warm container trusts what it read about a key (README: revocation bound).
KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_LIMIT = 2048
_key_cache: dict[str, tuple[float, KeyRecord | None]] = {}


@lru_cache(maxsize=1)
def key_lookup() -> KeyLookup:
    return KeyLookup(settings().table_name, settings().region)


def bearer_token(headers: dict[str, str] | None) -> str | None:
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _key_record(key_hash: str) -> KeyRecord | None:
    now = time.monotonic()
    cached = _key_cache.get(key_hash)
    if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
        return cached[1]
    record = key_lookup().find(key_hash)
    if len(_key_cache) >= _KEY_CACHE_LIMIT:
        _key_cache.clear()
    _key_cache[key_hash] = (now, record)
    return record


def authorize_key(key: str, now: datetime, ip: str) -> Principal:
    if not is_well_formed(key):
        return Principal.anonymous("invalid_token")
    key_hash = hash_key(key)
    record = _key_record(key_hash)
    if record is None or not record.is_usable(now):
        return Principal.anonymous("invalid_token")
    if record.needs_usage_mark(now):
        key_lookup().mark_used(key_hash, now, ip)
        # This container will not try again within the minute.
        _key_cache[key_hash] = (_key_cache[key_hash][0], _with_last_use(record, now))
    return Principal(type=API_KEY, id=record.key_id, org_id=record.org_id, scopes=record.scopes)


def _with_last_use(record: KeyRecord, now: datetime) -> KeyRecord:
    return KeyRecord(record.key_id, record.org_id, record.scopes, record.expires_at, record.revoked_at, now)


def authorize(token: str | None, now: datetime, ip: str = "") -> Principal:
    if token is None:
        return Principal.anonymous("unauthorized")
    if len(token) > MAX_TOKEN_LENGTH:
        return Principal.anonymous("invalid_token")
    if token.startswith(PREFIX):
        return authorize_key(token, now, ip)
    try:
        verified = jwt_codec().verify(JwtKind.ACCESS, token, now)
    except TokenRejected as rejected:
        logger.info("token refused", extra={"reason": rejected.reason, "code": rejected.code})
        return Principal.anonymous(rejected.code)
    return Principal(type=USER, id=verified.subject, session_id=verified.session_id or "", auth_time=verified.auth_time)


def _key_in_query(event: dict[str, Any]) -> bool:
    raw = str(event.get("rawQueryString") or "")
    if not raw:
        return False
    # Encoded (`kpy%5F…`) or not: any key-looking text in the query is refused.
    return PREFIX in raw or PREFIX in unquote_plus(raw)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    if _key_in_query(event):
        logger.warning("API key sent in a query string refused; rotate that key")
        principal = Principal.anonymous("invalid_token")
    else:
        ip = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "")
        principal = authorize(bearer_token(event.get("headers")), datetime.now(UTC), ip)
    return {"isAuthorized": True, "context": principal.to_context()}
