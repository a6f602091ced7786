"""Invitations: invite by email, list, revoke, resend; answer by link or from the console."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from kuploy_access.domain import email_messages
from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import (
    EmailNotVerified,
    InvitationEmailMismatch,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.invitations import (
    DEFAULT_INVITATION_LIFETIME,
    MAX_INVITATION_TOKEN_LENGTH,
    Invitation,
    InvitationStatus,
    hash_invitation_secret,
    new_invitation_secret,
)
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import ASSIGNABLE_ROLES
from kuploy_access.domain.rate_limits import INVITATION_EMAILS_PER_ADDRESS, INVITATIONS_PER_ORG, RateLimited
from kuploy_access.domain.users import User
from kuploy_access.services.access import OrgCaller, caller_event
from kuploy_access.services.delivery import failure_code
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.invitations import InvitationStore
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.throttling import RateLimiter
from kuploy_access.services.ports.users import UserLookup
from kuploy_access.services.sessions import ClientInfo

logger = logging.getLogger(__name__)

SENT = "sent"
FAILED = "failed"


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    email_delivery: str  # "sent" | "failed": the invitation exists either way


@dataclass
class InvitationService:
    invitations: InvitationStore
    users: UserLookup
    mailer: Mailer
    limiter: RateLimiter
    clock: Clock
    public_base_url: str
    lifetime: timedelta = DEFAULT_INVITATION_LIFETIME

    # --- the organization's side -------------------------------------------------

    def invite(self, caller: OrgCaller, email: str, role: str) -> SentInvitation:
        address = canonical_email(email)
        if role not in {r.value for r in ASSIGNABLE_ROLES}:
            raise ValidationFailed("role must be admin or member; ownership moves with transfer-ownership")
        now = self.clock.now()
        if not self.limiter.consume(INVITATIONS_PER_ORG, caller.org.id, now):
            raise RateLimited(INVITATIONS_PER_ORG.retry_after(now), "This organization sent too many invitations")
        invitee = self.users.get_by_email(address)
        secret = new_invitation_secret()
        invitation = Invitation(
            id=new_id("inv"),
            org_id=caller.org.id,
            org_name=caller.org.name,
            email=address,
            role=role,
            invited_by=caller.principal.id,
            inviter_name=self._inviter_name(caller),
            status=InvitationStatus.PENDING.value,
            token_hash=hash_invitation_secret(secret),
            created_at=now,
            expires_at=now + self.lifetime,
        )
        event = caller_event(caller, now, "member.invited", address, role=role, invitation_id=invitation.id)
        self.invitations.create(invitation, invitee.id if invitee else None, now, event)
        return SentInvitation(invitation, self._deliver(invitation, secret))

    def pending(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[Invitation]:
        return self.invitations.pending_page(caller.org.id, limit, cursor)

    def revoke(self, caller: OrgCaller, invitation_id: str) -> None:
        invitation = self._pending_of(caller, invitation_id)
        event = caller_event(
            caller, self.clock.now(), "invitation.revoked", invitation.email, invitation_id=invitation.id
        )
        self.invitations.revoke(invitation, event)

    def resend(self, caller: OrgCaller, invitation_id: str) -> SentInvitation:
        invitation = self._pending_of(caller, invitation_id)
        now = self.clock.now()
        secret = new_invitation_secret()
        event = caller_event(caller, now, "invitation.resent", invitation.email, invitation_id=invitation.id)
        renewed = self.invitations.resend(invitation, hash_invitation_secret(secret), now + self.lifetime, event)
        return SentInvitation(renewed, self._deliver(renewed, secret))

    # --- the invitee's side ----------------------------------------------------------

    def view(self, secret: str) -> Invitation:
        """What the emailed link shows. Changes nothing."""
        invitation = self.invitations.by_token(self._hash(secret))
        if invitation is None or invitation.status == InvitationStatus.REVOKED:
            raise NotFound("No such invitation")
        invitation.check_usable(self.clock.now())
        return invitation

    def accept(self, user_id: str, secret: str, client: ClientInfo) -> Invitation:
        invitation, user = self.invitations.by_token_for(self._hash(secret), user_id)
        return self._accept(invitation, user, client)

    def accept_by_id(self, user_id: str, invitation_id: str, client: ClientInfo) -> Invitation:
        user = self._user(user_id)
        invitation = self._mine(user, invitation_id)
        return self._accept(invitation, user, client)

    def decline(self, user_id: str, secret: str, client: ClientInfo) -> None:
        invitation, user = self.invitations.by_token_for(self._hash(secret), user_id)
        self._decline(invitation, user, client)

    def decline_by_id(self, user_id: str, invitation_id: str, client: ClientInfo) -> None:
        user = self._user(user_id)
        self._decline(self._mine(user, invitation_id), user, client)

    def mine(self, user_id: str, limit: int, cursor: str | None) -> Page[Invitation]:
        user = self._user(user_id)
        page = self.invitations.pending_to_page(user.email, self.clock.now(), limit, cursor)
        # Nothing for an address not proven yet. The page is read all the same, so that
        # its cursor is checked as on every list.
        return page if user.email_verified else Page([], None)

    # --- rules shared by both ways of answering ----------------------------------------

    def _accept(self, invitation: Invitation | None, user: User | None, client: ClientInfo) -> Invitation:
        now = self.clock.now()
        invitation, user = self._answerable(invitation, user, now)
        member = Member(
            org_id=invitation.org_id,
            user_id=user.id,
            role=invitation.role,
            email=user.email,
            name=user.name,
            joined_at=now,
            two_factor_enabled=user.two_factor_enabled,
            last_active_at=now,
        )
        event = audit_event(
            invitation.org_id,
            now,
            Actor("user", user.id, user.email),
            "member.joined",
            user.id,
            client.ip,
            client.user_agent,
            role=invitation.role,
            invitation_id=invitation.id,
        )
        self.invitations.accept(invitation, member, now, event)
        return replace(invitation, status=InvitationStatus.ACCEPTED.value)

    def _decline(self, invitation: Invitation | None, user: User | None, client: ClientInfo) -> None:
        now = self.clock.now()
        invitation, user = self._answerable(invitation, user, now)
        event = audit_event(
            invitation.org_id,
            now,
            Actor("user", user.id, user.email),
            "invitation.declined",
            invitation.email,
            client.ip,
            client.user_agent,
            invitation_id=invitation.id,
        )
        self.invitations.decline(invitation, now, event)

    @staticmethod
    def _answerable(invitation: Invitation | None, user: User | None, now: datetime) -> tuple[Invitation, User]:
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        if invitation is None or invitation.status == InvitationStatus.REVOKED:
            raise NotFound("No such invitation")
        invitation.check_usable(now)
        if not user.email_verified:
            raise EmailNotVerified()
        if user.email != invitation.email:
            raise InvitationEmailMismatch(
                "This invitation was sent to another address; sign in with the invited address to accept it"
            )
        return invitation, user

    def _mine(self, user: User, invitation_id: str) -> Invitation:
        invitation = self.invitations.sent_to(user.email, invitation_id) if user.email_verified else None
        if invitation is None:
            raise NotFound("No such invitation")
        return invitation

    def _pending_of(self, caller: OrgCaller, invitation_id: str) -> Invitation:
        invitation = self.invitations.get(caller.org.id, invitation_id)
        if invitation is None or invitation.status != InvitationStatus.PENDING:
            raise NotFound("No such pending invitation")
        return invitation

    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        return user

    def _deliver(self, invitation: Invitation, secret: str) -> str:
        now = self.clock.now()
        if not self.limiter.consume(INVITATION_EMAILS_PER_ADDRESS, invitation.email, now):
            return FAILED
        message = email_messages.invitation_email(
            invitation.email,
            self.public_base_url,
            secret,
            invitation.org_name,
            invitation.inviter_name,
            invitation.role,
            invitation.expires_at,
        )
        try:
            self.mailer.send(message)
        except Exception as error:
            logger.error(
                "invitation email failed", extra={"invitation_id": invitation.id, "error_code": failure_code(error)}
            )
            return FAILED
        return SENT

    @staticmethod
    def _hash(secret: str) -> str:
        if not secret or len(secret) > MAX_INVITATION_TOKEN_LENGTH:
            return hash_invitation_secret("")  # matches nothing; answered as unknown
        return hash_invitation_secret(secret)

    @staticmethod
    def _inviter_name(caller: OrgCaller) -> str:
        if caller.member is not None:
            return caller.member.name or caller.member.email
        return "Someone"
