"""Accounts: one read-only lookup, and one protocol per service that changes them.

DynamoUserRepository implements them all; FakeUsers is its fake."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.one_time_tokens import OneTimeToken
from kuploy_access.domain.users import User


class EmailAlreadyRegistered(Exception):
    """The email guard already exists: another account owns this address."""

    def __init__(self, user_id: str | None = None) -> None:
        super().__init__("email already registered")
        self.user_id = user_id


class EmailTooSimilar(Exception):
    """The address's confusable skeleton is held by an account with another address."""


class UserLookup(Protocol):
    """Reads only, for OrganizationService, InvitationService, AdminService,
    ReauthenticationService and TwoFactorService; the base of every port below.
    Raises nothing (None for an unknown account or address)."""

    def get(self, user_id: str) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...


class UserRegistry(UserLookup, Protocol):  # SignUpService
    """Sign-up and email verification. Raises EmailAlreadyRegistered, EmailTooSimilar
    and TokenNotUsable (ports/tokens.py), as each method says."""

    def create(self, user: User, verification: OneTimeToken) -> None:
        """Write the user (its pending hashes naming the token), its email guard, its
        skeleton guard and its first verification token at once.

        Raises EmailAlreadyRegistered when the address is taken, EmailTooSimilar when
        another address that looks the same (same `email_skeleton`) is.
        """

    def add_verification(self, user_id: str, token: OneTimeToken, password_hash: str | None, tracked: bool) -> None:
        """Store one more pending verification link of an unverified account, in one
        transaction; the links it has keep working. `password_hash` (a sign-up again)
        becomes the account's own hash, which only serves login's email_not_verified
        answer; None (a resend) leaves it. `tracked` adds the link's hash to the
        account's pending ones.

        Raises TokenNotUsable when the account was verified (or deleted) meanwhile.
        """

    def verify_email(self, token: OneTimeToken, address: str) -> None:
        """In one transaction, while the account is still unverified: consume the token,
        set the account's password hash to the token's (remove it when the token has
        none), mark the address verified, end any pending reset link, and claim the
        address's confusable look for this account.

        Raises TokenNotUsable when the token was consumed meanwhile or the account is
        verified already (another of its links won); EmailTooSimilar when a verified
        look-alike address holds the look.
        """

    def discard_verifications(self, user_id: str, spent: str) -> None:
        """Delete the account's pending verification links other than `spent` (the one
        that verified it) and forget their hashes. Best effort: once the account is
        verified they are refused anyway, and expire by TTL; the caller logs a failure."""


class Credentials(UserLookup, Protocol):  # LoginService
    """Raises nothing: a lost condition answers False."""

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Replace the hash only if it is still `old_hash` (a rehash must not undo a
        change); False when it was not."""


class PasswordResets(Credentials, Protocol):  # PasswordService
    """Raises TokenNotUsable (ports/tokens.py) and EmailTooSimilar where a method says so.
    The changes a person makes write their audit `event` in the same transaction: the
    change and its event are stored together or not at all."""

    def change_password(self, user_id: str, old_hash: str, new_hash: str, event: AuditEvent) -> bool:
        """Replace the hash only if it is still `old_hash`, end any pending reset link and
        record `event`, atomically; False (nothing written) when the hash was not."""

    def start_password_reset(self, user: User, token: OneTimeToken) -> None:
        """Store `token` as the account's only working reset link. Raises TokenNotUsable
        (and writes nothing) when the account does not exist."""

    def reset_password(self, token: OneTimeToken, new_hash: str, account: User, event: AuditEvent) -> None:
        """Consume a reset token and set the password (and mark the address verified:
        the link proved it, so pending verification links are refused from then on), and
        record `event`, atomically. `account` is the token's account as the caller read it; when it was
        unverified, the same transaction claims the address's confusable look, as
        `verify_email` does.

        Raises TokenNotUsable when the token is gone (or is no longer the account's reset
        link, or the account's verification changed since `account` was read);
        EmailTooSimilar, changing nothing (the event neither), when the account was
        unverified and a verified look-alike address holds the look."""


class ProfileStore(UserLookup, Protocol):  # AccountService
    """Raises nothing."""

    def update_name(self, user_id: str, name: str) -> User | None:
        """None when the account does not exist."""
