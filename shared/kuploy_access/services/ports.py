"""What the use cases need from the outside world, as protocols.

The DynamoDB, SES and Secrets Manager adapters implement these; the unit tests use
in-memory fakes of the same protocols.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.domain.users import OrganizationMembership, User


class EmailAlreadyRegistered(Exception):
    """The email guard already exists: another account owns this address."""

    def __init__(self, user_id: str | None = None) -> None:
        super().__init__("email already registered")
        self.user_id = user_id


class TokenNotUsable(Exception):
    """A single-use token was consumed concurrently or vanished."""


class RefreshAlreadyRotated(Exception):
    """The refresh token was exchanged already (possibly a moment ago, by a racing request)."""


class SessionNotLive(Exception):
    """The session behind a refresh token was revoked or replaced its token."""


@dataclass(frozen=True)
class LoginAttempts:
    """What login reads before it checks a password: the account and its failure counts."""

    user_id: str | None
    account_failures: int
    ip_failures: int


class Clock(Protocol):
    def now(self) -> datetime: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for unknown accounts."""

    def needs_rehash(self, password_hash: str) -> bool: ...


class UserRepository(Protocol):
    def create(self, user: User, verification: OneTimeToken) -> None:
        """Write the user, its email guard and its first verification token at once.

        Raises EmailAlreadyRegistered when the address is taken.
        """

    def get(self, user_id: str) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...

    def restart_verification(self, user: User, token: OneTimeToken, password_hash: str | None) -> None:
        """Make `token` the account's only working verification link (and, for a sign-up
        again, set the password chosen then), while the account is unverified.

        Raises TokenNotUsable when the account was verified meanwhile.
        """

    def verify_email(self, token: OneTimeToken) -> None:
        """Consume the token and mark the user verified, atomically, if it is still the
        account's current verification link.

        Raises TokenNotUsable when it was consumed or replaced meanwhile.
        """

    def update_name(self, user_id: str, name: str) -> User | None:
        """None when the account does not exist."""

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str, end_pending_reset: bool = False) -> bool:
        """Replace the hash only if it is still `old_hash` (a rehash must not undo a
        change); False when it was not. `end_pending_reset` also kills any reset link."""

    def start_password_reset(self, user: User, token: OneTimeToken) -> None:
        """Store `token` as the account's only working reset link."""

    def reset_password(self, token: OneTimeToken, new_hash: str) -> None:
        """Consume a reset token and set the password (and mark the address verified:
        the link proved it), atomically. Raises TokenNotUsable when the token is gone."""


class TokenRepository(Protocol):
    def put(self, token: OneTimeToken) -> None: ...

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None: ...

    def delete(self, kind: TokenKind, token_hash: str) -> None: ...


class SessionRepository(Protocol):
    def create(self, session: Session) -> None: ...

    def get_refresh(self, token_hash: str) -> RefreshToken | None: ...

    def rotate(
        self, old: RefreshToken, new_hash: str, now: datetime, idle_expires_at: datetime, ip: str, user_agent: str
    ) -> None:
        """Raises RefreshAlreadyRotated or SessionNotLive; otherwise `old` is dead and
        `new_hash` is the session's refresh token."""

    def get(self, user_id: str, session_id: str) -> Session | None: ...

    def list_for_user(self, user_id: str) -> list[Session]: ...

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        """False when the user has no such live session."""


class RateLimiter(Protocol):
    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        """Take one from the window's budget; False when it is spent."""

    def look_up(self, email: str, ip: str, now: datetime) -> LoginAttempts: ...

    def record_failure(self, email: str, ip: str, now: datetime) -> None: ...

    def clear_account_failures(self, email: str, now: datetime) -> None: ...


class MembershipRepository(Protocol):
    def organizations_of(self, user_id: str) -> list[OrganizationMembership]: ...


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...
