"""Invitations. Each lives twice: in its organization's partition (listed, revoked,
resent by id) and under its token's hash (the emailed link answers with one GetItem).
An invitee guard keeps one pending invitation per address and organization, and the
token copy's status makes acceptance single-use."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.batch import batch_get, typed
from kuploy_access.adapters.dynamodb.models import (
    InvitationItem,
    InviteeGuardItem,
    MembershipItem,
    OrganizationItem,
    UserItem,
    member_sk,
    org_key,
    user_key,
)
from kuploy_access.adapters.dynamodb.organizations import (
    INVITATION_PREFIX,
    TOKEN_SK,
    live_org_condition,
    membership_item,
    org_ref,
    token_key,
)
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.adapters.dynamodb.users import PROFILE, user_of
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import AlreadyInvited, AlreadyMember, Forbidden, InvitationUsed, NotFound
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.permissions import roles_that_may_invite
from kuploy_access.domain.users import User

# Expired and answered invitations stay a while for the access review, then TTL ends them.
_KEEP_AFTER_EXPIRY = timedelta(days=30)


def _invitee_key(email: str) -> str:
    return f"INVITEE#{email}"


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
        pk=org_key(invitation.org_id),
        sk=f"{INVITATION_PREFIX}{invitation.id}",
        gsi1pk=_invitee_key(invitation.email),
        gsi1sk=f"{INVITATION_PREFIX}{invitation.id}",
        **fields,
    )
    token = InvitationItem(pk=token_key(invitation.token_hash), sk=TOKEN_SK, **fields)
    return record, token


def _record_ref(invitation: Invitation) -> InvitationItem:
    return InvitationItem(pk=org_key(invitation.org_id), sk=f"{INVITATION_PREFIX}{invitation.id}")


def _token_ref(token_hash: str) -> InvitationItem:
    return InvitationItem(pk=token_key(token_hash), sk=TOKEN_SK)


def _guard(invitation: Invitation) -> InviteeGuardItem:
    # The guard outlives the invitation's expiry as long as the invitation's own record
    # does, so that revoking or resending an expired invitation still finds it.
    return InviteeGuardItem(
        pk=org_key(invitation.org_id),
        sk=_invitee_key(invitation.email),
        invitation_id=invitation.id,
        expires_at=invitation.expires_at,
        expires_at_epoch=invitation.expires_at + _KEEP_AFTER_EXPIRY,
    )


def _guard_ref(invitation: Invitation) -> InviteeGuardItem:
    return InviteeGuardItem(pk=org_key(invitation.org_id), sk=_invitee_key(invitation.email))


class DynamoInvitationRepository:
    def create(self, invitation: Invitation, invitee_user_id: str | None, now: datetime, event: AuditEvent) -> None:
        if invitee_user_id == invitation.invited_by:
            raise AlreadyMember()
        record, token = _items(invitation)
        transaction = Transaction()
        transaction.check("org", OrganizationItem, org_key(invitation.org_id), "ORG", live_org_condition())
        # The inviter still holds a role that may send this invitation. A role change
        # revokes the pending invitations its new role could not send; this condition
        # refuses one that was on its way while the role changed.
        transaction.check(
            "inviter",
            MembershipItem,
            org_key(invitation.org_id),
            member_sk(invitation.invited_by),
            MembershipItem.role.is_in(*roles_that_may_invite(invitation.role)),
        )
        if invitee_user_id:
            transaction.check(
                "member",
                MembershipItem,
                org_key(invitation.org_id),
                member_sk(invitee_user_id),
                MembershipItem.pk.does_not_exist(),
            )
        # One pending invitation per address: the guard may only be replaced once the
        # invitation it names has expired.
        transaction.put(
            "guard",
            _guard(invitation),
            condition=InviteeGuardItem.pk.does_not_exist() | (InviteeGuardItem.expires_at <= now),
        )
        transaction.put("record", record, condition=InvitationItem.pk.does_not_exist())
        transaction.put("token", token, condition=InvitationItem.pk.does_not_exist())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed as failed:
            if "org" in failed.labels:
                raise NotFound("No such organization") from None
            if "inviter" in failed.labels:
                raise Forbidden(f"Your role here no longer allows inviting as {invitation.role}") from None
            if "member" in failed.labels:
                raise AlreadyMember() from None
            raise AlreadyInvited() from None

    def by_token(self, token_hash: str) -> Invitation | None:
        try:
            return _invitation(InvitationItem.get(token_key(token_hash), TOKEN_SK))
        except InvitationItem.DoesNotExist:
            return None

    def by_token_for(self, token_hash: str, user_id: str) -> tuple[Invitation | None, User | None]:
        """The invitation behind a link and the account answering it, in one BatchGetItem."""
        token_at, user_at = (token_key(token_hash), TOKEN_SK), (user_key(user_id), PROFILE)
        found = batch_get({token_at: InvitationItem, user_at: UserItem})
        token = typed(found, token_at, InvitationItem)
        account = typed(found, user_at, UserItem)
        return (
            _invitation(token) if token is not None else None,
            user_of(account) if account is not None else None,
        )

    def get(self, org_id: str, invitation_id: str) -> Invitation | None:
        try:
            return _invitation(InvitationItem.get(org_key(org_id), f"{INVITATION_PREFIX}{invitation_id}"))
        except InvitationItem.DoesNotExist:
            return None

    def of_org(self, org_id: str) -> list[Invitation]:
        return [
            _invitation(item)
            for item in InvitationItem.query(org_key(org_id), InvitationItem.sk.startswith(INVITATION_PREFIX))
        ]

    def pending_from(self, org_id: str, inviter_id: str) -> list[Invitation]:
        return [
            _invitation(item)
            for item in InvitationItem.query(
                org_key(org_id),
                InvitationItem.sk.startswith(INVITATION_PREFIX),
                filter_condition=(InvitationItem.invited_by == inviter_id)
                & (InvitationItem.status == InvitationStatus.PENDING.value),
                # Strongly consistent: an invitation written just before the role change
                # that calls this must be in the answer.
                consistent_read=True,
            )
        ]

    def for_email(self, email: str) -> list[Invitation]:
        return [
            _invitation(item)
            for item in InvitationItem.by_invitee.query(
                _invitee_key(email), InvitationItem.gsi1sk.startswith(INVITATION_PREFIX)
            )
        ]

    def accept(self, invitation: Invitation, member: Member, now: datetime, event: AuditEvent) -> None:
        transaction = Transaction()
        transaction.update(
            "token",
            _token_ref(invitation.token_hash),
            [InvitationItem.status.set(InvitationStatus.ACCEPTED.value)],
            # Single use: of two accepts at the same instant, one finds it pending.
            condition=(InvitationItem.status == InvitationStatus.PENDING.value) & (InvitationItem.expires_at > now),
        )
        transaction.update(
            "record", _record_ref(invitation), [InvitationItem.status.set(InvitationStatus.ACCEPTED.value)]
        )
        transaction.put("member", membership_item(member), condition=MembershipItem.pk.does_not_exist())
        transaction.update(
            "org", org_ref(invitation.org_id), [OrganizationItem.member_count.add(1)], condition=live_org_condition()
        )
        transaction.delete("guard", _guard_ref(invitation), condition=InviteeGuardItem.invitation_id == invitation.id)
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed as failed:
            self._explain(failed)

    def decline(self, invitation: Invitation, now: datetime, event: AuditEvent) -> None:
        transaction = Transaction()
        transaction.update(
            "token",
            _token_ref(invitation.token_hash),
            [InvitationItem.status.set(InvitationStatus.DECLINED.value)],
            condition=(InvitationItem.status == InvitationStatus.PENDING.value) & (InvitationItem.expires_at > now),
        )
        transaction.update(
            "record", _record_ref(invitation), [InvitationItem.status.set(InvitationStatus.DECLINED.value)]
        )
        transaction.delete("guard", _guard_ref(invitation), condition=InviteeGuardItem.invitation_id == invitation.id)
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed as failed:
            self._explain(failed)

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None:
        try:
            self._revoke(invitation, event, release_guard=True)
        except ConditionFailed as failed:
            if failed.labels != {"guard"}:
                raise NotFound("No such pending invitation") from None
            # An expired invitation whose guard a newer invitation holds now.
            try:
                self._revoke(invitation, event, release_guard=False)
            except ConditionFailed:
                raise NotFound("No such pending invitation") from None

    def _revoke(self, invitation: Invitation, event: AuditEvent, release_guard: bool) -> None:
        transaction = Transaction()
        transaction.update(
            "record",
            _record_ref(invitation),
            [InvitationItem.status.set(InvitationStatus.REVOKED.value)],
            condition=InvitationItem.status == InvitationStatus.PENDING.value,
        )
        # The link stops working: its copy is gone, so it answers 404 like any unknown one.
        transaction.delete("token", _token_ref(invitation.token_hash))
        if release_guard:
            transaction.delete(
                "guard", _guard_ref(invitation), condition=InviteeGuardItem.invitation_id == invitation.id
            )
        transaction.check("org", OrganizationItem, org_key(invitation.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        transaction.commit()

    def resend(self, invitation: Invitation, token_hash: str, expires_at: datetime, event: AuditEvent) -> Invitation:
        renewed = replace(invitation, token_hash=token_hash, expires_at=expires_at)
        record, token = _items(renewed)
        transaction = Transaction()
        transaction.put(
            "record",
            record,
            condition=(InvitationItem.status == InvitationStatus.PENDING.value)
            & (InvitationItem.token_hash == invitation.token_hash),
        )
        transaction.delete("old_token", _token_ref(invitation.token_hash))
        transaction.put("token", token, condition=InvitationItem.pk.does_not_exist())
        transaction.put(
            "guard",
            _guard(renewed),
            condition=InviteeGuardItem.pk.does_not_exist() | (InviteeGuardItem.invitation_id == invitation.id),
        )
        transaction.check("org", OrganizationItem, org_key(invitation.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
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
