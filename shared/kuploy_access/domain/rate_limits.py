"""Limits on guessing secrets and on sending email, as data.

Fixed windows: a counter per (limit, key, window) in DynamoDB, incremented with a
conditional update, deleted by TTL after its window. Lockouts end with their window,
so an attacker cannot lock a victim out for longer than that by failing on purpose.

- login: see `login_throttle.py` (per account and address, per address, and the
  account's consecutive failures).
- emails per address: 3 an hour for each kind (verification, reset), so the service
  cannot be used to flood someone's inbox; the answer stays 202 either way.

A limit per client address counts the client's `limit_key` (domain/client_address.py):
an IPv6 client by its /64, whose holder may send from any address in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from kuploy_access.domain.errors import DomainError


@dataclass(frozen=True)
class RateLimit:
    name: str
    limit: int
    window: timedelta

    def window_start(self, now: datetime) -> int:
        seconds = int(self.window.total_seconds())
        return int(now.timestamp()) // seconds * seconds

    def window_end(self, now: datetime) -> int:
        return self.window_start(now) + int(self.window.total_seconds())

    def retry_after(self, now: datetime) -> int:
        return max(1, self.window_end(now) - int(now.timestamp()))


VERIFICATION_EMAILS_PER_ADDRESS = RateLimit("email-verification", 3, timedelta(hours=1))
RESET_EMAILS_PER_ADDRESS = RateLimit("email-reset", 3, timedelta(hours=1))
# Spent instead of the above by requests for addresses without an account: the same
# write, on a counter that limits nothing (see services/passwords.py).
DECOY_EMAILS_PER_ADDRESS = RateLimit("email-decoy", 1_000_000, timedelta(hours=1))


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    title = "Too many attempts"

    def __init__(self, retry_after: int, detail: str | None = None) -> None:
        super().__init__(detail or f"Too many attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


# Invitations email addresses nobody has confirmed; a compromised admin account must
# not turn an organization into a spam cannon.
INVITATIONS_PER_ORG = RateLimit("invitations-org", 100, timedelta(hours=1))
INVITATION_EMAILS_PER_ADDRESS = RateLimit("email-invitation", 5, timedelta(hours=1))

# Wrong second-factor codes per account, across challenges and the 2FA settings routes
# (each challenge also ends after 5 attempts). An attempt is taken before the check, so
# racing requests cannot exceed it, and a right code gives it back; 10 wrong in 15
# minutes against a million codes makes guessing hopeless.
MFA_ATTEMPTS_PER_ACCOUNT = RateLimit("mfa-account", 10, timedelta(minutes=15))

# Organizations created per account: every organization can send invitation emails
# (100 an hour each), so an unbounded number of them would multiply that budget for a
# spammer. 10 a day is far above what a person sets up by hand.
ORGS_CREATED_PER_ACCOUNT = RateLimit("orgs-created-account", 10, timedelta(days=1))

# Provider sign-ins started per client address: each stores a flow for 10 minutes, so a
# script must not fill the table; a person starts a handful.
OAUTH_FLOWS_PER_ADDRESS = RateLimit("oauth-flows-ip", 60, timedelta(minutes=10))
