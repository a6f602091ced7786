"""Organizations and their members. The one-owner rule lives in the conditions here:
the owner's membership is never updated or deleted except by a transfer, which moves
`owner_id` and both roles in one transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.batch import batch_get, typed
from kuploy_access.adapters.dynamodb.conditions import absent, live_org, member_not_owner, present, update_if
from kuploy_access.adapters.dynamodb.keys import (
    MEMBER_SK_PREFIX,
    ORG_PK_PREFIX,
    ORG_SK,
    member_sk,
    org_pk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.models import (
    MembershipItem,
    OrganizationItem,
    member_ref,
    org_ref,
)
from kuploy_access.adapters.dynamodb.query_pages import ByIndex, query_page
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import Forbidden, NotFound, OwnerProtected
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import Role, roles_that_manage_members
from kuploy_access.domain.users import OrganizationMembership

_BATCH_GET_LIMIT = 100


def organization_of(item: OrganizationItem) -> Organization:
    return Organization(
        id=str(item.org_id),
        name=str(item.name),
        plan=str(item.plan or "free"),
        require_2fa=bool(item.require_2fa),
        owner_id=str(item.owner_id),
        created_at=item.created_at,
        created_by=str(item.created_by or ""),
        member_count=int(item.member_count or 0),
        deleted_at=item.deleted_at,
    )


def member_of(item: MembershipItem) -> Member:
    return Member(
        org_id=str(item.org_id),
        user_id=str(item.user_id),
        role=str(item.role),
        email=str(item.email or ""),
        name=str(item.name or ""),
        joined_at=item.joined_at,
        two_factor_enabled=bool(item.two_factor_enabled),
        last_active_at=item.last_active_at,
    )


def membership_item(member: Member) -> MembershipItem:
    return MembershipItem(
        pk=org_pk(member.org_id),
        sk=member_sk(member.user_id),
        org_id=member.org_id,
        user_id=member.user_id,
        role=member.role,
        email=member.email,
        name=member.name,
        two_factor_enabled=member.two_factor_enabled,
        joined_at=member.joined_at,
        last_active_at=member.last_active_at,
        # The index answers "the organizations of an account".
        gsi1pk=user_pk(member.user_id),
        gsi1sk=org_pk(member.org_id),
    )


def _still_managing(transaction: Transaction, org_id: str, user_id: str, by: str) -> Transaction:
    """With `by` (someone other than `user_id`): the write commits only while `by` holds
    a role that manages members. A change that took that right away (a demotion, a
    removal) and committed first wins; every order of the two requests, one after the
    other, would refuse the second. A change to oneself needs no such check."""
    if by and by != user_id:
        transaction.check("author", member_ref(org_id, by), MembershipItem.role.is_in(*roles_that_manage_members()))
    return transaction


def _is_deleted(item: OrganizationItem) -> bool:
    deleted_at: datetime | None = item.deleted_at
    return deleted_at is not None


# An account's memberships, in the index (keys.py: gsi1pk user_pk, gsi1sk org_pk).
_BY_USER = ByIndex(MembershipItem.by_user)


def _with_live_organizations(memberships: list[MembershipItem]) -> list[OrganizationMembership]:
    """Each membership with its organization's name and plan (BatchGetItem), in the same
    order, leaving out the organizations that are gone or deleted (strongly consistent:
    a deleted organization's memberships stay until its purge reaches them)."""
    orgs: dict[str, OrganizationItem] = {}
    keys = [(org_pk(m.org_id), ORG_SK) for m in memberships]
    for start in range(0, len(keys), _BATCH_GET_LIMIT):
        for item in OrganizationItem.batch_get(keys[start : start + _BATCH_GET_LIMIT], consistent_read=True):
            orgs[item.org_id] = item
    return [
        OrganizationMembership(
            org_id=m.org_id, org_name=orgs[m.org_id].name, role=m.role, plan=orgs[m.org_id].plan or "free"
        )
        for m in memberships
        if m.org_id in orgs and not _is_deleted(orgs[m.org_id])
    ]


class DynamoOrganizationRepository:
    def create(self, org: Organization, owner: Member, event: AuditEvent) -> None:
        profile = OrganizationItem(
            pk=org_pk(org.id),
            sk=ORG_SK,
            org_id=org.id,
            name=org.name,
            plan=org.plan,
            require_2fa=org.require_2fa,
            owner_id=org.owner_id,
            created_at=org.created_at,
            created_by=org.created_by,
            member_count=1,
        )
        (
            Transaction()
            .put("org", profile, condition=absent())
            .put("owner", membership_item(owner), condition=absent())
            .put("audit", audit_item(event))
            .commit()
        )

    def load_access(self, org_id: str, user_id: str) -> tuple[Organization | None, Member | None]:
        """The organization and the caller's membership, in one BatchGetItem. Strongly
        consistent: from the moment a deletion (or a removal) is written, no request sees
        the organization, although what it held is removed only later."""
        org_at, member_at = (org_pk(org_id), ORG_SK), (org_pk(org_id), member_sk(user_id))
        found = batch_get({org_at: OrganizationItem, member_at: MembershipItem}, consistent=True)
        org_item = typed(found, org_at, OrganizationItem)
        member_item = typed(found, member_at, MembershipItem)
        if org_item is None or _is_deleted(org_item):
            return None, None
        return organization_of(org_item), member_of(member_item) if member_item is not None else None

    def touch_member(self, org_id: str, user_id: str, now: datetime, stale_before: datetime) -> None:
        """Record activity, unless another request did within the resolution already."""
        update_if(
            member_ref(org_id, user_id),
            [MembershipItem.last_active_at.set(now)],
            present()
            & (MembershipItem.last_active_at.does_not_exist() | (MembershipItem.last_active_at <= stale_before)),
        )

    def get(self, org_id: str) -> Organization | None:
        try:
            # Strongly consistent, as load_access: an API key's request after a deletion.
            item = OrganizationItem.get(org_pk(org_id), ORG_SK, consistent_read=True)
        except OrganizationItem.DoesNotExist:
            return None
        return None if _is_deleted(item) else organization_of(item)

    def update(self, org_id: str, changes: dict[str, object], event: AuditEvent) -> Organization:
        actions: list[Action] = []
        if "name" in changes:
            actions.append(OrganizationItem.name.set(str(changes["name"])))
        if "require_2fa" in changes:
            actions.append(OrganizationItem.require_2fa.set(bool(changes["require_2fa"])))
        if "plan" in changes:
            actions.append(OrganizationItem.plan.set(str(changes["plan"])))
        try:
            Transaction().update("org", org_ref(org_id), actions, live_org()).put("audit", audit_item(event)).commit()
        except ConditionFailed:
            raise NotFound("No such organization") from None
        org = self.get(org_id)
        if org is None:
            raise NotFound("No such organization")
        return org

    def mark_deleted(self, org_id: str, now: datetime, event: AuditEvent) -> None:
        """From this write on, every route of the organization answers 404 and no
        invitation can be accepted. The change is the table stream's cue for the purge
        (adapters/dynamodb/org_purge.py), which removes what it held in the background."""
        try:
            (
                Transaction()
                .update("org", org_ref(org_id), [OrganizationItem.deleted_at.set(now)], live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("No such organization") from None

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        return _with_live_organizations(
            list(MembershipItem.by_user.query(user_pk(user_id), MembershipItem.gsi1sk.startswith(ORG_PK_PREFIX)))
        )

    def organizations_page(self, user_id: str, limit: int, cursor: str | None) -> Page[OrganizationMembership]:
        """By organization id (the membership's index sort key): one Query and one
        BatchGetItem. A deleted organization that its purge has not reached yet still has
        the membership: it is passed over, and the page topped up by the next Query."""
        found: list[OrganizationMembership] = []
        while True:
            wanted = limit - len(found)
            page = query_page(MembershipItem, user_pk(user_id), ORG_PK_PREFIX, wanted, cursor, by_index=_BY_USER)
            found += _with_live_organizations(page.items)
            if page.next_cursor is None or len(found) == limit:
                return Page(found, page.next_cursor)
            cursor = page.next_cursor

    def rename_member(self, user_id: str, name: str) -> None:
        """Refresh the copy of a renamed account's name in each of its memberships (one
        that left the organization meanwhile is passed over)."""
        for membership in MembershipItem.by_user.query(
            user_pk(user_id), MembershipItem.gsi1sk.startswith(ORG_PK_PREFIX)
        ):
            update_if(member_ref(membership.org_id, user_id), [MembershipItem.name.set(name)], present())

    def members_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Member]:
        page = query_page(MembershipItem, org_pk(org_id), MEMBER_SK_PREFIX, limit, cursor)
        return Page([member_of(item) for item in page.items], page.next_cursor)

    def members_without_two_factor(self, org_id: str, limit: int) -> list[Member]:
        found = MembershipItem.query(
            org_pk(org_id),
            MembershipItem.sk.startswith(MEMBER_SK_PREFIX),
            filter_condition=MembershipItem.two_factor_enabled == False,  # noqa: E712
        )
        members: list[Member] = []
        for item in found:
            members.append(member_of(item))
            if len(members) >= limit:
                break
        return members

    def all_members(self, org_id: str) -> list[Member]:
        return [
            member_of(item)
            for item in MembershipItem.query(org_pk(org_id), MembershipItem.sk.startswith(MEMBER_SK_PREFIX))
        ]

    def get_member(self, org_id: str, user_id: str) -> Member | None:
        try:
            return member_of(MembershipItem.get(org_pk(org_id), member_sk(user_id)))
        except MembershipItem.DoesNotExist:
            return None

    def change_role(self, org_id: str, user_id: str, role: str, event: AuditEvent, by: str = "") -> Member:
        before = self.get_member(org_id, user_id)
        if before is None:
            raise NotFound("No such member")
        transaction = (
            Transaction()
            # The owner is never demoted here, even by a request that read the role a
            # moment before a transfer made this person the owner.
            .update("member", member_ref(org_id, user_id), [MembershipItem.role.set(role)], member_not_owner())
            .check("org", org_ref(org_id), live_org())
        )
        try:
            _still_managing(transaction, org_id, user_id, by).put("audit", audit_item(event)).commit()
        except ConditionFailed as failed:
            self._explain(org_id, user_id, failed, by)
        # Answered from what was written: a removal right after the commit must not
        # turn a change that happened into a 404.
        return replace(before, role=role)

    def remove_member(self, org_id: str, user_id: str, event: AuditEvent, by: str = "") -> None:
        transaction = (
            Transaction()
            .delete("member", member_ref(org_id, user_id), condition=member_not_owner())
            .update("org", org_ref(org_id), [OrganizationItem.member_count.add(-1)], live_org())
        )
        try:
            _still_managing(transaction, org_id, user_id, by).put("audit", audit_item(event)).commit()
        except ConditionFailed as failed:
            self._explain(org_id, user_id, failed, by)

    def transfer_ownership(self, org_id: str, from_user: str, to_user: str, event: AuditEvent) -> None:
        try:
            (
                Transaction()
                .update(
                    "org",
                    org_ref(org_id),
                    [OrganizationItem.owner_id.set(to_user)],
                    live_org() & (OrganizationItem.owner_id == from_user),
                )
                .update(
                    "old_owner",
                    member_ref(org_id, from_user),
                    [MembershipItem.role.set(Role.ADMIN.value)],
                    MembershipItem.role == Role.OWNER.value,
                )
                .update(
                    "new_owner",
                    member_ref(org_id, to_user),
                    [MembershipItem.role.set(Role.OWNER.value)],
                    member_not_owner(),
                )
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed as failed:
            if "new_owner" in failed.labels and self.get_member(org_id, to_user) is None:
                raise NotFound("That person is not a member of this organization") from None
            if failed.labels & {"org", "old_owner"} and self.get(org_id) is not None:
                raise OwnerProtected("Only the current owner can transfer ownership") from None
            raise NotFound("No such organization") from None

    def _explain(self, org_id: str, user_id: str, failed: ConditionFailed, by: str = "") -> None:
        if "org" in failed.labels:
            raise NotFound("No such organization") from None
        target = self.get_member(org_id, user_id)
        if target is None:
            raise NotFound("No such member") from None
        if target.role == Role.OWNER.value or "author" not in failed.labels:
            raise OwnerProtected() from None
        # As the permission check answers: a non-member learns nothing of the organization.
        if self.get_member(org_id, by) is None:
            raise NotFound("No such organization") from None
        raise Forbidden("Your role here no longer allows managing members") from None
