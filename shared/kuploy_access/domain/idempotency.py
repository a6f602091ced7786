"""Idempotency-Key on create routes: what a retry must match to get the first answer.

A key is scoped to its caller (a user or an API key) and to the route (method, path
template and path values): two callers may pick the same key, and a key sent to one
route never replays another route's answer. Within that scope, the body must be the
same JSON document as the first time (key order and spacing do not matter), or the
retry is refused (`idempotency_key_reused`).

Plain values only: the HTTP layer builds an `Attempt`, the ledger (a port; adapters
store it) decides whether it is a first request, a retry, or a clash.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from kuploy_access.domain.errors import DomainError
from kuploy_access.domain.principal import Principal

# Stripe's and the IETF draft's bound; a UUID is 36 characters.
MAX_KEY_LENGTH = 255
# Printable ASCII (a header value), no blank at either end.
KEY_PATTERN = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$"
# How long a first answer is kept for retries (API.md: "within 24 h").
ANSWER_LIFETIME = timedelta(hours=24)
# How long a request that is still running holds its key. API Gateway gives up on an
# integration after 30 s, and the functions that create stop before that (Timeout at
# most 29 s, tests/build): a key still held after this belongs to an invocation that
# died, and the next retry may run the request again.
IN_PROGRESS_LOCK = timedelta(seconds=30)
# A retry that arrives while the first request runs: ask again in a second.
IN_USE_RETRY_AFTER_SECONDS = 1

_KEY = re.compile(KEY_PATTERN)


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was already used with another request body"


class IdempotencyKeyInUse(DomainError):
    """The first request with this key is still running: its answer is not known yet."""

    status = 409
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still in progress; retry shortly"
    retry_after = IN_USE_RETRY_AFTER_SECONDS  # seconds, sent as Retry-After


def is_valid_key(key: str) -> bool:
    return len(key) <= MAX_KEY_LENGTH and _KEY.match(key) is not None


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Attempt:
    """One request that carries an Idempotency-Key."""

    scope: str  # who calls which route (`scope_of`)
    key: str
    body: Any  # the parsed JSON body, None without one

    @property
    def record(self) -> str:
        """What the first answer is kept under (adapters store only its hash) and bound
        to: the scope and the key, unambiguously joined."""
        return _canonical([self.scope, self.key])

    @property
    def body_document(self) -> str:
        """The body as canonical JSON: what must match on a retry."""
        return _canonical(self.body)


def scope_of(caller: Principal, method: str, route: str, path_parameters: dict[str, str]) -> str:
    """The caller by kind and id (not by session: a retry may follow a token refresh),
    and the route with its path values (`POST /orgs/{org_id}/projects`, `org_…`)."""
    return _canonical(
        {
            "caller": [caller.type, caller.id],
            "route": f"{method.upper()} {route}",
            "path": {name: str(value) for name, value in path_parameters.items()},
        }
    )


@dataclass(frozen=True)
class FirstAnswer:
    """A successful creation's answer as the client first saw it."""

    status: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Answered:
    answer: FirstAnswer
    replayed: bool  # True: kept from the first request; nothing was created now
