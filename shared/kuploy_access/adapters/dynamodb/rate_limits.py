"""Fixed-window counters for the limits in `domain/rate_limits.py`.

One item per (limit, key, window), incremented atomically; TTL removes it after its
window, and reads ignore it once the window is over (TTL is lazy). Counters live in
the table, so every Lambda container sees the same numbers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError

from kuploy_access.adapters.dynamodb.models import RateCounterItem
from kuploy_access.domain.rate_limits import RateLimit

COUNTER = "COUNTER"


def counter_key(limit: RateLimit, key: str, now: datetime) -> str:
    # Keys are hashed: addresses and IPs need not sit in the clear in counter items.
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"RATE#{limit.name}#{digest}#{limit.window_start(now)}"


def _counter(limit: RateLimit, key: str, now: datetime) -> RateCounterItem:
    return RateCounterItem(pk=counter_key(limit, key, now), sk=COUNTER)


def _expiry(limit: RateLimit, now: datetime) -> datetime:
    return datetime.fromtimestamp(limit.window_end(now), UTC)


class DynamoRateLimiter:
    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        """Take one from the window's budget; False when it is spent (nothing changes)."""
        item = _counter(limit, key, now)
        try:
            item.update(
                actions=[RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(_expiry(limit, now))],
                condition=RateCounterItem.hits.does_not_exist() | (RateCounterItem.hits < limit.limit),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def release(self, limit: RateLimit, key: str, now: datetime) -> None:
        try:
            _counter(limit, key, now).update(actions=[RateCounterItem.hits.add(-1)], condition=RateCounterItem.hits > 0)
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def count(self, limit: RateLimit, key: str, now: datetime) -> int:
        try:
            item = RateCounterItem.get(counter_key(limit, key, now), COUNTER, consistent_read=True)
        except RateCounterItem.DoesNotExist:
            return 0
        return int(item.hits or 0)
