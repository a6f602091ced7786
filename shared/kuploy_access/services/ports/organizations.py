"""Organizations and their memberships, one protocol per service that uses them.
DynamoOrganizationRepository implements them all; FakeOrganizations (org_fakes.py) is
its fake.

Methods that change something take the audit event and write it in the same
transaction. They raise NotFound for a missing (or deleted) organization or member and
OwnerProtected where the change would touch the owner (domain/errors.py), as each port
says; nothing else. Pages raise ValidationFailed for a cursor this API did not give out."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.paging import Page
from kuploy_access.domain.users import OrganizationMembership


class OrgAccess(Protocol):  # AccessService
    """Reads, and one conditional write that may lose; raises nothing."""

    def load_access(self, org_id: str, user_id: str) -> tuple[Organization | None, Member | None]:
        """The live organization and the caller's membership, in one read."""

    def touch_member(self, org_id: str, user_id: str, now: datetime, stale_before: datetime) -> None:
        """Set last_active_at = now unless it is already after `stale_before` (or the
        member is gone)."""

    def get(self, org_id: str) -> Organization | None:
        """None for a deleted organization too."""


class OrganizationStore(Protocol):  # OrganizationService
    """The organization's own record and its life. `update` and `mark_deleted` raise
    NotFound for a missing or deleted organization, `organizations_page` ValidationFailed
    for a foreign cursor; the rest raise nothing."""

    def create(self, org: Organization, owner: Member, event: AuditEvent) -> None:
        """The organization, its owner's membership and the event, at once."""

    def update(self, org_id: str, changes: dict[str, object], event: AuditEvent) -> Organization:
        """Set `name`, `require_2fa` and `plan` from `changes`; answers the organization."""

    def mark_deleted(self, org_id: str, now: datetime, event: AuditEvent) -> None:
        """From this write on, every route of the organization answers 404 and no
        invitation can be accepted; the purge (ports/org_purge.py) then removes what it
        held, in the background."""

    def organizations_page(self, user_id: str, limit: int, cursor: str | None) -> Page[OrganizationMembership]:
        """The live organizations `user_id` belongs to, by organization id. Raises
        ValidationFailed for a cursor it did not give out."""

    def members_without_two_factor(self, org_id: str, limit: int) -> list[Member]:
        """At most `limit` members whose 2FA is off (the policy locks them out)."""


class MemberStore(Protocol):  # MemberService
    """Raises NotFound and OwnerProtected, as each method says; ValidationFailed for a
    foreign cursor."""

    def members_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Member]: ...

    def get_member(self, org_id: str, user_id: str) -> Member | None: ...

    def change_role(self, org_id: str, user_id: str, role: str, event: AuditEvent, by: str = "") -> Member:
        """Raises NotFound (organization, then member) or OwnerProtected (the owner's role
        changes only by a transfer). With `by` (the user making the change; ignored
        when it is `user_id`), the change commits only while `by` still holds a role that manages
        members: else NotFound when `by` is no longer a member, Forbidden when their role
        no longer allows it (a demotion or removal of `by` that committed first)."""

    def remove_member(self, org_id: str, user_id: str, event: AuditEvent, by: str = "") -> None:
        """Raises NotFound (organization, then member) or OwnerProtected; with `by`, as
        change_role."""

    def transfer_ownership(self, org_id: str, from_user: str, to_user: str, event: AuditEvent) -> None:
        """`from_user` becomes an admin and `to_user` the owner, at once. Raises NotFound
        when `to_user` is not a member, for a transfer to oneself, or when the
        organization is gone; OwnerProtected when `from_user` is not the owner."""


class UserMemberships(Protocol):  # AccountService
    """A person's memberships across organizations; raises nothing."""

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        """Every live organization `user_id` belongs to, by organization id: the account
        (`GET /me`) shows them all, unpaged."""

    def rename_member(self, user_id: str, name: str) -> None:
        """Memberships keep a copy of the member's name (a page of members is one Query);
        a membership that ended meanwhile is skipped."""


class MemberRoster(Protocol):  # AccessReviewService
    """Raises nothing."""

    def all_members(self, org_id: str) -> list[Member]:
        """Every member, unpaged: the review judges the organization as a whole."""
