"""Budgets: fixed-window rate limits, and the login budgets of domain/login_throttle.py.
DynamoRateLimiter and DynamoLoginThrottle implement them; FakeRateLimiter (and
RefusingLimiter) and FakeLoginThrottle are their fakes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.login_throttle import LoginAttempt
from kuploy_access.domain.one_time_tokens import OneTimeToken
from kuploy_access.domain.rate_limits import RateLimit


class RateLimiter(Protocol):
    """For SignUpService, PasswordService, TwoFactorService, OrganizationService and
    InvitationService. Raises nothing: a spent budget answers False."""

    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        """Take one from the window's budget; False when it is spent."""

    def release(self, limit: RateLimit, key: str, now: datetime) -> None:
        """Give back one unit taken by `consume` (an attempt that turned out right)."""


class LoginThrottle(Protocol):
    """The budgets of domain/login_throttle.py, for LoginService, PasswordService and
    TwoFactorService (`take` and `succeeded` around every password check).

    Raises AttemptRefused (domain/login_throttle.py) from `take` and TokenNotUsable
    (ports/tokens.py) from `unlock`; nothing else.

    `ip` is the client's limit key (domain/client_address.py, `limit_key`: an IPv6
    client's /64), which the services pass; the adapters count it as they get it."""

    def take(self, address: str, ip: str, now: datetime) -> LoginAttempt:
        """Take one attempt from every budget before a password is checked, atomically.
        Raises AttemptRefused (nothing changes) when one is spent."""

    def succeeded(self, attempt: LoginAttempt, event: AuditEvent | None = None) -> None:
        """The password was right: give back the address's attempt, clear the pair's and
        the account's counts (and record `event` in the same write)."""

    def notice_lock(self, address: str, now: datetime) -> bool:
        """True for exactly one caller per lock, and again after UNLOCK_EMAIL_INTERVAL."""

    def unlock(self, token: OneTimeToken, address: str, event: AuditEvent) -> None:
        """Consume the unlock link and clear the account's count. Raises TokenNotUsable."""

    def clear_lock(self, address: str, ip: str, now: datetime) -> None:
        """A password reset proved the inbox: clear the account's count and the pair
        count of the address the reset came from."""
