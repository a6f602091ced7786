"""Fixed-window counters for the limits in `domain/rate_limits.py`.

One item per (limit, key, window), incremented atomically; TTL removes it after its
window, and reads ignore it once the window is over (TTL is lazy). Counters live in
the table, so every Lambda container sees the same numbers.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import UpdateError
from pynamodb.transactions import TransactWrite

from kuploy_access.adapters.dynamodb.models import LoginLookupItem, RateCounterItem, email_key
from kuploy_access.config import settings
from kuploy_access.domain.rate_limits import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, RateLimit
from kuploy_access.services.ports import LoginAttempts

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
    def __init__(self) -> None:
        self._connection = Connection(region=settings().region)

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

    def look_up(self, email: str, ip: str, now: datetime) -> LoginAttempts:
        """The account behind `email` and both failure counters, in one BatchGetItem."""
        guard_key = (email_key(email), "EMAIL")
        account_key = (counter_key(LOGIN_FAILURES_PER_ACCOUNT, email, now), COUNTER)
        ip_key = (counter_key(LOGIN_FAILURES_PER_IP, ip, now), COUNTER)
        found: dict[str, LoginLookupItem] = {
            item.pk: item for item in LoginLookupItem.batch_get([guard_key, account_key, ip_key])
        }

        def count(key: str) -> int:
            item = found.get(key)
            return int(item.hits or 0) if item is not None else 0

        guard = found.get(guard_key[0])
        return LoginAttempts(
            user_id=guard.user_id if guard is not None else None,
            account_failures=count(account_key[0]),
            ip_failures=count(ip_key[0]),
        )

    def record_failure(self, email: str, ip: str, now: datetime) -> None:
        with TransactWrite(connection=self._connection) as transaction:
            for limit, key in ((LOGIN_FAILURES_PER_ACCOUNT, email), (LOGIN_FAILURES_PER_IP, ip)):
                transaction.update(
                    _counter(limit, key, now),
                    actions=[RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(_expiry(limit, now))],
                )

    def clear_account_failures(self, email: str, now: datetime) -> None:
        _counter(LOGIN_FAILURES_PER_ACCOUNT, email, now).delete()
