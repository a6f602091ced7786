"""Fixed-window counters for the limits in `domain/rate_limits.py`.

One item per (limit, key, window), incremented atomically; TTL removes it after its
window, and reads ignore it once the window is over (TTL is lazy). Counters live in
the table, so every Lambda container sees the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from kuploy_access.adapters.dynamodb.conditions import hits_below, update_if
from kuploy_access.adapters.dynamodb.keys import COUNTER_SK, rate_counter_pk
from kuploy_access.adapters.dynamodb.models import RateCounterItem
from kuploy_access.domain.rate_limits import RateLimit


def counter_ref(limit: RateLimit, key: str, at: datetime) -> RateCounterItem:
    return RateCounterItem(pk=rate_counter_pk(limit, key, at), sk=COUNTER_SK)


def window_end(limit: RateLimit, at: datetime) -> datetime:
    """When the window holding `at` closes: the counter's TTL."""
    return datetime.fromtimestamp(limit.window_end(at), UTC)


class DynamoRateLimiter:
    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        """Take one from the window's budget; False when it is spent (nothing changes)."""
        return update_if(
            counter_ref(limit, key, now),
            [RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(window_end(limit, now))],
            hits_below(limit.limit),
        )

    def release(self, limit: RateLimit, key: str, now: datetime) -> None:
        update_if(counter_ref(limit, key, now), [RateCounterItem.hits.add(-1)], RateCounterItem.hits > 0)

    def count(self, limit: RateLimit, key: str, now: datetime) -> int:
        try:
            item = RateCounterItem.get(rate_counter_pk(limit, key, now), COUNTER_SK, consistent_read=True)
        except RateCounterItem.DoesNotExist:
            return 0
        return int(item.hits or 0)
