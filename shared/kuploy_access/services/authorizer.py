"""Who is calling: the Lambda authorizer's decision, made from the request's credential.

`functions/authorizer/app.py` is only the Lambda entry around this. The authorizer
never refuses: API Gateway would turn a refusal into a fixed 403 that clients cannot
act on. A missing or refused credential becomes an anonymous principal with the reason
(`unauthorized`, `invalid_token`, `token_expired`), and the route guard in
`kuploy_access.http.guard` answers the 401 problem document.

- A user JWT costs no database call.
- An API key (`kpy_…`) is checked for shape and checksum first (a typo costs nothing),
  then read with one GetItem by its SHA-256; a warm container keeps a key's record for
  at most KEY_CACHE_SECONDS, which bounds how long a revoked key still passes.
- Only the Authorization header counts: a request carrying a key in its query string
  is refused, so that keys do not end up in access logs and browser histories.
- A key's last use records the client's address as `domain.client_address` decides it
  (behind the console's CloudFront, the viewer's, not the edge server's).
- Each refusal counts one `AuthorizerRefusals` with its `reason` (REFUSAL_REASONS: finer
  than the client's code, for operators), each accepted key one `ApiKeyUses`.

This runs in front of every protected request, and what it imports is the authorizer's
cold start: no argon2, pyotp, pydantic or PynamoDB, and nothing from
`kuploy_access.http` (which loads pydantic).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import unquote_plus

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind, TokenRejected
from kuploy_access.domain.api_keys import PREFIX, KeyRecord, hash_key, is_well_formed
from kuploy_access.domain.client_address import client_address
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.services.ports.metrics import EventCounter

MAX_TOKEN_LENGTH = 4096
# How long a warm container trusts what it read about a key (README: revocation bound).
KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_LIMIT = 2048

REFUSALS_METRIC = "AuthorizerRefusals"
KEY_USES_METRIC = "ApiKeyUses"
# The `reason` dimension of a refusal, and the code the client's 401 carries for it.
REFUSAL_REASONS = {
    "no_credential": "unauthorized",  # no Bearer credential in the Authorization header
    "key_in_query": "invalid_token",
    "invalid_token": "invalid_token",  # a JWT that is too long, forged, malformed or of another kind
    "token_expired": "token_expired",
    "malformed_key": "invalid_token",  # kpy_… with a wrong shape or checksum (a typo)
    "unknown_key": "invalid_token",  # deleted, or never issued
    "revoked_key": "invalid_token",  # revoked, or past its rotation's grace period
    "expired_key": "invalid_token",
    # The signing key or the key table could not be read (adapters/retry_policy.py):
    # fail closed, and let the route answer 503 rather than a 401 that would send the
    # client to sign in again.
    "unavailable": "service_unavailable",
}


class KeyRecords(Protocol):
    """The API keys as the authorizer reads them (`adapters.api_key_lookup.KeyLookup`)."""

    def find(self, key_hash: str) -> KeyRecord | None: ...

    def mark_used(self, key_hash: str, now: datetime, ip: str) -> bool: ...


class Log(Protocol):
    def info(self, msg: str, *, extra: Mapping[str, object] | None = None) -> None: ...

    def warning(self, msg: str) -> None: ...


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    value = (headers or {}).get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def key_in_query(event: Mapping[str, Any]) -> bool:
    raw = str(event.get("rawQueryString") or "")
    if not raw:
        return False
    # Encoded (`kpy%5F…`) or not: any key-looking text in the query is refused.
    return PREFIX in raw or PREFIX in unquote_plus(raw)


class Authorizer:
    """One per container (the function's module holds it), as it keeps what that
    container read about API keys. The signing key and the key table's client are built
    on first use, so a container that only sees keys never fetches the signing key."""

    def __init__(
        self,
        codec: Callable[[], JwtCodec],
        keys: Callable[[], KeyRecords],
        log: Log,
        counter: EventCounter,
        monotonic: Callable[[], float] = time.monotonic,
        edge_secret: Callable[[], str] = str,
    ) -> None:
        self._codec = codec
        self._keys = keys
        self._log = log
        self._counter = counter
        # The console's CloudFront secret, read when a request comes (empty: no edge).
        self._edge_secret = edge_secret
        self.monotonic = monotonic  # the key cache's clock
        self._key_cache: dict[str, tuple[float, KeyRecord | None]] = {}

    def answer(self, event: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """API Gateway's question (payload 2.0) answered as a simple response."""
        return {"isAuthorized": True, "context": self.decide(event, now).to_context()}

    def decide(self, event: Mapping[str, Any], now: datetime) -> Principal:
        if key_in_query(event):
            self._log.warning("API key sent in a query string refused; rotate that key")
            return self._refuse("key_in_query")
        # Only the address leaves here: the edge's secret header goes nowhere.
        ip = client_address(event, self._edge_secret())
        return self.authorize(bearer_token(event.get("headers")), now, ip)

    def authorize(self, token: str | None, now: datetime, ip: str = "") -> Principal:
        if token is None:
            return self._refuse("no_credential")
        if len(token) > MAX_TOKEN_LENGTH:
            return self._refuse("invalid_token")
        try:
            if token.startswith(PREFIX):
                return self._authorize_key(token, now, ip)
            verified = self._codec().verify(JwtKind.ACCESS, token, now)
        except TokenRejected as rejected:
            self._log.info("token refused", extra={"reason": rejected.reason, "code": rejected.code})
            return self._refuse("token_expired" if rejected.code == "token_expired" else "invalid_token")
        except Exception as error:
            # Never crash (API Gateway would answer a bare 500) and never let a request
            # through unchecked: a caller nobody could check is nobody.
            self._log.warning(f"credential could not be checked: {type(error).__name__}")
            return self._refuse("unavailable")
        return Principal(
            type=USER, id=verified.subject, session_id=verified.session_id or "", auth_time=verified.auth_time
        )

    def forget_keys(self) -> None:
        """What a new container starts with: no key read yet."""
        self._key_cache.clear()

    def _authorize_key(self, key: str, now: datetime, ip: str) -> Principal:
        if not is_well_formed(key):
            return self._refuse("malformed_key")
        key_hash = hash_key(key)
        record = self._key_record(key_hash)
        if record is None:
            return self._refuse("unknown_key")
        if not record.is_usable(now):
            revoked = record.revoked_at is not None and record.revoked_at <= now
            return self._refuse("revoked_key" if revoked else "expired_key")
        self._counter.count(KEY_USES_METRIC)
        if record.needs_usage_mark(now):
            self._keys().mark_used(key_hash, now, ip)
            # This container will not try again within the minute.
            read_at = self._key_cache[key_hash][0]
            self._key_cache[key_hash] = (read_at, replace(record, last_used_at=now))
        return Principal(type=API_KEY, id=record.key_id, org_id=record.org_id, scopes=record.scopes)

    def _refuse(self, reason: str) -> Principal:
        self._counter.count(REFUSALS_METRIC, reason=reason)
        return Principal.anonymous(REFUSAL_REASONS[reason])

    def _key_record(self, key_hash: str) -> KeyRecord | None:
        now = self.monotonic()
        cached = self._key_cache.get(key_hash)
        if cached is not None and now - cached[0] < KEY_CACHE_SECONDS:
            return cached[1]
        record = self._keys().find(key_hash)
        if len(self._key_cache) >= _KEY_CACHE_LIMIT:
            self._key_cache.clear()
        self._key_cache[key_hash] = (now, record)
        return record
