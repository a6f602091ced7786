"""Properties of the permission function (Hypothesis): no role, scope set or preset is
granted more than the table says; a key's effective permissions are never more than
its creator's role, from creation through the authorizer's principal to the route
guard; adding scopes never takes a permission away; and the roles are ordered (a
member holds nothing an admin lacks, an admin nothing the owner lacks), which the table
is meant to be: API.md lists them as owner > admin > member."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kuploy_access.domain.api_keys import KeyRecord, checksum, hash_key
from kuploy_access.domain.errors import ApiKeyNotAllowed, DomainError, Forbidden, ValidationFailed
from kuploy_access.domain.permissions import (
    ALL_PERMISSIONS,
    API_KEYS_MANAGE,
    KEY_SCOPES,
    MEMBERS_MANAGE,
    ROLE_PERMISSIONS,
    ROUTE_PERMISSIONS,
    SCOPE_PRESETS,
    OrgGrant,
    Role,
    is_permitted,
    may_grant_scopes,
    may_invite,
    roles_that_may_invite,
)
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.services.api_keys import ApiKeyService
from kuploy_access.services.authorizer import Authorizer
from kuploy_access.services.sessions import ClientInfo
from tests.unit.fakes import FakeKeys
from tests.unit.metric_fakes import CountedEvents
from tests.unit.org_fakes import OrgWorld

ROLES = list(Role)
ORDER = [Role.MEMBER, Role.ADMIN, Role.OWNER]
# Scope names: the real ones, near misses and junk.
SCOPE_NAMES = st.one_of(
    st.sampled_from(ALL_PERMISSIONS),
    st.sampled_from(["org:*", "*", "ORG:READ", "org:read ", "apps:deploy\n", "admin", "owner", ""]),
    st.text(max_size=12),
)
SCOPE_SETS = st.frozensets(SCOPE_NAMES, max_size=12)
PERMISSIONS = st.one_of(st.sampled_from(ALL_PERMISSIONS), st.text(max_size=12))
ROUTES = sorted(ROUTE_PERMISSIONS)
CLIENT = ClientInfo(ip="198.51.100.50", user_agent="pytest")
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def permitted(grant: OrgGrant) -> frozenset[str]:
    return frozenset(p for p in ALL_PERMISSIONS if is_permitted(grant, p))


# --- the table ------------------------------------------------------------------------------------


def test_the_roles_are_ordered_and_keys_hold_only_what_a_role_may():
    for lower, higher in itertools.pairwise(ORDER):
        assert ROLE_PERMISSIONS[lower] < ROLE_PERMISSIONS[higher], (lower, higher)
    assert ROLE_PERMISSIONS[Role.OWNER] == frozenset(ALL_PERMISSIONS)
    assert ROLE_PERMISSIONS[Role.ADMIN] > KEY_SCOPES
    # Whoever may create or rotate a key holds every scope a key may: a rotation, which
    # keeps the old key's scopes and makes the rotator its creator, gives no one more.
    for role in ROLES:
        if API_KEYS_MANAGE in ROLE_PERMISSIONS[role]:
            assert ROLE_PERMISSIONS[role] >= KEY_SCOPES, role
    for preset, scopes in SCOPE_PRESETS.items():
        assert scopes and scopes <= KEY_SCOPES, preset


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from(ROLES), scopes=SCOPE_SETS, permission=PERMISSIONS)
@example(role=Role.MEMBER, scopes=frozenset(ALL_PERMISSIONS), permission="members:manage")
def test_a_role_grants_its_row_and_nothing_else_whatever_scopes_come_with_it(role, scopes, permission):
    """A member's grant is their role: scopes beside it (never there in practice) add nothing."""
    grant = OrgGrant(role=role, scopes=scopes)
    assert is_permitted(grant, permission) == (permission in ROLE_PERMISSIONS[role])
    assert is_permitted(OrgGrant.of_role(role.value), permission) == is_permitted(grant, permission)


