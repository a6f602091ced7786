"""Invitations. Each lives twice: in its organization's partition (listed, revoked,
resent by id) and under its token's hash (the emailed link answers with one GetItem).
An invitee guard keeps one pending invitation per address and organization, and the
token copy's status makes acceptance single-use."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from pynamodb.expressions.condition import Condition

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.batch import batch_get, typed
from kuploy_access.adapters.dynamodb.conditions import absent, live_org
from kuploy_access.adapters.dynamodb.keys import (
    INVITATION_LINK_SK,
    INVITATION_SK_PREFIX,
    ORG_SK,
    PROFILE_SK,
    invitation_link_pk,
    invitation_sk,
    invitee_gsi1pk,
    invitee_sk,
    org_pk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.models import (
    InvitationItem,
    InviteeGuardItem,
    MembershipItem,
    OrganizationItem,
    UserItem,
    member_ref,
    org_ref,
)
from kuploy_access.adapters.dynamodb.organizations import membership_item
from kuploy_access.adapters.dynamodb.query_pages import ByIndex, query_page
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.adapters.dynamodb.users import user_of
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import (
    AlreadyInvited,
    AlreadyMember,
    Conflict,
    Forbidden,
    InvitationUsed,
    NotFound,
)
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import roles_that_may_invite
from kuploy_access.domain.users import User

# Expired and answered invitations stay a while for the access review, then TTL ends them.
_KEEP_AFTER_EXPIRY = timedelta(days=30)

# A revocation follows each resend that commits between its read and its write (and
# steps back from a guard a newer invitation holds, once): more than a person clicking
# "resend" can fit into that moment.
REVOKE_ATTEMPTS = 4


def _invitation(item: InvitationItem) -> Invitation:
    return Invitation(
        id=item.invitation_id,
        org_id=item.org_id,
        org_name=item.org_name,
        email=item.email,
        role=item.role,
        invited_by=item.invited_by,
        inviter_name=item.inviter_name or "",
        status=item.status,
        token_hash=item.token_hash,
        created_at=item.created_at,
        expires_at=item.expires_at,
    )


def _items(invitation: Invitation) -> tuple[InvitationItem, InvitationItem]:
    """The organization's record (indexed by invitee) and the token's copy."""
    fields: dict[str, Any] = {
        "invitation_id": invitation.id,
        "org_id": invitation.org_id,
        "org_name": invitation.org_name,
        "email": invitation.email,
        "role": invitation.role,
        "invited_by": invitation.invited_by,
        "inviter_name": invitation.inviter_name,
        "status": invitation.status,
        "token_hash": invitation.token_hash,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "expires_at_epoch": invitation.expires_at + _KEEP_AFTER_EXPIRY,
    }
    record = InvitationItem(
        pk=org_pk(invitation.org_id),
        sk=invitation_sk(invitation.id),
        gsi1pk=invitee_gsi1pk(invitation.email),
        gsi1sk=invitation_sk(invitation.id),
        **fields,
    )
    token = InvitationItem(pk=invitation_link_pk(invitation.token_hash), sk=INVITATION_LINK_SK, **fields)
    return record, token


def _record_ref(invitation: Invitation) -> InvitationItem:
    return InvitationItem(pk=org_pk(invitation.org_id), sk=invitation_sk(invitation.id))


def _token_ref(token_hash: str) -> InvitationItem:
    return InvitationItem(pk=invitation_link_pk(token_hash), sk=INVITATION_LINK_SK)


def _guard(invitation: Invitation) -> InviteeGuardItem:
    # The guard outlives the invitation's expiry as long as the invitation's own record
    # does, so that revoking or resending an expired invitation still finds it.
    return InviteeGuardItem(
        pk=org_pk(invitation.org_id),
        sk=invitee_sk(invitation.email),
        invitation_id=invitation.id,
        expires_at=invitation.expires_at,
        expires_at_epoch=invitation.expires_at + _KEEP_AFTER_EXPIRY,
    )


def _guard_ref(invitation: Invitation) -> InviteeGuardItem:
    return InviteeGuardItem(pk=org_pk(invitation.org_id), sk=invitee_sk(invitation.email))


def _guard_held_by(invitation: Invitation) -> Condition:
    condition: Condition = InviteeGuardItem.invitation_id == invitation.id
    return condition


# An address's invitations, in the index (keys.py: gsi1pk invitee_gsi1pk, gsi1sk invitation_sk).
_BY_INVITEE = ByIndex(InvitationItem.by_invitee)


def _of_live_orgs(items: list[InvitationItem]) -> list[InvitationItem]:
    """Those whose organization is live. A deleted organization's invitations stay until
    its purge (running in the background) reaches them, and answer nothing meanwhile.
    One strongly consistent BatchGetItem of the organizations, none for no invitation."""
    org_ids = {item.org_id for item in items}
    live: set[str] = set()
    keys = [(org_pk(org_id), ORG_SK) for org_id in sorted(org_ids)]
    for start in range(0, len(keys), 100):
        for org in OrganizationItem.batch_get(keys[start : start + 100], consistent_read=True):
            deleted_at: datetime | None = org.deleted_at
            if deleted_at is None:
                live.add(org.org_id)
    return [item for item in items if item.org_id in live]


def _answerable(now: datetime) -> Condition:
    """Single use: of two answers at the same instant, one finds it pending."""
    condition: Condition = (InvitationItem.status == InvitationStatus.PENDING.value) & (InvitationItem.expires_at > now)
    return condition


class DynamoInvitationRepository:
    def create(self, invitation: Invitation, invitee_user_id: str | None, now: datetime, event: AuditEvent) -> None:
        if invitee_user_id == invitation.invited_by:
            raise AlreadyMember()
        record, token = _items(invitation)
        transaction = (
            Transaction()
            .check("org", org_ref(invitation.org_id), live_org())
            # The inviter still holds a role that may send this invitation. A role change
            # revokes the pending invitations its new role could not send; this condition
            # refuses one that was on its way while the role changed.
            .check(
                "inviter",
                member_ref(invitation.org_id, invitation.invited_by),
                MembershipItem.role.is_in(*roles_that_may_invite(invitation.role)),
            )
        )
        if invitee_user_id:
            transaction.check("member", member_ref(invitation.org_id, invitee_user_id), absent())
        try:
            (
                transaction
                # One pending invitation per address: the guard may only be replaced once
                # the invitation it names has expired.
                .put("guard", _guard(invitation), condition=absent() | (InviteeGuardItem.expires_at <= now))
                .put("record", record, condition=absent())
                .put("token", token, condition=absent())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed as failed:
            if "org" in failed.labels:
                raise NotFound("No such organization") from None
            if "inviter" in failed.labels:
                raise Forbidden(f"Your role here no longer allows inviting as {invitation.role}") from None
            if "member" in failed.labels:
                raise AlreadyMember() from None
            raise AlreadyInvited() from None

    def by_token(self, token_hash: str) -> Invitation | None:
        """The link's invitation, while its organization is live (the invitation page
        shows the organization; answering is guarded by the transactions instead)."""
        try:
            token = InvitationItem.get(invitation_link_pk(token_hash), INVITATION_LINK_SK)
        except InvitationItem.DoesNotExist:
            return None
        return next((_invitation(live) for live in _of_live_orgs([token])), None)

    def by_token_for(self, token_hash: str, user_id: str) -> tuple[Invitation | None, User | None]:
        """The invitation behind a link and the account answering it, in one BatchGetItem."""
        token_at, user_at = (invitation_link_pk(token_hash), INVITATION_LINK_SK), (user_pk(user_id), PROFILE_SK)
        found = batch_get({token_at: InvitationItem, user_at: UserItem})
        token = typed(found, token_at, InvitationItem)
        account = typed(found, user_at, UserItem)
        return (
            _invitation(token) if token is not None else None,
            user_of(account) if account is not None else None,
        )

    def get(self, org_id: str, invitation_id: str) -> Invitation | None:
        try:
            return _invitation(InvitationItem.get(org_pk(org_id), invitation_sk(invitation_id)))
        except InvitationItem.DoesNotExist:
            return None

    def of_org(self, org_id: str) -> list[Invitation]:
        return [
            _invitation(item)
            for item in InvitationItem.query(org_pk(org_id), InvitationItem.sk.startswith(INVITATION_SK_PREFIX))
        ]

    def pending_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Invitation]:
        """The pending ones (expired too) by id: one Query, filtered on the status."""
        page = query_page(
            InvitationItem,
            org_pk(org_id),
            INVITATION_SK_PREFIX,
            limit,
            cursor,
            filter_condition=InvitationItem.status == InvitationStatus.PENDING.value,
        )
        return Page([_invitation(item) for item in page.items], page.next_cursor)

    def pending_from(self, org_id: str, inviter_id: str) -> list[Invitation]:
        return [
            _invitation(item)
            for item in InvitationItem.query(
                org_pk(org_id),
                InvitationItem.sk.startswith(INVITATION_SK_PREFIX),
                filter_condition=(InvitationItem.invited_by == inviter_id)
                & (InvitationItem.status == InvitationStatus.PENDING.value),
                # Strongly consistent: an invitation written just before the role change
                # that calls this must be in the answer.
                consistent_read=True,
            )
        ]

    def pending_to_page(self, email: str, now: datetime, limit: int, cursor: str | None) -> Page[Invitation]:
        """The address's invitations still open (pending and unexpired), in every
        organization, by id: one Query of the invitee index, filtered."""
        page = query_page(
            InvitationItem,
            invitee_gsi1pk(email),
            INVITATION_SK_PREFIX,
            limit,
            cursor,
            filter_condition=_answerable(now),
            by_index=_BY_INVITEE,
        )
        return Page([_invitation(item) for item in _of_live_orgs(page.items)], page.next_cursor)

    def sent_to(self, email: str, invitation_id: str) -> Invitation | None:
        for item in InvitationItem.by_invitee.query(
            invitee_gsi1pk(email), InvitationItem.gsi1sk == invitation_sk(invitation_id)
        ):
            return _invitation(item)
        return None

    def accept(self, invitation: Invitation, member: Member, now: datetime, event: AuditEvent) -> None:
        accepted = InvitationItem.status.set(InvitationStatus.ACCEPTED.value)
        try:
            (
                Transaction()
                .update("token", _token_ref(invitation.token_hash), [accepted], _answerable(now))
                .update("record", _record_ref(invitation), [accepted])
                .put("member", membership_item(member), condition=absent())
                .update("org", org_ref(invitation.org_id), [OrganizationItem.member_count.add(1)], live_org())
                .delete("guard", _guard_ref(invitation), condition=_guard_held_by(invitation))
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed as failed:
            self._explain(failed)

    def decline(self, invitation: Invitation, now: datetime, event: AuditEvent) -> None:
        declined = InvitationItem.status.set(InvitationStatus.DECLINED.value)
        try:
            (
                Transaction()
                .update("token", _token_ref(invitation.token_hash), [declined], _answerable(now))
                .update("record", _record_ref(invitation), [declined])
                .delete("guard", _guard_ref(invitation), condition=_guard_held_by(invitation))
                # A deleted organization's invitations are not answered, also while its
                # purge (in the background) has not reached them.
                .check("org", org_ref(invitation.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed as failed:
            self._explain(failed)

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None:
        """Ends the link the record holds when the revocation commits. The caller's copy
        may have been read before a resend committed: the record then holds a newer link
        than the copy names, so the transaction (which ends a link only while the record
        still holds it) is refused, and the record is read again and its link ended."""
        release_guard = True
        for _ in range(REVOKE_ATTEMPTS):
            try:
                self._revoke(invitation, event, release_guard)
                return
            except ConditionFailed as failed:
                if "org" in failed.labels:
                    raise NotFound("No such pending invitation") from None
                if "record" in failed.labels:
                    invitation = self._pending_record(invitation)
                    release_guard = True  # the record changed: decide about the guard again
                else:
                    # Only the guard: an expired invitation whose guard a newer one holds now.
                    release_guard = False
        raise Conflict("The invitation was resent while it was being revoked; try again")

    @staticmethod
    def _pending_record(invitation: Invitation) -> Invitation:
        """The organization's record as it is now; NotFound once it is not pending."""
        try:
            record = _invitation(
                InvitationItem.get(org_pk(invitation.org_id), invitation_sk(invitation.id), consistent_read=True)
            )
        except InvitationItem.DoesNotExist:
            raise NotFound("No such pending invitation") from None
        if record.status != InvitationStatus.PENDING.value:
            raise NotFound("No such pending invitation")
        return record

    def _revoke(self, invitation: Invitation, event: AuditEvent, release_guard: bool) -> None:
        transaction = (
            Transaction()
            .update(
                "record",
                _record_ref(invitation),
                [InvitationItem.status.set(InvitationStatus.REVOKED.value)],
                (InvitationItem.status == InvitationStatus.PENDING.value)
                & (InvitationItem.token_hash == invitation.token_hash),
            )
            # The link stops working: its copy is gone, so it answers 404 like any unknown one.
            .delete("token", _token_ref(invitation.token_hash))
        )
        if release_guard:
            transaction.delete("guard", _guard_ref(invitation), condition=_guard_held_by(invitation))
        transaction.check("org", org_ref(invitation.org_id), live_org()).put("audit", audit_item(event)).commit()

    def resend(self, invitation: Invitation, token_hash: str, expires_at: datetime, event: AuditEvent) -> Invitation:
        renewed = replace(invitation, token_hash=token_hash, expires_at=expires_at)
        record, token = _items(renewed)
        try:
            (
                Transaction()
                .put(
                    "record",
                    record,
                    condition=(InvitationItem.status == InvitationStatus.PENDING.value)
                    & (InvitationItem.token_hash == invitation.token_hash),
                )
                .delete("old_token", _token_ref(invitation.token_hash))
                .put("token", token, condition=absent())
                .put("guard", _guard(renewed), condition=absent() | _guard_held_by(invitation))
                .check("org", org_ref(invitation.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed as failed:
            if failed.labels == {"guard"}:
                raise AlreadyInvited("A newer invitation to this address is pending") from None
            raise NotFound("No such pending invitation") from None
        return renewed

    @staticmethod
    def _explain(failed: ConditionFailed) -> None:
        if "org" in failed.labels:
            raise NotFound("No such organization") from None
        if "token" in failed.labels:
            raise InvitationUsed() from None
        if "member" in failed.labels:
            raise AlreadyMember() from None
        raise InvitationUsed() from None
