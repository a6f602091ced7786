"""What the use cases need from the outside world, as protocols.

The DynamoDB, SES and Secrets Manager adapters implement these; the unit tests use
in-memory fakes of the same protocols.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.invitations import Invitation
from kuploy_access.domain.login_throttle import LoginAttempt
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.paging import Page
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.domain.resources import Resource, ResourceKind
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.domain.users import OrganizationMembership, User


class EmailAlreadyRegistered(Exception):
    """The email guard already exists: another account owns this address."""

    def __init__(self, user_id: str | None = None) -> None:
        super().__init__("email already registered")
        self.user_id = user_id


class EmailTooSimilar(Exception):
    """The address's confusable skeleton is held by an account with another address."""


class TokenNotUsable(Exception):
    """A single-use token was consumed concurrently or vanished."""


class RefreshAlreadyRotated(Exception):
    """The refresh token was exchanged already (possibly a moment ago, by a racing request)."""


class SessionNotLive(Exception):
    """The session behind a refresh token was revoked or replaced its token."""


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
        """Write the user (its pending hashes naming the token), its email guard, its
        skeleton guard and its first verification token at once.

        Raises EmailAlreadyRegistered when the address is taken, EmailTooSimilar when
        another address that looks the same (same `email_skeleton`) is.
        """

    def get(self, user_id: str) -> User | None: ...

    def get_by_email(self, email: str) -> User | None: ...

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
        verified they are refused anyway, and expire by TTL."""

    def update_name(self, user_id: str, name: str) -> User | None:
        """None when the account does not exist."""

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str, end_pending_reset: bool = False) -> bool:
        """Replace the hash only if it is still `old_hash` (a rehash must not undo a
        change); False when it was not. `end_pending_reset` also kills any reset link."""

    def start_password_reset(self, user: User, token: OneTimeToken) -> None:
        """Store `token` as the account's only working reset link. Raises TokenNotUsable
        (and writes nothing) when the account does not exist."""

    def reset_password(self, token: OneTimeToken, new_hash: str) -> None:
        """Consume a reset token and set the password (and mark the address verified:
        the link proved it, so pending verification links are refused from then on),
        atomically. Raises TokenNotUsable when the token is gone."""


class TokenRepository(Protocol):
    def put(self, token: OneTimeToken) -> None: ...

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None: ...

    def delete(self, kind: TokenKind, token_hash: str) -> None: ...


class SessionRepository(Protocol):
    def create(self, session: Session) -> None: ...

    def get_refresh(self, token_hash: str) -> RefreshToken | None: ...

    def rotate(
        self,
        old: RefreshToken,
        new_hash: str,
        now: datetime,
        idle_expires_at: datetime,
        ip: str,
        user_agent: str,
        auth_time: datetime | None = None,
    ) -> None:
        """Raises RefreshAlreadyRotated or SessionNotLive; otherwise `old` is dead and
        `new_hash` is the session's refresh token. The new token carries `old.auth_time`,
        or `auth_time` when given (a re-authentication), which the session records too."""

    def get(self, user_id: str, session_id: str) -> Session | None: ...

    def list_for_user(self, user_id: str) -> list[Session]: ...

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        """False when the user has no such live session."""


class SessionLookup(Protocol):  # SudoService
    def get(self, user_id: str, session_id: str) -> Session | None:
        """One read of the session, revoked or expired ones included."""


class RateLimiter(Protocol):
    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        """Take one from the window's budget; False when it is spent."""

    def release(self, limit: RateLimit, key: str, now: datetime) -> None:
        """Give back one unit taken by `consume` (an attempt that turned out right)."""

    def count(self, limit: RateLimit, key: str, now: datetime) -> int:
        """How much of the window's budget is spent (nothing changes)."""


class LoginThrottle(Protocol):
    """The budgets of domain/login_throttle.py."""

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


class MembershipRepository(Protocol):
    def organizations_of(self, user_id: str) -> list[OrganizationMembership]: ...

    def rename_member(self, user_id: str, name: str) -> None:
        """Memberships keep a copy of the member's name (a page of members is one Query)."""


class Mailer(Protocol):
    def send(self, email: OutgoingEmail) -> None: ...


