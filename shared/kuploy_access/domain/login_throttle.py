"""Who may try a password, and when an account stops taking password sign-ins.

Three budgets, each taken *before* the password is checked (a conditional increment
that refuses at the limit), so that any number of parallel guesses get at most the
budget's worth of password checks:

- per (account, client address): 5 failures in 15 minutes block that pair only. The
  owner signing in from anywhere else is not affected, so knowing an email address is
  not enough to keep its owner out (Auth0's brute-force protection, NIST SP 800-63B
  §5.2.2). One address gets at most 480 guesses a day at one account.
- per client address: 50 failures in 15 minutes across all accounts (password spraying
  from one address), with room for an office behind one NAT.
- per account, consecutive failures from anywhere: after 100 (NIST's ceiling) password
  sign-in for the account needs the unlock link emailed to its owner. The client's
  answer stays `invalid_credentials`, so the ceiling tells a guesser nothing; a correct
  sign-in, the unlock link or a password reset start the count again.

A client address is counted by its limit key (client_address.py): an IPv6 client by
its /64, whose holder may send from any address in it.

A success gives back the attempt it took from the address's budget and clears the
pair's and the account's counts: only failures use the budgets up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kuploy_access.domain.rate_limits import RateLimit

LOGIN_FAILURES_PER_ACCOUNT_AND_IP = RateLimit("login-pair", 5, timedelta(minutes=15))
LOGIN_FAILURES_PER_IP = RateLimit("login-ip", 50, timedelta(minutes=15))
CONSECUTIVE_FAILURES_BEFORE_LOCK = 100
# The consecutive count outlives any window: it ends with a success, an unlock or a
# reset. TTL removes a count that saw no failure for this long (and its lock with it).
CONSECUTIVE_COUNT_LIFETIME = timedelta(days=90)
# A locked account's owner gets the unlock link again at most this often (only when
# someone tries the password), in case the first one was lost or expired.
UNLOCK_EMAIL_INTERVAL = timedelta(hours=24)


class Refusal(StrEnum):
    PAIR = "pair"
    ADDRESS = "address"
    ACCOUNT_LOCKED = "account_locked"
    # The counters stayed contended through every retry: try again in a moment.
    BUSY = "busy"


class AttemptRefused(Exception):
    """No attempt was taken: a budget is spent. Nothing changed."""

    def __init__(self, refusal: Refusal, user_id: str | None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.user_id = user_id


def pair_key(address: str, ip: str) -> str:
    """The per-(account, address) counter's key: the canonical email and the client's
    limit key."""
    return f"{address}\n{ip}"


@dataclass(frozen=True)
class LoginAttempt:
    """One attempt, taken before the password is checked."""

    address: str
    ip: str  # the client's limit key (client_address.limit_key), not its full address
    at: datetime  # counters are keyed by the window of this moment; settle in the same one
    user_id: str | None  # the account behind the address, if any
    consecutive_failures: int  # the account's count before this attempt

    @property
    def may_reach_the_ceiling(self) -> bool:
        """This attempt, if wrong, may be the one that locks the account."""
        return self.consecutive_failures + 1 >= CONSECUTIVE_FAILURES_BEFORE_LOCK


def retry_after(refusal: Refusal, now: datetime) -> int:
    if refusal is Refusal.BUSY:
        return 1
    limit = LOGIN_FAILURES_PER_ACCOUNT_AND_IP if refusal is Refusal.PAIR else LOGIN_FAILURES_PER_IP
    return limit.retry_after(now)
