"""The login budgets of `domain/login_throttle.py` as DynamoDB items.

Window counters are `RATE#<limit>#<sha256(key)>#<window>` items (see rate_limits.py);
the consecutive count is `LOGINFAIL#<sha256(address)>`. An attempt is one consistent
BatchGetItem (the account and the three counts, so a spent budget costs no write) and
one transaction of three conditional increments: racing guesses cannot get past a
budget, because the condition, not the read, decides.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from pynamodb.exceptions import TransactWriteError, UpdateError

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.models import (
    ConsecutiveFailuresItem,
    LoginLookupItem,
    OneTimeTokenItem,
    RateCounterItem,
    email_key,
)
from kuploy_access.adapters.dynamodb.rate_limits import COUNTER, counter_key
from kuploy_access.adapters.dynamodb.tokens import token_item
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction, table_connection
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_COUNT_LIFETIME,
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    LOGIN_FAILURES_PER_IP,
    UNLOCK_EMAIL_INTERVAL,
    AttemptRefused,
    LoginAttempt,
    Refusal,
    pair_key,
)
from kuploy_access.domain.one_time_tokens import OneTimeToken
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.services.ports.tokens import TokenNotUsable


def consecutive_key(address: str) -> str:
    return f"LOGINFAIL#{hashlib.sha256(address.encode('utf-8')).hexdigest()[:32]}"


def _window_item(limit: RateLimit, key: str, at: datetime) -> RateCounterItem:
    return RateCounterItem(pk=counter_key(limit, key, at), sk=COUNTER)


def _window_expiry(limit: RateLimit, at: datetime) -> datetime:
    return datetime.fromtimestamp(limit.window_end(at), UTC)


def _consecutive(address: str) -> ConsecutiveFailuresItem:
    return ConsecutiveFailuresItem(pk=consecutive_key(address), sk=COUNTER)


def _refusal(failed: ConditionFailed) -> Refusal:
    for label, refusal in (("pair", Refusal.PAIR), ("address", Refusal.ADDRESS)):
        if label in failed.labels:
            return refusal
    return Refusal.BUSY


class DynamoLoginThrottle:
    def __init__(self) -> None:
        self._connection = table_connection()

    def take(self, address: str, ip: str, now: datetime) -> LoginAttempt:
        """Raises AttemptRefused when a budget is spent. A locked account's attempt
        still spends the pair's and the address's budgets (so it answers like any other
        account, 429 after the fifth), and nothing else."""
        pair = counter_key(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip), now)
        per_ip = counter_key(LOGIN_FAILURES_PER_IP, ip, now)
        consecutive = consecutive_key(address)
        guard = email_key(address)
        found = {
            item.pk: item
            for item in LoginLookupItem.batch_get(
                [(guard, "EMAIL"), (pair, COUNTER), (per_ip, COUNTER), (consecutive, COUNTER)],
                consistent_read=True,
            )
        }

        def hits(key: str) -> int:
            item = found.get(key)
            return int(item.hits or 0) if item is not None else 0

        user_id = found[guard].user_id if guard in found else None
        for refusal, used, limit in (
            (Refusal.PAIR, hits(pair), LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit),
            (Refusal.ADDRESS, hits(per_ip), LOGIN_FAILURES_PER_IP.limit),
        ):
            if used >= limit:
                raise AttemptRefused(refusal, user_id)
        locked = hits(consecutive) >= CONSECUTIVE_FAILURES_BEFORE_LOCK
        try:
            self._increment(address, ip, now, count_consecutive=not locked)
        except ConditionFailed as failed:
            if failed.labels != {"consecutive"}:
                raise AttemptRefused(_refusal(failed), user_id) from None
            locked = True  # reached meanwhile by racing attempts
            self._increment_locked(address, ip, now, user_id)
        if locked:
            raise AttemptRefused(Refusal.ACCOUNT_LOCKED, user_id)
        return LoginAttempt(address, ip, now, user_id, hits(consecutive))

    def _increment_locked(self, address: str, ip: str, now: datetime, user_id: str | None) -> None:
        try:
            self._increment(address, ip, now, count_consecutive=False)
        except ConditionFailed as failed:
            raise AttemptRefused(_refusal(failed), user_id) from None

    def _increment(self, address: str, ip: str, now: datetime, count_consecutive: bool) -> None:
        """Raises ConditionFailed naming the spent budgets ("pair", "address", "consecutive")."""
        transaction = Transaction(self._connection)
        if count_consecutive:
            transaction.update(
                "consecutive",
                _consecutive(address),
                [
                    ConsecutiveFailuresItem.hits.add(1),
                    ConsecutiveFailuresItem.expires_at_epoch.set(now + CONSECUTIVE_COUNT_LIFETIME),
                ],
                ConsecutiveFailuresItem.hits.does_not_exist()
                | (ConsecutiveFailuresItem.hits < CONSECUTIVE_FAILURES_BEFORE_LOCK),
            )
        for label, limit, key in (
            ("pair", LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip)),
            ("address", LOGIN_FAILURES_PER_IP, ip),
        ):
            transaction.update(
                label,
                _window_item(limit, key, now),
                [RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(_window_expiry(limit, now))],
                RateCounterItem.hits.does_not_exist() | (RateCounterItem.hits < limit.limit),
            )
        try:
            transaction.commit()
        except TransactWriteError:
            # Other attempts kept touching the same counters through every retry.
            raise ConditionFailed({"busy"}) from None

    def succeeded(self, attempt: LoginAttempt, event: AuditEvent | None = None) -> None:
        """Give back the address's attempt; clear the pair's and the account's counts."""
        transaction = Transaction(self._connection)
        transaction.update(
            "address", _window_item(LOGIN_FAILURES_PER_IP, attempt.ip, attempt.at), [RateCounterItem.hits.add(-1)]
        )
        transaction.delete(
            "pair", _window_item(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(attempt.address, attempt.ip), attempt.at)
        )
        transaction.delete("consecutive", _consecutive(attempt.address))
        if event is not None:
            transaction.put("event", audit_item(event))
        transaction.commit()

    def notice_lock(self, address: str, now: datetime) -> bool:
        """True for exactly one caller per lock (and again a day later): the one that
        should email the unlock link."""
        item = _consecutive(address)
        try:
            item.update(
                actions=[ConsecutiveFailuresItem.lock_noticed_at.set(now)],
                condition=(ConsecutiveFailuresItem.hits >= CONSECUTIVE_FAILURES_BEFORE_LOCK)
                & (
                    ConsecutiveFailuresItem.lock_noticed_at.does_not_exist()
                    | (ConsecutiveFailuresItem.lock_noticed_at < now - UNLOCK_EMAIL_INTERVAL)
                ),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def unlock(self, token: OneTimeToken, address: str, event: AuditEvent) -> None:
        """Consume the unlock link and clear the account's count, at once.
        Raises TokenNotUsable when the link was used meanwhile."""
        transaction = Transaction(self._connection)
        transaction.delete("token", token_item(token), OneTimeTokenItem.pk.exists())
        transaction.delete("consecutive", _consecutive(address))
        transaction.put("event", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise TokenNotUsable() from None

    def clear_lock(self, address: str, ip: str, now: datetime) -> None:
        transaction = Transaction(self._connection)
        transaction.delete("consecutive", _consecutive(address))
        transaction.delete("pair", _window_item(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip), now))
        transaction.commit()
