"""AccessService.enter: the way into every organization route, on the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from itertools import pairwise

import pytest

from kuploy_access.domain.errors import ApiKeyNotAllowed, Forbidden, NotFound
from kuploy_access.domain.organizations import Organization
from kuploy_access.domain.permissions import ROUTE_PERMISSIONS, OrgGrant, Role, RouteRule, rule_for
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.users import User
from kuploy_access.services.access import OrgCaller
from kuploy_access.services.ports.organizations import OrgAccess
from kuploy_access.services.sessions import ClientInfo
from tests.unit.org_fakes import FakeOrganizations, OrgStore, OrgWorld

CLIENT = ClientInfo(ip="203.0.113.7", user_agent="pytest")
ORG_ID = "org_01acme"
OTHER_ORG_ID = "org_01other"

READ_ORG = rule_for("GET /orgs/{org_id}")
LIST_MEMBERS = rule_for("GET /orgs/{org_id}/members")
REMOVE_MEMBER = rule_for("DELETE /orgs/{org_id}/members/{user_id}")
INVITE = rule_for("POST /orgs/{org_id}/invitations")
DELETE_ORG = rule_for("DELETE /orgs/{org_id}")
SET_PLAN = rule_for("PUT /orgs/{org_id}/billing")
TRANSFER = rule_for("POST /orgs/{org_id}/transfer-ownership")
CREATE_PROJECT = rule_for("POST /orgs/{org_id}/projects")
DEPLOY = rule_for("POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments")
READ_AUDIT = rule_for("GET /orgs/{org_id}/audit-log")


def _repository_honours_the_protocol() -> OrgAccess:
    return FakeOrganizations(OrgStore())  # mypy checks the fake against the port


@pytest.fixture
def world() -> OrgWorld:
    return OrgWorld()


@pytest.fixture
def people(world) -> dict[str, User]:
    users = {
        "owner": world.add_user("olive@example.com", name="Olive", user_id="usr_01olive"),
        "admin": world.add_user("adam@example.com", name="Adam", user_id="usr_01adam"),
        "member": world.add_user("mia@example.com", name="Mia", user_id="usr_01mia"),
        "stranger": world.add_user("sam@example.com", name="Sam", user_id="usr_01sam"),
    }
    world.add_org(users["owner"], ORG_ID)
    world.add_member(ORG_ID, users["admin"], "admin", last_active_at=world.clock.now())
    world.add_member(ORG_ID, users["member"], "member", last_active_at=world.clock.now())
    world.add_org(users["stranger"], OTHER_ORG_ID, name="Other")
    return users


def user(u: User) -> Principal:
    return Principal(type="user", id=u.id, session_id="ses_01")


def key(*scopes: str, org_id: str = ORG_ID) -> Principal:
    return Principal(type="api_key", id="key_1", org_id=org_id, scopes=scopes)


def enter(world: OrgWorld, principal: Principal, rule: RouteRule, org_id: str = ORG_ID, **kw: bool) -> OrgCaller:
    return world.access().enter(principal, org_id, rule, CLIENT, **kw)


# --- users -------------------------------------------------------------------------------


def test_a_member_with_the_permission_enters_with_the_grant_of_their_role(world, people):
    caller = enter(world, user(people["member"]), DEPLOY)
    assert isinstance(caller.org, Organization)
    assert caller.org.id == ORG_ID
    assert caller.grant == OrgGrant.of_role("member") == OrgGrant(role=Role.MEMBER)
    assert caller.member is not None
    assert caller.member.user_id == people["member"].id
    assert caller.principal == user(people["member"])
    assert caller.client == CLIENT
    assert caller.user_id == people["member"].id
    assert (caller.actor.type, caller.actor.id, caller.actor.email) == ("user", people["member"].id, "mia@example.com")


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_every_role_may_read_the_org_and_its_members(world, people, role):
    for rule in (READ_ORG, LIST_MEMBERS):
        assert enter(world, user(people[role]), rule).grant.role == role


def test_an_unknown_org_answers_404(world, people):
    with pytest.raises(NotFound) as raised:
        enter(world, user(people["owner"]), READ_ORG, org_id="org_01nope")
    assert raised.value.status == 404
    assert raised.value.code == "not_found"


def test_an_org_the_caller_does_not_belong_to_answers_404_not_403(world, people):
    with pytest.raises(NotFound):
        enter(world, user(people["stranger"]), READ_ORG)
    with pytest.raises(NotFound):
        enter(world, user(people["owner"]), READ_ORG, org_id=OTHER_ORG_ID)


def test_a_deleted_org_answers_404_even_to_its_owner(world, people):
    world.store.orgs[ORG_ID] = replace(world.store.orgs[ORG_ID], deleted_at=world.clock.now())
    with pytest.raises(NotFound):
        enter(world, user(people["owner"]), READ_ORG)


@pytest.mark.parametrize(
    "principal",
    [Principal(type="anonymous", auth_error="unauthorized"), Principal(type="user", id=""), Principal(type="robot")],
)
def test_a_caller_who_is_neither_a_user_nor_a_key_answers_404(world, people, principal):
    with pytest.raises(NotFound):
        enter(world, principal, READ_ORG)


@pytest.mark.parametrize(
    ("role", "rule"),
    [
        ("member", INVITE),
        ("member", CREATE_PROJECT),
        ("member", READ_AUDIT),
        ("member", REMOVE_MEMBER),
        ("admin", DELETE_ORG),
        ("admin", SET_PLAN),
        ("admin", TRANSFER),
    ],
)
def test_a_member_whose_role_lacks_the_permission_gets_403_forbidden(world, people, role, rule):
    with pytest.raises(Forbidden) as raised:
        enter(world, user(people[role]), rule)
    assert raised.value.status == 403
    assert raised.value.code == "forbidden"


@pytest.mark.parametrize("rule", sorted(set(ROUTE_PERMISSIONS.values()), key=repr))
def test_the_owner_may_enter_every_route(world, people, rule):
    assert enter(world, user(people["owner"]), rule).grant.role == Role.OWNER


def test_the_role_is_read_from_the_membership_on_every_request(world, people):
    mia = user(people["member"])
    with pytest.raises(Forbidden):
        enter(world, mia, INVITE)
    world.store.members[(ORG_ID, people["member"].id)] = replace(
        world.store.members[(ORG_ID, people["member"].id)], role="admin"
    )
    assert enter(world, mia, INVITE).grant.role == Role.ADMIN
    del world.store.members[(ORG_ID, people["member"].id)]
    with pytest.raises(NotFound):
        enter(world, mia, READ_ORG)


def test_acting_on_self_skips_the_permission(world, people):
    with pytest.raises(Forbidden):
        enter(world, user(people["member"]), REMOVE_MEMBER)
    caller = enter(world, user(people["member"]), REMOVE_MEMBER, acting_on_self=True)
    assert caller.grant.role == Role.MEMBER


def test_acting_on_self_does_not_let_a_stranger_in(world, people):
    with pytest.raises(NotFound):
        enter(world, user(people["stranger"]), REMOVE_MEMBER, acting_on_self=True)


# --- API keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", [r for r in ROUTE_PERMISSIONS.values() if r.user_only])
def test_a_key_on_a_user_only_route_gets_api_key_not_allowed_whatever_its_scopes(world, people, rule):
    with pytest.raises(ApiKeyNotAllowed) as raised:
        enter(world, key(rule.permission, "org:read"), rule)
    assert raised.value.status == 403
    assert raised.value.code == "api_key_not_allowed"


def test_a_user_only_route_refuses_a_key_before_looking_at_the_org(world, people):
    with pytest.raises(ApiKeyNotAllowed):
        enter(world, key("members:manage", org_id=OTHER_ORG_ID), INVITE, org_id="org_01nope")


def test_a_key_of_another_org_answers_404(world, people):
    with pytest.raises(NotFound):
        enter(world, key("org:read", org_id=OTHER_ORG_ID), READ_ORG)


def test_a_key_for_an_unknown_or_deleted_org_answers_404(world, people):
    with pytest.raises(NotFound):
        enter(world, key("org:read", org_id="org_01nope"), READ_ORG, org_id="org_01nope")
    world.store.orgs[ORG_ID] = replace(world.store.orgs[ORG_ID], deleted_at=world.clock.now())
    with pytest.raises(NotFound):
        enter(world, key("org:read"), READ_ORG)


def test_a_key_without_the_scope_gets_403_forbidden(world, people):
    with pytest.raises(Forbidden) as raised:
        enter(world, key("org:read", "apps:read"), DEPLOY)
    assert raised.value.code == "forbidden"


def test_a_key_with_the_scope_enters_with_its_scopes(world, people):
    caller = enter(world, key("apps:deploy", "org:read"), DEPLOY)
    assert caller.org.id == ORG_ID
    assert caller.grant == OrgGrant(scopes=frozenset({"apps:deploy", "org:read"}))
    assert caller.member is None
    assert caller.user_id == ""
    assert (caller.actor.type, caller.actor.id, caller.actor.email) == ("api_key", "key_1", "")


def test_a_key_s_scopes_a_key_may_not_hold_are_dropped(world, people):
    caller = enter(world, key("members:manage", "org:delete", "members:read"), LIST_MEMBERS)
    assert caller.grant.scopes == frozenset({"members:read"})


@pytest.mark.parametrize("rule", [r for r in ROUTE_PERMISSIONS.values() if not r.user_only])
def test_a_key_may_call_every_other_route_holding_its_permission(world, people, rule):
    assert rule.permission in enter(world, key(rule.permission), rule).grant.scopes


# --- last_active_at -------------------------------------------------------------------------


def last_active(world: OrgWorld, u: User):
    return world.store.members[(ORG_ID, u.id)].last_active_at


def test_activity_is_not_written_again_within_the_hour(world, people):
    mia = user(people["member"])
    for _ in range(119):
        world.clock.advance(timedelta(seconds=30))
        enter(world, mia, READ_ORG)
    assert world.orgs.touch_calls == []
    assert world.orgs.touch_writes == 0


def test_activity_is_written_once_when_more_than_an_hour_has_passed(world, people):
    mia = user(people["member"])
    world.clock.advance(timedelta(hours=1, seconds=1))
    enter(world, mia, READ_ORG)
    assert world.orgs.touch_calls == [(ORG_ID, people["member"].id, world.clock.now())]
    assert world.orgs.touch_writes == 1
    assert last_active(world, people["member"]) == world.clock.now()
    for _ in range(10):
        world.clock.advance(timedelta(minutes=5))
        enter(world, mia, DEPLOY)
    assert len(world.orgs.touch_calls) == 1


def test_a_stale_member_is_touched_at_exactly_one_hour(world, people):
    """The service decides "stale" at now - last_active_at >= 1 h (Member.activity_is_stale)."""
    world.clock.advance(timedelta(hours=1))
    enter(world, user(people["member"]), READ_ORG)
    assert world.orgs.touch_calls == [(ORG_ID, people["member"].id, world.clock.now())]


def test_the_touch_at_exactly_one_hour_is_written(world, people):
    world.clock.advance(timedelta(hours=1))
    enter(world, user(people["member"]), READ_ORG)
    assert world.orgs.touch_writes == 1
    assert last_active(world, people["member"]) == world.clock.now()


def test_activity_is_written_when_it_was_never_recorded(world, people):
    member = world.store.members[(ORG_ID, people["member"].id)]
    world.store.members[(ORG_ID, people["member"].id)] = replace(member, last_active_at=None)
    enter(world, user(people["member"]), READ_ORG)
    enter(world, user(people["member"]), READ_ORG)
    assert world.orgs.touch_writes == 1
    assert last_active(world, people["member"]) == world.clock.now()


def test_a_day_of_requests_writes_activity_at_most_once_an_hour(world, people):
    mia = user(people["member"])
    step = timedelta(minutes=7)
    for _ in range(24 * 60 // 7):
        world.clock.advance(step)
        enter(world, mia, READ_ORG)
    times = [at for _, _, at in world.orgs.touch_calls]
    assert len(times) == world.orgs.touch_writes == 22
    gaps = [b - a for a, b in pairwise(times)]
    assert all(timedelta(hours=1) <= gap < timedelta(hours=1) + step for gap in gaps)


def test_activity_is_not_touched_a_second_before_the_hour(world, people):
    world.clock.advance(timedelta(minutes=59, seconds=59))
    enter(world, user(people["member"]), READ_ORG)
    assert world.orgs.touch_calls == []


def test_refused_and_key_requests_do_not_touch_activity(world, people):
    world.clock.advance(timedelta(hours=2))
    with pytest.raises(NotFound):
        enter(world, user(people["stranger"]), READ_ORG)
    enter(world, key("org:read"), READ_ORG)
    assert world.orgs.touch_calls == []
