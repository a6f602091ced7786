"""The Lambda authorizer (payload 2.0, simple responses) in front of every protected route.

The decision, and why it never refuses, is in `kuploy_access.services.authorizer`. This module is
the Lambda entry and holds what a container keeps between requests: its client of the
key table and, in `authorizer`, the API keys it has read.

Kept small on purpose: no argon2, pyotp, pydantic or PynamoDB on this path.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from kuploy_access import snapstart
from kuploy_access.adapters.api_key_lookup import KeyLookup
from kuploy_access.config import settings
from kuploy_access.observability import instrumented, logger
from kuploy_access.services.authorizer import Authorizer
from kuploy_access.wiring import event_counter, jwt_codec


@lru_cache(maxsize=1)
def key_lookup() -> KeyLookup:
    return KeyLookup(settings().table_name, settings().region)


def edge_secret() -> str:
    """What the console's CloudFront sends to vouch for a viewer's address (empty: no edge)."""
    return settings().edge_origin_secret


authorizer = Authorizer(codec=jwt_codec, keys=key_lookup, log=logger, counter=event_counter(), edge_secret=edge_secret)
# SnapStart (when the template turns it on): no secret, client or key record outlives a
# snapshot; a revoked key is never accepted from a record read before it.
snapstart.register(authorizer.forget_keys, key_lookup.cache_clear)


@instrumented
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return authorizer.answer(event, datetime.now(UTC))
