"""What the use cases need from the outside world, as protocols.

The DynamoDB, SES and Secrets Manager adapters implement these; the unit tests use
in-memory fakes of the same protocols.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.sessions import Session
from kuploy_access.domain.users import OrganizationMembership, User


class EmailAlreadyRegistered(Exception):
    """The email guard already exists: another account owns this address."""

    def __init__(self, user_id: str | None = None) -> None:
        super().__init__("email already registered")
        self.user_id = user_id


class TokenNotUsable(Exception):
    """A single-use token was consumed concurrently or vanished."""


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

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> None:
        """Replace the hash only if it is still `old_hash` (a rehash must not undo a change)."""


class TokenRepository(Protocol):
    def put(self, token: OneTimeToken) -> None: ...

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None: ...

    def delete(self, kind: TokenKind, token_hash: str) -> None: ...


class SessionRepository(Protocol):
    def create(self, session: Session) -> None: ...


class MembershipRepository(Protocol):
    def organizations_of(self, user_id: str) -> list[OrganizationMembership]: ...


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...