@settings(max_examples=200, deadline=None)
@given(scopes=SCOPE_SETS, permission=PERMISSIONS)
@example(scopes=frozenset({"members:manage", "api_keys:manage", "org:delete"}), permission="members:manage")
@example(scopes=frozenset({"*"}), permission="org:read")
def test_scopes_grant_only_themselves_and_only_what_a_key_may_hold(scopes, permission):
    grant = OrgGrant.of_scopes(scopes)
    assert is_permitted(grant, permission) == (permission in scopes and permission in KEY_SCOPES)
    assert permitted(grant) == scopes & KEY_SCOPES


@settings(max_examples=150, deadline=None)
@given(smaller=SCOPE_SETS, more=SCOPE_SETS)
def test_adding_scopes_never_takes_a_permission_away(smaller, more):
    assert permitted(OrgGrant.of_scopes(smaller)) <= permitted(OrgGrant.of_scopes(smaller | more))


@settings(max_examples=100, deadline=None)
@given(inviter=st.sampled_from(ROLES), invited=st.sampled_from(ROLES))
def test_nobody_invites_to_a_role_that_holds_more_than_theirs(inviter, invited):
    allowed = may_invite(inviter.value, invited.value)
    assert allowed == (
        MEMBERS_MANAGE in ROLE_PERMISSIONS[inviter] and ROLE_PERMISSIONS[invited] <= ROLE_PERMISSIONS[inviter]
    )
    assert (inviter.value in roles_that_may_invite(invited.value)) == allowed


@settings(max_examples=200, deadline=None)
@given(role=st.sampled_from(ROLES), scopes=SCOPE_SETS)
def test_may_grant_scopes_is_within_the_role(role, scopes):
    if may_grant_scopes(role.value, scopes):
        assert scopes <= ROLE_PERMISSIONS[role] and API_KEYS_MANAGE in ROLE_PERMISSIONS[role]


@settings(max_examples=200, deadline=None)
@given(scopes=st.lists(st.sampled_from(ALL_PERMISSIONS), max_size=20), auth_time=st.integers(min_value=0))
def test_a_key_principal_crosses_the_authorizer_context_unchanged(scopes, auth_time):
    principal = Principal(type=API_KEY, id="key_01", org_id="org_01acme", scopes=tuple(scopes), auth_time=auth_time)
    assert Principal.from_context(principal.to_context()) == principal


@settings(max_examples=200, deadline=None)
@given(context=st.dictionaries(st.text(max_size=15), st.one_of(st.text(max_size=20), st.integers(), st.none())))
@example(context={"auth_time": "9" * 5000})  # past int()'s digit limit
@example(context={"auth_time": "-5"})
@example(context={"scopes": "members:manage api_keys:manage", "principal_type": "api_key"})
def test_any_authorizer_context_reads_as_a_principal_without_raising(context):
    principal = Principal.from_context(context)
    assert principal.auth_time >= 0
    # Whatever a context claims, a key's scopes still pass through the key table's filter.
    assert permitted(OrgGrant.of_scopes(principal.scopes)) <= KEY_SCOPES


# --- a key's permissions, from its creation to the route guard ---------------------------------------


def _world_with_every_role() -> tuple[OrgWorld, dict[Role, str]]:
    world = OrgWorld()
    owner = world.add_user(email="owner@example.com", user_id="usr_01owner")
    org = world.add_org(owner)
    users = {Role.OWNER: owner.id}
    for role in (Role.ADMIN, Role.MEMBER):
        user = world.add_user(email=f"{role.value}@example.com", user_id=f"usr_01{role.value}")
        world.add_member(org.id, user, role.value)
        users[role] = user.id
    return world, users


class _Log:
    def info(self, msg: str, *, extra: object = None) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass


