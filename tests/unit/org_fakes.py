"""In-memory fakes of the organization ports, with the conditions of the DynamoDB adapters.

One `OrgStore` holds what the single table holds (organizations, memberships,
invitations and their token copies, invitee guards, resources, API keys, audit events);
each fake repository is a view on it, so a change by one is seen by the others, and every
change records its audit event in the same step, as the adapters' transactions do.

tests/contract runs the same suite on these and on the DynamoDB adapters: where a fake
answers differently (an exception, an order, a page), that suite fails.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

from kuploy_access.adapters.dynamodb.transactions import ConditionFailed
from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import (
    AlreadyInvited,
    AlreadyMember,
    Forbidden,
    InvitationUsed,
    NotFound,
    OwnerProtected,
)
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.org_purge import PURGE_STEP_ITEMS, OrganizationNotDeleted, PurgeStep
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import Role, roles_that_manage_members, roles_that_may_invite
from kuploy_access.domain.rate_limits import RateLimit
from kuploy_access.domain.resources import Resource, ResourceKind
from kuploy_access.domain.users import OrganizationMembership, User
from kuploy_access.services.access import AccessService
from kuploy_access.services.invitations import InvitationService
from kuploy_access.services.members import MemberService
from kuploy_access.services.org_purge import OrgPurgeService
from kuploy_access.services.organizations import OrganizationService
from kuploy_access.services.resources import ResourceService
from tests.unit.fakes import FakeAccountTrail, FakeRateLimiter, FakeUsers, keyset_page
from tests.unit.support import PUBLIC_BASE_URL, World


@dataclass
class OrgStore:
    orgs: dict[str, Organization] = field(default_factory=dict)
    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    invitations: dict[tuple[str, str], Invitation] = field(default_factory=dict)  # (org, id): the org's record
    tokens: dict[str, Invitation] = field(default_factory=dict)  # token hash: the link's copy
    guards: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)  # (org, email): (id, expiry)
    resources: dict[tuple[str, ResourceKind, str, str], Resource] = field(default_factory=dict)
    api_keys: dict[str, ApiKey] = field(default_factory=dict)  # key id: the key (one per secret hash)
    events: list[AuditEvent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def live(self, org_id: str) -> Organization | None:
        org = self.orgs.get(org_id)
        return org if org is not None and org.deleted_at is None else None

    def require_live(self, org_id: str) -> Organization:
        org = self.live(org_id)
        if org is None:
            raise NotFound("No such organization")
        return org

    def count_members(self, org_id: str, delta: int) -> None:
        org = self.orgs[org_id]
        self.orgs[org_id] = replace(org, member_count=org.member_count + delta)

    def record(self, event: AuditEvent) -> None:
        if any(e.id == event.id for e in self.events):
            raise RuntimeError("conditional check failed: audit events are never rewritten")
        self.events.append(event)

    def actions(self, org_id: str | None = None) -> list[str]:
        return [e.action for e in self.events if org_id is None or e.org_id == org_id]


class FakeOrganizations:
    """The ports of services/ports/organizations.py. The owner's membership changes only
    through a transfer."""

    def __init__(self, store: OrgStore) -> None:
        self.s = store
        self.touch_calls: list[tuple[str, str, datetime]] = []
        self.touch_writes = 0
        self.handovers: list[str] = []  # each purge run that passed an organization on
        self.handover_counts: dict[str, int] = {}  # the profile's purge_handovers

    def create(self, org: Organization, owner: Member, event: AuditEvent) -> None:
        with self.s.lock:
            failed = {"org"} if org.id in self.s.orgs else set()
            if (org.id, owner.user_id) in self.s.members:
                failed.add("owner")
            if failed:  # the adapter does not translate this one: ids are new
                raise ConditionFailed(failed)
            self.s.orgs[org.id] = replace(org, member_count=1)
            self.s.members[(org.id, owner.user_id)] = owner
            self.s.record(event)

    def load_access(self, org_id: str, user_id: str) -> tuple[Organization | None, Member | None]:
        org = self.s.live(org_id)
        return (None, None) if org is None else (org, self.s.members.get((org_id, user_id)))

    def touch_member(self, org_id: str, user_id: str, now: datetime, stale_before: datetime) -> None:
        self.touch_calls.append((org_id, user_id, now))
        member = self.s.members.get((org_id, user_id))
        if member is not None and (member.last_active_at is None or member.last_active_at <= stale_before):
            self.s.members[(org_id, user_id)] = replace(member, last_active_at=now)
            self.touch_writes += 1

    def get(self, org_id: str) -> Organization | None:
        return self.s.live(org_id)

    def update(self, org_id: str, changes: dict[str, object], event: AuditEvent) -> Organization:
        with self.s.lock:
            org = self.s.require_live(org_id)
            known = {k: v for k, v in changes.items() if k in ("name", "require_2fa", "plan")}
            self.s.orgs[org_id] = replace(org, **known)  # type: ignore[arg-type]
            self.s.record(event)
            return self.s.orgs[org_id]

    def mark_deleted(self, org_id: str, now: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            org = self.s.require_live(org_id)
            self.s.orgs[org_id] = replace(org, deleted_at=now)
            self.s.record(event)

    def purge_step(self, org_id: str, limit: int) -> PurgeStep:
        """The adapter's order: API keys, invitations with their links, the rest of the
        partition, the profile last; `limit` delete requests at most (two per invitation)."""
        with self.s.lock:
            org = self.s.orgs.get(org_id)
            if org is None:
                return PurgeStep(0, finished=True)
            if org.deleted_at is None:
                raise OrganizationNotDeleted(org_id)
            keys = [i for i, k in sorted(self.s.api_keys.items()) if k.org_id == org_id][:limit]
            if keys:
                for key_id in keys:
                    del self.s.api_keys[key_id]
                return PurgeStep(len(keys), finished=False)
            invitations = [k for k in sorted(self.s.invitations) if k[0] == org_id][: max(1, limit // 2)]
            if invitations:
                for key in invitations:
                    self.s.tokens.pop(self.s.invitations.pop(key).token_hash, None)
                return PurgeStep(2 * len(invitations), finished=False)
            tables: tuple[dict[Any, Any], ...] = (self.s.members, self.s.guards, self.s.resources)
            held = [(table, key) for table in tables for key in sorted(table, key=str) if key[0] == org_id][:limit]
            if held:
                for table, key in held:
                    del table[key]
                return PurgeStep(len(held), finished=False)
            del self.s.orgs[org_id]
            return PurgeStep(1, finished=True)

    def hand_over(self, org_id: str, handovers_seen: int | None) -> bool:
        """The adapter's condition: deleted, and the count still the record's."""
        with self.s.lock:
            org = self.s.orgs.get(org_id)
            if org is None or org.deleted_at is None or self.handover_counts.get(org_id) != handovers_seen:
                return False
            self.handover_counts[org_id] = (handovers_seen or 0) + 1
            self.handovers.append(org_id)
            return True

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        return [
            OrganizationMembership(org_id=org.id, org_name=org.name, role=m.role, plan=org.plan)
            for (org_id, uid), m in sorted(self.s.members.items())
            if uid == user_id and (org := self.s.live(org_id)) is not None
        ]

    def organizations_page(self, user_id: str, limit: int, cursor: str | None) -> Page[OrganizationMembership]:
        keyed = [(f"org:{m.org_id}", m) for m in self.organizations_of(user_id)]
        return keyset_page(keyed, "org:", limit, cursor)

    def rename_member(self, user_id: str, name: str) -> None:
        for key, member in list(self.s.members.items()):
            if member.user_id == user_id:
                self.s.members[key] = replace(member, name=name)

    def members_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Member]:
        keyed = [(f"member:{uid}", m) for (o, uid), m in self.s.members.items() if o == org_id]
        return keyset_page(keyed, "member:", limit, cursor)

    def members_without_two_factor(self, org_id: str, limit: int) -> list[Member]:
        return [m for m in self.all_members(org_id) if not m.two_factor_enabled][:limit]

    def get_member(self, org_id: str, user_id: str) -> Member | None:
        return self.s.members.get((org_id, user_id))

    def all_members(self, org_id: str) -> list[Member]:
        return [m for (o, _), m in sorted(self.s.members.items()) if o == org_id]

    def _changeable(self, org_id: str, user_id: str, by: str = "") -> Member:
        """The adapter's conditions and `_explain`: org first, then member, then owner,
        then the author's right to manage members."""
        self.s.require_live(org_id)
        member = self.s.members.get((org_id, user_id))
        if member is None:
            raise NotFound("No such member")
        if member.role == Role.OWNER:
            raise OwnerProtected()
        if by and by != user_id:
            author = self.s.members.get((org_id, by))
            if author is None:
                raise NotFound("No such organization")
            if author.role not in roles_that_manage_members():
                raise Forbidden("Your role here no longer allows managing members")
        return member

    def change_role(self, org_id: str, user_id: str, role: str, event: AuditEvent, by: str = "") -> Member:
        with self.s.lock:
            member = replace(self._changeable(org_id, user_id, by), role=role)
            self.s.members[(org_id, user_id)] = member
            self.s.record(event)
            return member

    def remove_member(self, org_id: str, user_id: str, event: AuditEvent, by: str = "") -> None:
        with self.s.lock:
            self._changeable(org_id, user_id, by)
            del self.s.members[(org_id, user_id)]
            self.s.count_members(org_id, -1)
            self.s.record(event)

    def transfer_ownership(self, org_id: str, from_user: str, to_user: str, event: AuditEvent) -> None:
        """The adapter's three conditions, then its explanation of which failed."""
        if from_user == to_user:
            # One transaction may not write one item twice: DynamoDB refuses it whole
            # (the service answers "you already own it" before it gets here).
            raise TransactWriteError(msg="Transaction request cannot include multiple operations on one item")
        with self.s.lock:
            org = self.s.live(org_id)
            old = self.s.members.get((org_id, from_user))
            new = self.s.members.get((org_id, to_user))
            failed = set()
            if org is None or org.owner_id != from_user:
                failed.add("org")
            if old is None or old.role != Role.OWNER:
                failed.add("old_owner")
            if new is None or new.role == Role.OWNER:
                failed.add("new_owner")
            if failed:
                if "new_owner" in failed and new is None:
                    raise NotFound("That person is not a member of this organization")
                if failed & {"org", "old_owner"} and org is not None:
                    raise OwnerProtected("Only the current owner can transfer ownership")
                raise NotFound("No such organization")
            assert org is not None and old is not None and new is not None
            self.s.orgs[org_id] = replace(org, owner_id=to_user)
            self.s.members[(org_id, from_user)] = replace(old, role=Role.ADMIN.value)
            self.s.members[(org_id, to_user)] = replace(new, role=Role.OWNER.value)
            self.s.record(event)


