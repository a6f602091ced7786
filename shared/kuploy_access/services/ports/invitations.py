"""Invitations, by the side that uses them. DynamoInvitationRepository implements them
all; FakeInvitations (org_fakes.py) is its fake.

InvitationService serves both sides through one field, typed `InvitationStore`: the
union of `SentInvitations` and `InvitationAnswers`, which are the ports to read.
Changes take the audit event and write it in the same transaction. The exceptions are
those of domain/errors.py, as each method says; nothing else."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.invitations import Invitation
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.paging import Page
from kuploy_access.domain.users import User


class SentInvitations(Protocol):  # InvitationService: the organization's side
    def create(self, invitation: Invitation, invitee_user_id: str | None, now: datetime, event: AuditEvent) -> None:
        """Raises AlreadyMember, AlreadyInvited (a pending, unexpired one exists) or NotFound;
        Forbidden when the inviter's role, at the moment of writing, may not invite to
        `invitation.role` (demoted or removed since the request read it)."""

    def pending_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Invitation]:
        """The organization's pending invitations (expired ones too), by id. Raises
        ValidationFailed for a cursor it did not give out."""

    def get(self, org_id: str, invitation_id: str) -> Invitation | None: ...

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None:
        """The link stops working at once: the link the invitation holds when the
        revocation commits, also when a resend replaced the one in `invitation` meanwhile.
        Raises NotFound when the invitation is no longer pending (answered or revoked
        meanwhile) or the organization is gone; Conflict when resends kept replacing the
        link while it was being revoked (nothing changed: try again)."""

    def resend(self, invitation: Invitation, token_hash: str, expires_at: datetime, event: AuditEvent) -> Invitation:
        """The new link replaces the old one, which stops working. Raises NotFound when
        the invitation is no longer pending (or its link changed meanwhile), AlreadyInvited
        when a newer invitation to the address holds its place."""


class InvitationAnswers(Protocol):  # InvitationService: the invitee's side
    def by_token(self, token_hash: str) -> Invitation | None: ...

    def by_token_for(self, token_hash: str, user_id: str) -> tuple[Invitation | None, User | None]:
        """The invitation behind a link and the account answering it, in one read."""

    def pending_to_page(self, email: str, now: datetime, limit: int, cursor: str | None) -> Page[Invitation]:
        """The invitations to the address that can still be answered at `now` (pending,
        unexpired), in every organization, by id. Raises ValidationFailed for a cursor it
        did not give out."""

    def sent_to(self, email: str, invitation_id: str) -> Invitation | None:
        """The invitation of that id if it was sent to the address, answered or not."""

    def accept(self, invitation: Invitation, member: Member, now: datetime, event: AuditEvent) -> None:
        """Consume the invitation and create the membership atomically. Raises
        InvitationUsed when it is no longer pending (or expired), AlreadyMember, NotFound
        (the organization is gone)."""

    def decline(self, invitation: Invitation, now: datetime, event: AuditEvent) -> None:
        """Consume the invitation. Raises InvitationUsed or NotFound, as `accept`."""


class InvitationStore(SentInvitations, InvitationAnswers, Protocol):  # InvitationService
    """Both sides, for the one service that serves both; nothing of its own."""


class InvitationSweep(Protocol):  # MemberService: a demotion takes back what was sent
    def pending_from(self, org_id: str, inviter_id: str) -> list[Invitation]:
        """Every pending invitation `inviter_id` sent in the organization, unpaged (the
        demotion revokes each one its new role could not send), read consistently."""

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None:
        """Ends the link the invitation holds when the revocation commits. Raises NotFound
        when the invitation was answered or revoked meanwhile; Conflict as
        `SentInvitations.revoke`."""


class InvitationRoster(Protocol):  # AccessReviewService
    """Raises nothing."""

    def of_org(self, org_id: str) -> list[Invitation]:
        """Every invitation of the organization, answered or not, by id, unpaged: the
        review judges the organization as a whole."""
