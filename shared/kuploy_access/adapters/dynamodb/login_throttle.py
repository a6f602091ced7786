"""The login budgets of `domain/login_throttle.py` as DynamoDB items.

Window counters are the rate limiter's items (`keys.rate_counter_pk`, rate_limits.py);
the consecutive count is one item per address (`keys.login_failures_pk`). An attempt is one consistent
BatchGetItem (the account and the three counts, so a spent budget costs no write) and
one transaction of three conditional increments: racing guesses cannot get past a
budget, because the condition, not the read, decides.
"""

from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import TransactWriteError

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.conditions import hits_below, present, update_if
from kuploy_access.adapters.dynamodb.keys import (
    COUNTER_SK,
    EMAIL_GUARD_SK,
    email_guard_pk,
    login_failures_pk,
    rate_counter_pk,
)
from kuploy_access.adapters.dynamodb.models import ConsecutiveFailuresItem, LoginLookupItem, RateCounterItem
from kuploy_access.adapters.dynamodb.rate_limits import counter_ref, window_end
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
from kuploy_access.services.ports.tokens import TokenNotUsable


def _consecutive(address: str) -> ConsecutiveFailuresItem:
    return ConsecutiveFailuresItem(pk=login_failures_pk(address), sk=COUNTER_SK)


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
        pair = rate_counter_pk(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip), now)
        per_ip = rate_counter_pk(LOGIN_FAILURES_PER_IP, ip, now)
        consecutive = login_failures_pk(address)
        guard = email_guard_pk(address)
        found = {
            item.pk: item
            for item in LoginLookupItem.batch_get(
                [(guard, EMAIL_GUARD_SK), (pair, COUNTER_SK), (per_ip, COUNTER_SK), (consecutive, COUNTER_SK)],
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
                hits_below(CONSECUTIVE_FAILURES_BEFORE_LOCK),
            )
        for label, limit, key in (
            ("pair", LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip)),
            ("address", LOGIN_FAILURES_PER_IP, ip),
        ):
            transaction.update(
                label,
                counter_ref(limit, key, now),
                [RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(window_end(limit, now))],
                hits_below(limit.limit),
            )
        try:
            transaction.commit()
        except TransactWriteError:
            # Other attempts kept touching the same counters through every retry.
            raise ConditionFailed({"busy"}) from None

    def succeeded(self, attempt: LoginAttempt, event: AuditEvent | None = None) -> None:
        """Give back the address's attempt; clear the pair's and the account's counts."""
        pair = pair_key(attempt.address, attempt.ip)
        transaction = (
            Transaction(self._connection)
            .update(
                "address", counter_ref(LOGIN_FAILURES_PER_IP, attempt.ip, attempt.at), [RateCounterItem.hits.add(-1)]
            )
            .delete("pair", counter_ref(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair, attempt.at))
            .delete("consecutive", _consecutive(attempt.address))
        )
        if event is not None:
            transaction.put("event", audit_item(event))
        transaction.commit()

    def notice_lock(self, address: str, now: datetime) -> bool:
        """True for exactly one caller per lock (and again a day later): the one that
        should email the unlock link."""
        return update_if(
            _consecutive(address),
            [ConsecutiveFailuresItem.lock_noticed_at.set(now)],
            (ConsecutiveFailuresItem.hits >= CONSECUTIVE_FAILURES_BEFORE_LOCK)
            & (
                ConsecutiveFailuresItem.lock_noticed_at.does_not_exist()
                | (ConsecutiveFailuresItem.lock_noticed_at < now - UNLOCK_EMAIL_INTERVAL)
            ),
        )

    def unlock(self, token: OneTimeToken, address: str, event: AuditEvent) -> None:
        """Consume the unlock link and clear the account's count, at once.
        Raises TokenNotUsable when the link was used meanwhile."""
        try:
            (
                Transaction(self._connection)
                .delete("token", token_item(token), present())
                .delete("consecutive", _consecutive(address))
                .put("event", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise TokenNotUsable() from None

    def clear_lock(self, address: str, ip: str, now: datetime) -> None:
        (
            Transaction(self._connection)
            .delete("consecutive", _consecutive(address))
            .delete("pair", counter_ref(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key(address, ip), now))
            .commit()
        )