class FakeAuditLog(FakeAccountTrail):
    """The AuditLog protocol on the store's events, which the other fakes' changes record."""

    def __init__(self, store: OrgStore) -> None:
        super().__init__(store.events)


class FakeInvitations:
    """The ports of services/ports/invitations.py: one pending invitation per (org,
    address) through the invitee guard; the token copy's status makes answering
    single-use; revoke deletes the copy."""

    def __init__(self, store: OrgStore, users: FakeUsers) -> None:
        self.s = store
        self.users = users

    def _put(self, invitation: Invitation) -> None:
        self.s.invitations[(invitation.org_id, invitation.id)] = invitation
        self.s.tokens[invitation.token_hash] = invitation

    def create(self, invitation: Invitation, invitee_user_id: str | None, now: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            if invitee_user_id == invitation.invited_by:
                raise AlreadyMember()
            self.s.require_live(invitation.org_id)
            inviter = self.s.members.get((invitation.org_id, invitation.invited_by))
            if inviter is None or inviter.role not in roles_that_may_invite(invitation.role):
                raise Forbidden("Your role in this organization no longer allows this invitation")
            if invitee_user_id and (invitation.org_id, invitee_user_id) in self.s.members:
                raise AlreadyMember()
            guard = self.s.guards.get((invitation.org_id, invitation.email))
            if guard is not None and guard[1] > now:
                raise AlreadyInvited()
            if invitation.token_hash in self.s.tokens or (invitation.org_id, invitation.id) in self.s.invitations:
                raise AlreadyInvited()
            self.s.guards[(invitation.org_id, invitation.email)] = (invitation.id, invitation.expires_at)
            self._put(invitation)
            self.s.record(event)

    def _of_live_org(self, invitation: Invitation | None) -> Invitation | None:
        """The adapter's reads pass over a deleted organization's invitations."""
        return invitation if invitation is not None and self.s.live(invitation.org_id) is not None else None

    def by_token(self, token_hash: str) -> Invitation | None:
        return self._of_live_org(self.s.tokens.get(token_hash))

    def by_token_for(self, token_hash: str, user_id: str) -> tuple[Invitation | None, User | None]:
        return self.s.tokens.get(token_hash), self.users.get(user_id)

    def get(self, org_id: str, invitation_id: str) -> Invitation | None:
        return self.s.invitations.get((org_id, invitation_id))

    def of_org(self, org_id: str) -> list[Invitation]:
        return [i for (o, _), i in sorted(self.s.invitations.items()) if o == org_id]

    def pending_page(self, org_id: str, limit: int, cursor: str | None) -> Page[Invitation]:
        keyed = [(f"sent:{i.id}", i) for i in self.of_org(org_id) if i.status == InvitationStatus.PENDING]
        return keyset_page(keyed, "sent:", limit, cursor)

    def pending_to_page(self, email: str, now: datetime, limit: int, cursor: str | None) -> Page[Invitation]:
        """In invitation id order across organizations, as the invitee index sorts them."""
        keyed = [
            (f"to:{i.id}", i)
            for i in self.s.invitations.values()
            if i.email == email and i.is_pending(now) and self._of_live_org(i)
        ]
        return keyset_page(keyed, "to:", limit, cursor)

    def sent_to(self, email: str, invitation_id: str) -> Invitation | None:
        return next((i for i in self.s.invitations.values() if i.email == email and i.id == invitation_id), None)

    def pending_from(self, org_id: str, inviter_id: str) -> list[Invitation]:
        return [i for i in self.of_org(org_id) if i.invited_by == inviter_id and i.status == InvitationStatus.PENDING]

    def _answer(self, invitation: Invitation, now: datetime, status: InvitationStatus, joining: str = "") -> None:
        """The conditions shared by accept and decline, in the order of the adapter's `_explain`:
        org, token (pending, unexpired), membership, invitee guard."""
        self.s.require_live(invitation.org_id)
        token = self.s.tokens.get(invitation.token_hash)
        if token is None or token.status != InvitationStatus.PENDING or token.expires_at <= now:
            raise InvitationUsed()
        if joining and (invitation.org_id, joining) in self.s.members:
            raise AlreadyMember()
        guard = self.s.guards.get((invitation.org_id, invitation.email))
        if guard is None or guard[0] != invitation.id:
            raise InvitationUsed()
        del self.s.guards[(invitation.org_id, invitation.email)]
        self._put(replace(token, status=status.value))

    def accept(self, invitation: Invitation, member: Member, now: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            self._answer(invitation, now, InvitationStatus.ACCEPTED, joining=member.user_id)
            self.s.members[(member.org_id, member.user_id)] = member
            self.s.count_members(member.org_id, +1)
            self.s.record(event)

    def decline(self, invitation: Invitation, now: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            self._answer(invitation, now, InvitationStatus.DECLINED)
            self.s.record(event)

    def _pending_record(self, invitation: Invitation) -> Invitation:
        record = self.s.invitations.get((invitation.org_id, invitation.id))
        if record is None or record.status != InvitationStatus.PENDING or self.s.live(invitation.org_id) is None:
            raise NotFound("No such pending invitation")
        return record

    def _guard_is(self, invitation: Invitation) -> bool:
        guard = self.s.guards.get((invitation.org_id, invitation.email))
        return guard is not None and guard[0] == invitation.id

    def revoke(self, invitation: Invitation, event: AuditEvent) -> None:
        """The guard is released only if it still names this invitation: an expired one's
        may be held by a newer invitation to the same address, which stays pending."""
        with self.s.lock:
            record = self._pending_record(invitation)
            self.s.invitations[(record.org_id, record.id)] = replace(record, status=InvitationStatus.REVOKED.value)
            self.s.tokens.pop(record.token_hash, None)  # the link stops working: unknown from now on
            if self._guard_is(record):
                del self.s.guards[(record.org_id, record.email)]
            self.s.record(event)

    def resend(self, invitation: Invitation, token_hash: str, expires_at: datetime, event: AuditEvent) -> Invitation:
        """AlreadyInvited when a newer invitation to the address holds the guard and
        nothing else is wrong; NotFound for anything else."""
        with self.s.lock:
            record = self.s.invitations.get((invitation.org_id, invitation.id))
            guard = self.s.guards.get((invitation.org_id, invitation.email))
            failed = set()
            if (
                record is None
                or record.status != InvitationStatus.PENDING
                or record.token_hash != invitation.token_hash
            ):
                failed.add("record")
            if token_hash in self.s.tokens:
                failed.add("token")
            if guard is not None and guard[0] != invitation.id:
                failed.add("guard")
            if self.s.live(invitation.org_id) is None:
                failed.add("org")
            if failed == {"guard"}:
                raise AlreadyInvited("A newer invitation to this address is pending")
            if failed:
                raise NotFound("No such pending invitation")
            renewed = replace(invitation, token_hash=token_hash, expires_at=expires_at)
            self.s.tokens.pop(invitation.token_hash, None)
            self._put(renewed)
            self.s.guards[(renewed.org_id, renewed.email)] = (renewed.id, expires_at)
            self.s.record(event)
            return renewed


_NESTED = {ResourceKind.PROJECT: ResourceKind.APPLICATION, ResourceKind.APPLICATION: ResourceKind.DEPLOYMENT}


class FakeResources:
    """ResourceRepository: nothing is created in a deleted organization or parent, and
    deleting a parent sweeps what is nested under it."""

    def __init__(self, store: OrgStore) -> None:
        self.s = store

    @staticmethod
    def _key(r: Resource) -> tuple[str, ResourceKind, str, str]:
        return (r.org_id, r.kind, r.parent_id, r.id)

    def create(
        self, resource: Resource, event: AuditEvent, parent: tuple[ResourceKind, str, str] | None = None
    ) -> None:
        with self.s.lock:
            if self._key(resource) in self.s.resources or self.s.live(resource.org_id) is None:
                raise NotFound("Not found")
            if parent is not None and (resource.org_id, *parent) not in self.s.resources:
                raise NotFound("Not found")
            self.s.resources[self._key(resource)] = resource
            self.s.record(event)

    def get(self, org_id: str, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource | None:
        return self.s.resources.get((org_id, kind, parent_id, resource_id))

    def page(
        self, org_id: str, kind: ResourceKind, limit: int, cursor: str | None, parent_id: str = ""
    ) -> Page[Resource]:
        scope = f"{kind.value}:{parent_id}:"
        keyed = [
            (f"{scope}{r.id}", r)
            for (o, k, p, _), r in self.s.resources.items()
            if (o, k, p) == (org_id, kind, parent_id)
        ]
        return keyset_page(keyed, scope, limit, cursor, newest_first=kind == ResourceKind.DEPLOYMENT)

    def rename(self, resource: Resource, name: str, now: datetime, event: AuditEvent) -> Resource:
        with self.s.lock:
            if self._key(resource) not in self.s.resources or self.s.live(resource.org_id) is None:
                raise NotFound("Not found")
            renamed = replace(self.s.resources[self._key(resource)], name=name, updated_at=now)
            self.s.resources[self._key(resource)] = renamed
            self.s.record(event)
            return renamed

    def delete(self, resource: Resource, event: AuditEvent) -> int:
        with self.s.lock:
            if self._key(resource) not in self.s.resources or self.s.live(resource.org_id) is None:
                raise NotFound("Not found")
            del self.s.resources[self._key(resource)]
            self.s.record(event)
            return self._sweep(resource.org_id, resource.kind, resource.id)

    def _sweep(self, org_id: str, kind: ResourceKind, parent_id: str) -> int:
        child_kind = _NESTED.get(kind)
        if child_kind is None:
            return 0
        children = [k for k in self.s.resources if k[:3] == (org_id, child_kind, parent_id)]
        for key in children:
            del self.s.resources[key]
        return len(children) + sum(self._sweep(org_id, child_kind, key[3]) for key in children)


class FakeApiKeys:
    """ApiKeyRepository: one key per secret hash, created and rotated only in a live
    organization; a key ends once (revoked, or rotated with its end set), though an end
    still ahead (a rotation's grace period) can be brought forward by a revocation."""

    def __init__(self, store: OrgStore) -> None:
        self.s = store

    @property
    def keys(self) -> dict[str, ApiKey]:
        """The stored keys by id, for tests that set one up directly."""
        return self.s.api_keys

    def _by_hash(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self.s.api_keys.values() if k.key_hash == key_hash), None)

    def create(self, key: ApiKey, event: AuditEvent) -> None:
        with self.s.lock:
            if self._by_hash(key.key_hash) is not None or self.s.live(key.org_id) is None:
                raise NotFound("No such organization")
            self.s.api_keys[key.id] = key
            self.s.record(event)

    def of_org(self, org_id: str) -> list[ApiKey]:
        return sorted((k for k in self.s.api_keys.values() if k.org_id == org_id), key=lambda k: k.id)

    def keys_page(self, org_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
        keyed = [(f"key:{k.id}", k) for k in self.of_org(org_id)]
        return keyset_page(keyed, "key:", limit, cursor, newest_first=True)

    def get(self, org_id: str, key_id: str) -> ApiKey | None:
        key = self.s.api_keys.get(key_id)
        return key if key is not None and key.org_id == org_id else None

    def revoke(self, key: ApiKey, now: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            stored = self._by_hash(key.key_hash)
            if stored is None or (stored.revoked_at is not None and stored.revoked_at <= now):
                raise NotFound("No such live API key")
            self.s.api_keys[stored.id] = replace(stored, revoked_at=now)
            self.s.record(event)

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime, event: AuditEvent) -> None:
        with self.s.lock:
            stored = self._by_hash(old.key_hash)
            if (
                stored is None
                or stored.revoked_at is not None
                or self._by_hash(new.key_hash) is not None
                or self.s.live(old.org_id) is None
            ):
                raise NotFound("No such live API key")
            self.s.api_keys[stored.id] = replace(stored, revoked_at=old_ends_at, rotated_to=new.id)
            self.s.api_keys[new.id] = new
            self.s.record(event)


class RefusingLimiter(FakeRateLimiter):
    """FakeRateLimiter that refuses every `consume` of the limits named in `refuse`."""

    def __init__(self, users: FakeUsers, refuse: set[str] | None = None) -> None:
        super().__init__(users)
        self.refuse: set[str] = set(refuse or ())

    def consume(self, limit: RateLimit, key: str, now: datetime) -> bool:
        return limit.name not in self.refuse and super().consume(limit, key, now)


@dataclass
class OrgWorld(World):
    """`World` plus the organization fakes and the services wired to them."""

    store: OrgStore = field(default_factory=OrgStore)
    orgs: FakeOrganizations = field(init=False)
    invitations: FakeInvitations = field(init=False)
    resources: FakeResources = field(init=False)
    api_keys: FakeApiKeys = field(init=False)
    audit: FakeAuditLog = field(init=False)
    limiter: RefusingLimiter = field(init=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.limiter = RefusingLimiter(self.users)
        self.orgs = FakeOrganizations(self.store)
        self.invitations = FakeInvitations(self.store, self.users)
        self.resources = FakeResources(self.store)
        self.api_keys = FakeApiKeys(self.store)
        self.audit = FakeAuditLog(self.store)

    def add_org(self, owner: User, org_id: str = "org_01acme", name: str = "Acme") -> Organization:
        """An organization owned by `owner`, written straight into the store (no audit event)."""
        now = self.clock.now()
        org = Organization(
            id=org_id,
            name=name,
            plan="free",
            require_2fa=False,
            owner_id=owner.id,
            created_at=now,
            created_by=owner.id,
            member_count=0,
        )
        self.store.orgs[org_id] = org
        self.add_member(org_id, owner, Role.OWNER.value, last_active_at=now)
        return self.store.orgs[org_id]

    def add_member(
        self,
        org_id: str,
        user: User,
        role: str,
        last_active_at: datetime | None = None,
        joined_at: datetime | None = None,
    ) -> Member:
        member = Member(
            org_id=org_id,
            user_id=user.id,
            role=role,
            email=user.email,
            name=user.name,
            joined_at=joined_at or self.clock.now(),
            two_factor_enabled=user.two_factor_enabled,
            last_active_at=last_active_at,
        )
        self.store.members[(org_id, user.id)] = member
        self.store.count_members(org_id, +1)
        return member

    def access(self) -> AccessService:
        return AccessService(orgs=self.orgs, clock=self.clock)

    def organization_service(self) -> OrganizationService:
        return OrganizationService(
            orgs=self.orgs, users=self.users, audit=self.audit, clock=self.clock, limiter=self.limiter
        )

    def member_service(self) -> MemberService:
        return MemberService(orgs=self.orgs, clock=self.clock, invitations=self.invitations)

    def invitation_service(self) -> InvitationService:
        return InvitationService(
            invitations=self.invitations,
            users=self.users,
            mailer=self.mailer,
            limiter=self.limiter,
            clock=self.clock,
            public_base_url=PUBLIC_BASE_URL,
        )

    def resource_service(self) -> ResourceService:
        return ResourceService(resources=self.resources, clock=self.clock)

    def org_purge_service(self, step_items: int = PURGE_STEP_ITEMS) -> OrgPurgeService:
        return OrgPurgeService(store=self.orgs, step_items=step_items)
