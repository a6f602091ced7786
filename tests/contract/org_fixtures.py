"""The organization side of the house, twice: the in-memory fakes of tests/unit/org_fakes.py
on one `OrgStore`, and the DynamoDB adapters on the module's moto table. A contract test
takes an `OrgHouse` and cannot tell which one it holds.

Builders make the domain objects the services would (fixed ids and times: no wall
clock), and `join` adds a member the only way the ports allow, by an invitation accepted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository
from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
from kuploy_access.adapters.dynamodb.org_purge import DynamoOrgPurge
from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository
from kuploy_access.adapters.dynamodb.resources import DynamoResourceRepository
from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import Actor, AuditEvent
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.domain.permissions import SCOPE_PRESETS, Role
from kuploy_access.domain.resources import Resource, ResourceKind
from kuploy_access.domain.users import User
from kuploy_access.services.ports.org_purge import OrgPurgeStore
from tests.contract.ports import (
    ApiKeys,
    AuditLog,
    Invitations,
    Organizations,
    ResourceRepository,
    Users,
)
from tests.unit.fakes import FakeTokens, FakeUsers
from tests.unit.org_fakes import (
    FakeApiKeys,
    FakeAuditLog,
    FakeInvitations,
    FakeOrganizations,
    FakeResources,
    OrgStore,
)

NOW = datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
ORG_ID = "org_01acme"
OWNER_ID = "usr_01olive"
WEEK = timedelta(days=7)

_serial = itertools.count(1)


def serial() -> int:
    """Unique within a run and increasing: ids that sort in the order they were made."""
    return next(_serial)


@dataclass
class OrgHouse:
    """The organization ports over one store, and how to read the audit trail they write."""

    backend: str  # "fake" | "dynamo"
    orgs: Organizations
    invitations: Invitations
    api_keys: ApiKeys
    resources: ResourceRepository
    audit: AuditLog
    users: Users
    purge: OrgPurgeStore

    def actions(self, org_id: str = ORG_ID) -> list[str]:
        """The organization's audit actions, oldest first."""
        return [event.action for event in reversed(self.audit.page(org_id, 200, None).items)]


def org_house(request: pytest.FixtureRequest) -> OrgHouse:
    """For a fixture with params=["fake", "dynamo"]."""
    if request.param == "fake":
        store = OrgStore()
        users = FakeUsers(FakeTokens())
        orgs = FakeOrganizations(store)
        return OrgHouse(
            "fake",
            orgs,
            FakeInvitations(store, users),
            FakeApiKeys(store),
            FakeResources(store),
            FakeAuditLog(store),
            users,
            orgs,
        )
    request.getfixturevalue("moto_table")
    return OrgHouse(
        "dynamo",
        DynamoOrganizationRepository(),
        DynamoInvitationRepository(),
        DynamoApiKeyRepository(),
        DynamoResourceRepository(),
        DynamoAuditLog(),
        DynamoUserRepository(),
        DynamoOrgPurge(),
    )


# --- builders --------------------------------------------------------------------------------


def an_event(org_id: str = ORG_ID, action: str = "test.changed", at: datetime = NOW) -> AuditEvent:
    return AuditEvent(
        id=f"evt_{serial():08d}",
        org_id=org_id,
        at=at,
        actor=Actor("user", OWNER_ID, "olive@example.com"),
        action=action,
        target=org_id,
        ip="198.51.100.7",
        user_agent="contract",
    )


def an_org(org_id: str = ORG_ID, owner_id: str = OWNER_ID, name: str = "Acme") -> tuple[Organization, Member]:
    org = Organization(
        id=org_id,
        name=name,
        plan="free",
        require_2fa=False,
        owner_id=owner_id,
        created_at=NOW,
        created_by=owner_id,
    )
    return org, a_member(org_id, owner_id, Role.OWNER.value, last_active_at=NOW)


def a_member(
    org_id: str,
    user_id: str,
    role: str = Role.MEMBER.value,
    two_factor: bool = False,
    last_active_at: datetime | None = None,
) -> Member:
    return Member(
        org_id=org_id,
        user_id=user_id,
        role=role,
        email=email_of(user_id),
        name=f"Name of {user_id}",
        joined_at=NOW,
        two_factor_enabled=two_factor,
        last_active_at=last_active_at,
    )


def email_of(user_id: str) -> str:
    return f"{user_id.removeprefix('usr_')}@example.com"


def an_invitation(
    org_id: str = ORG_ID,
    email: str = "grace@example.com",
    role: str = Role.MEMBER.value,
    invited_by: str = OWNER_ID,
    expires_at: datetime = NOW + WEEK,
) -> Invitation:
    n = serial()
    return Invitation(
        id=f"inv_{n:08d}",
        org_id=org_id,
        org_name="Acme",
        email=email,
        role=role,
        invited_by=invited_by,
        inviter_name="Olive",
        status=InvitationStatus.PENDING.value,
        token_hash=f"{n:064x}",
        created_at=NOW,
        expires_at=expires_at,
    )


def an_api_key(org_id: str = ORG_ID, expires_at: datetime | None = None) -> ApiKey:
    n = serial()
    return ApiKey(
        id=f"key_{n:08d}",
        org_id=org_id,
        key_hash=f"{n:064x}",
        prefix="kpy_abcdef",
        description=f"deploys {n}",
        scopes=SCOPE_PRESETS["deploy"],
        preset="deploy",
        created_by=OWNER_ID,
        created_at=NOW,
        expires_at=expires_at,
    )


def a_resource(kind: ResourceKind, org_id: str = ORG_ID, parent_id: str = "", name: str = "") -> Resource:
    n = serial()
    return Resource(
        kind=kind,
        id=f"{kind.value[:3]}_{n:08d}",
        org_id=org_id,
        name=name or f"{kind.value} {n}",
        created_by=OWNER_ID,
        created_at=NOW,
        updated_at=NOW,
        parent_id=parent_id,
        fields={"engine": "postgres"} if kind == ResourceKind.DATABASE else {},
    )


def a_user(user_id: str, verified: bool = True) -> User:
    return User(
        id=user_id,
        email=email_of(user_id),
        name=f"Name of {user_id}",
        password_hash="$argon2id$contract",
        email_verified=verified,
        two_factor_enabled=False,
        created_at=NOW,
    )


# --- through the ports ---------------------------------------------------------------------------


def founded(house: OrgHouse, org_id: str = ORG_ID, owner_id: str = OWNER_ID) -> Organization:
    """An organization created through the port, as OrganizationService.create does."""
    org, owner = an_org(org_id, owner_id)
    house.orgs.create(org, owner, an_event(org_id, "org.created"))
    return org


def join(
    house: OrgHouse,
    user_id: str,
    role: str = Role.MEMBER.value,
    org_id: str = ORG_ID,
    two_factor: bool = False,
    inviter: str = OWNER_ID,
) -> Member:
    """`user_id` joins by an invitation accepted, the only way in that the ports have."""
    invitation = an_invitation(org_id, email_of(user_id), role, inviter)
    house.invitations.create(invitation, user_id, NOW, an_event(org_id, "member.invited"))
    member = a_member(org_id, user_id, role, two_factor=two_factor, last_active_at=NOW)
    house.invitations.accept(invitation, member, NOW, an_event(org_id, "member.joined"))
    return member


def register(house: OrgHouse, user_id: str) -> User:
    """An account in the user repository (by_token_for reads it)."""
    user = a_user(user_id)
    house.users.create(
        user, OneTimeToken(TokenKind.EMAIL_VERIFICATION, f"verify-{user_id}", user_id, NOW + timedelta(days=1))
    )
    return user