def _principal_of(secret: str, table: FakeKeys) -> Principal:
    """What the routes see of a request with this key: the authorizer's principal, through
    API Gateway's context."""

    def no_jwt() -> object:
        raise AssertionError("keys never reach the JWT codec")

    authorizer = Authorizer(codec=no_jwt, keys=lambda: table, log=_Log(), counter=CountedEvents())  # type: ignore[arg-type]
    return Principal.from_context(authorizer.answer({"headers": {"authorization": f"Bearer {secret}"}}, NOW)["context"])


@settings(max_examples=120, deadline=None)
@given(
    role=st.sampled_from(ROLES),
    choice=st.one_of(
        st.tuples(st.lists(st.sampled_from(ALL_PERMISSIONS), min_size=1, max_size=10), st.none()),
        st.tuples(st.lists(SCOPE_NAMES, max_size=10), st.none()),
        st.tuples(st.none(), st.sampled_from([*sorted(SCOPE_PRESETS), "admin", "everything", ""])),
        st.tuples(st.lists(st.sampled_from(ALL_PERMISSIONS), max_size=6), st.sampled_from(sorted(SCOPE_PRESETS))),
    ),
)
@example(role=Role.ADMIN, choice=(["members:manage"], None))
@example(role=Role.ADMIN, choice=(["billing:manage"], None))
@example(role=Role.OWNER, choice=(None, "full"))
@example(role=Role.MEMBER, choice=(None, "read-only"))
def test_a_key_never_does_more_than_its_creators_role(role, choice):
    scopes, preset = choice
    world, users = _world_with_every_role()
    access = world.access()
    principal = Principal(type=USER, id=users[role], auth_time=int(NOW.timestamp()))
    try:
        caller = access.enter(principal, "org_01acme", ROUTE_PERMISSIONS["POST /orgs/{org_id}/api-keys"], CLIENT)
        issued = ApiKeyService(keys=world.api_keys, clock=world.clock).create(caller, "ci", scopes, preset, None)
    except (Forbidden, ValidationFailed):
        assert API_KEYS_MANAGE not in ROLE_PERMISSIONS[role] or preset not in SCOPE_PRESETS or scopes is not None
        return
    key = issued.key
    assert key.scopes and key.scopes <= ROLE_PERMISSIONS[role] & KEY_SCOPES
    if preset is not None:
        assert key.scopes == SCOPE_PRESETS[preset]

    table = FakeKeys()
    table.put(key)
    as_key = _principal_of(issued.secret, table)
    assert as_key.type == API_KEY and set(as_key.scopes) == key.scopes
    for route in ROUTES:
        rule = ROUTE_PERMISSIONS[route]
        try:
            access.enter(as_key, "org_01acme", rule, CLIENT)
        except (Forbidden, ApiKeyNotAllowed):
            assert rule.user_only or rule.permission not in key.scopes
            continue
        assert not rule.user_only
        assert rule.permission in key.scopes and rule.permission in ROLE_PERMISSIONS[role]
        # ...and in no other organization, whatever its scopes.
        with pytest.raises(DomainError) as elsewhere:
            access.enter(as_key, "org_01other", rule, CLIENT)
        assert elsewhere.value.status == 404


@settings(max_examples=60, deadline=None)
@given(scopes=st.frozensets(st.sampled_from(ALL_PERMISSIONS)), more=st.frozensets(st.sampled_from(ALL_PERMISSIONS)))
def test_a_key_with_more_scopes_passes_every_guard_the_smaller_one_passes(scopes, more):
    world, _ = _world_with_every_role()
    access = world.access()

    def passes(held: frozenset[str]) -> set[str]:
        table = FakeKeys()
        secret = "kpy_" + "A" * 30 + checksum("A" * 30)
        table.records[hash_key(secret)] = KeyRecord("key_01", "org_01acme", tuple(sorted(held)), None, None, NOW)
        principal = _principal_of(secret, table)
        open_routes = set()
        for route in ROUTES:
            try:
                access.enter(principal, "org_01acme", ROUTE_PERMISSIONS[route], CLIENT)
            except DomainError:
                continue
            open_routes.add(route)
        return open_routes

    assert passes(scopes) <= passes(scopes | more)