class OrganizationRepository(Protocol):
    """Organizations, memberships and the audit events written with their changes.

    Methods that change something take the audit event and write it in the same
    transaction; they raise NotFound for a missing (or deleted) organization or
    member, and OwnerProtected where the change would touch the owner."""

    def create(self, org: Organization, owner: Member, event: AuditEvent) -> None: ...

    def load_access(self, org_id: str, user_id: str) -> tuple[Organization | None, Member | None]:
        """The live organization and the caller's membership, in one read."""

    def touch_member(self, org_id: str, user_id: str, now: datetime, stale_before: datetime) -> None:
        """Set last_active_at = now unless it is already at or after `stale_before`."""

    def get(self, org_id: str) -> Organization | None: ...

    def update(self, org_id: str, changes: dict[str, object], event: AuditEvent) -> Organization: ...

    def mark_deleted(self, org_id: str, now: datetime, event: AuditEvent) -> None: ...

    def purge(self, org_id: str) -> int: ...

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]: ...

    def rename_member(self, user_id: str, name: str) -> None: ...

    def members_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Member]: ...

    def get_member(self, org_id: str, user_id: str) -> Member | None: ...

    def members_without_two_factor(self, org_id: str, limit: int) -> list[Member]: ...

    def all_members(self, org_id: str) -> list[Member]: ...

    def change_role(self, org_id: str, user_id: str, role: str, event: AuditEvent) -> Member: ...

    def remove_member(self, org_id: str, user_id: str, event: AuditEvent) -> None: ...

    def transfer_ownership(self, org_id: str, from_user: str, to_user: str, event: AuditEvent) -> None: ...


class AuditLog(Protocol):
    def record(self, event: AuditEvent) -> None: ...

    def decoy(self, event: AuditEvent) -> None:
        """The same write as `record`, refused by its condition: nothing is stored. Paths
        for unknown accounts make it so that they cost what known ones do."""

    def page(self, org_id: str, limit: int, cursor: str | None) -> Page[AuditEvent]: ...


class InvitationRepository(Protocol):
    def create(self, invitation: Invitation, invitee_user_id: str | None, now: datetime, event: AuditEvent) -> None:
        """Raises AlreadyMember, AlreadyInvited (a pending, unexpired one exists) or NotFound;
        Forbidden when the inviter's role, at the moment of writing, may not invite to
        `invitation.role` (demoted or removed since the request read it)."""

    def pending_from(self, org_id: str, inviter_id: str) -> list[Invitation]:
        """The pending invitations `inviter_id` sent in the organization (read consistently)."""

    def by_token(self, token_hash: str) -> Invitation | None: ...

    def by_token_for(self, token_hash: str, user_id: str) -> tuple[Invitation | None, User | None]:
        """The invitation behind a link and the account answering it, in one read."""

    def get(self, org_id: str, invitation_id: str) -> Invitation | None: ...

    def of_org(self, org_id: str) -> list[Invitation]: ...

    def for_email(self, email: str) -> list[Invitation]: ...

    def accept(self, invitation: Invitation, member: Member, now: datetime, event: AuditEvent) -> None:
        """Consume the invitation and create the membership atomically. Raises
        InvitationUsed when it is no longer pending, AlreadyMember, NotFound."""

    def decline(self, invitation: Invitation, now: datetime, event: AuditEvent) -> None: ...

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None: ...

    def resend(self, invitation: Invitation, token_hash: str, expires_at: datetime, event: AuditEvent) -> Invitation:
        """The new link replaces the old one, which stops working."""


class ResourceRepository(Protocol):
    def create(
        self, resource: Resource, event: AuditEvent, parent: tuple[ResourceKind, str, str] | None = None
    ) -> None: ...

    def get(self, org_id: str, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource | None: ...

    def page(
        self, org_id: str, kind: ResourceKind, limit: int, cursor: str | None, parent_id: str = ""
    ) -> Page[Resource]: ...

    def rename(self, resource: Resource, name: str, now: datetime, event: AuditEvent) -> Resource: ...

    def delete(self, resource: Resource, event: AuditEvent) -> int: ...


class SecretBox(Protocol):
    """Authenticated encryption for secrets we must read back, bound to their owner;
    and a keyed hash for short secrets we only compare (recovery codes)."""

    def seal(self, plaintext: str, owner: str) -> str: ...

    def open(self, token: str, owner: str) -> str: ...

    def keyed_hash(self, value: str) -> str: ...


class TwoFactorRepository(Protocol):
    """Each method is one conditional write; False when its condition did not hold."""

    def set_pending(self, user_id: str, sealed_secret: str) -> bool: ...

    def enable(self, user_id: str, pending_sealed: str, step: int, recovery_hashes: set[str]) -> bool: ...

    def use_step(self, user_id: str, step: int) -> bool: ...

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool: ...

    def replace_recovery_codes(self, user_id: str, step: int, recovery_hashes: set[str]) -> bool: ...

    def disable(self, user_id: str, step: int | None, recovery_hash: str | None) -> bool: ...

    def reset(self, user_id: str) -> bool: ...

    def take_attempt(self, challenge_id: str, expires_at: datetime) -> bool: ...

    def close_challenge(self, challenge_id: str, expires_at: datetime) -> bool: ...

    def set_member_copies(self, user_id: str, enabled: bool) -> None: ...


class ApiKeyRepository(Protocol):
    def create(self, key: ApiKey, event: AuditEvent) -> None: ...

    def of_org(self, org_id: str) -> list[ApiKey]: ...

    def get(self, org_id: str, key_id: str) -> ApiKey | None: ...

    def revoke(self, key: ApiKey, now: datetime, event: AuditEvent) -> None: ...

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime, event: AuditEvent) -> None: ...
