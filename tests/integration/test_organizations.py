"""Organizations, members, ownership, billing plan and audit log over the local gateway
(issue 4, API.md "Roles and permissions" and "Organization routes")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    INVITATION_LINK_PK_PREFIX,
    INVITATION_SK_PREFIX,
    INVITEE_SK_PREFIX,
    MEMBER_SK_PREFIX,
    ORG_PK_PREFIX,
    ORG_SK,
    audit_pk,
    member_sk,
    org_pk,
    resource_sk_prefix,
)
from kuploy_access.domain.resources import ResourceKind
from tests.integration import support
from tests.integration.gateway_client import SOURCE_IP, Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    invitation_token,
    invite,
    new_user,
    restore_table,
    run_org_purge,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem, count_dynamodb_requests

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@dataclass
class Team:
    org_id: str
    owner_id: str
    owner: str  # access tokens
    admin_id: str
    admin: str
    member_id: str
    member: str
    outsider_id: str
    outsider: str


@pytest.fixture(scope="module")
def team_table(world, gateway) -> tuple[Team, list[dict[str, Any]]]:
    """An organization with an owner, an admin and a member (joined by real invitations),
    and a verified user who belongs to none; made once, kept as the table's items."""
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        owner_id, owner = new_user(client, "owner@example.com", "Olive Owner")
        org_id = create_org(client, owner, "Analytical Engines")
        admin_id, admin = add_member(client, owner, org_id, "admin@example.com", "admin", "Adam Admin")
        member_id, member = add_member(client, owner, org_id, "member@example.com", "member", "Mia Member")
        outsider_id, outsider = new_user(client, "outsider@example.com", "Otto Outsider")
    team = Team(org_id, owner_id, owner, admin_id, admin, member_id, member, outsider_id, outsider)
    return team, table_snapshot()


@pytest.fixture
def team(aws, team_table: tuple[Team, list[dict[str, Any]]]) -> Team:
    """The module's team, as it was made (the access tokens live for 15 minutes)."""
    restore_table(team_table[1])
    return team_table[0]


ORG_FIELDS = {"id", "name", "plan", "require_2fa", "created_at", "member_count"}
MEMBER_FIELDS = {"user_id", "email", "name", "role", "joined_at", "two_factor_enabled", "last_active_at"}
EVENT_FIELDS = {"id", "at", "actor", "action", "target", "ip", "user_agent", "details"}


def get_org(client: GatewayClient, token: str, org_id: str) -> Answer:
    return client.request("GET", f"/orgs/{org_id}", token=token)


def members(client: GatewayClient, token: str, org_id: str) -> dict[str, dict[str, Any]]:
    """Every member by user id (one page is enough for these small orgs)."""
    answer = client.request("GET", f"/orgs/{org_id}/members?limit=200", token=token)
    assert answer.status == 200, answer.text
    assert answer.json()["next_cursor"] is None
    return {item["user_id"]: item for item in answer.json()["items"]}


def roles(client: GatewayClient, token: str, org_id: str) -> dict[str, str]:
    return {user_id: item["role"] for user_id, item in members(client, token, org_id).items()}


def my_orgs(client: GatewayClient, token: str) -> list[dict[str, Any]]:
    answer = client.request("GET", "/me", token=token)
    assert answer.status == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["organizations"]
    return found


def change_role(client: GatewayClient, token: str, org_id: str, user_id: str, role: Any) -> Answer:
    return client.request("PATCH", f"/orgs/{org_id}/members/{user_id}", {"role": role}, token=token)


def remove(client: GatewayClient, token: str, org_id: str, user_id: str) -> Answer:
    return client.request("DELETE", f"/orgs/{org_id}/members/{user_id}", token=token)


def transfer(client: GatewayClient, token: str, org_id: str, user_id: str) -> Answer:
    return client.request("POST", f"/orgs/{org_id}/transfer-ownership", {"user_id": user_id}, token=token)


def audit_events(client: GatewayClient, token: str, org_id: str) -> list[dict[str, Any]]:
    answer = client.request("GET", f"/orgs/{org_id}/audit-log?limit=200", token=token)
    assert answer.status == 200, answer.text
    assert answer.json()["next_cursor"] is None
    events: list[dict[str, Any]] = answer.json()["items"]
    return events


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def org_item(org_id: str) -> dict[str, Any]:
    item = support.raw_item(org_pk(org_id), ORG_SK)
    assert item is not None
    return item


def membership_item(org_id: str, user_id: str) -> dict[str, Any] | None:
    return support.raw_item(org_pk(org_id), member_sk(user_id))


# --- create and list -------------------------------------------------------------------------


def test_creating_an_organization_makes_the_creator_its_owner(client, service_clock):
    user_id, token = new_user(client, "founder@example.com", "Fay Founder")

    answer = client.request("POST", "/orgs", {"name": "  Difference Engines  "}, token=token)

    assert answer.status == 201, answer.text
    body = answer.json()
    assert set(body) == {"id", "name", "role", "plan", "created_at"}, body
    assert body["name"] == "Difference Engines"
    assert body["role"] == "owner"
    assert body["plan"] == "free"
    assert body["id"].startswith("org_")
    created = parse_time(body["created_at"])
    assert abs(created - service_clock.now()) < timedelta(minutes=1)
    org_id = body["id"]
    # The one owner, in the org item and in the membership.
    assert org_item(org_id)["owner_id"] == user_id
    membership = membership_item(org_id, user_id)
    assert membership is not None and membership["role"] == "owner"
    assert members(client, token, org_id)[user_id]["role"] == "owner"
    assert my_orgs(client, token) == [{"id": org_id, "name": "Difference Engines", "role": "owner"}]
    listed = client.request("GET", "/orgs", token=token)
    assert listed.status == 200
    assert listed.json() == {
        "items": [{"id": org_id, "name": "Difference Engines", "role": "owner", "plan": "free"}],
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"name": ""}, 422),
        ({"name": "   "}, 422),
        ({"name": "\u200b\u0007"}, 422),
        ({"name": "x" * 201}, 422),
        ({"name": 5}, 422),
        ({"name": "Fine", "plan": "pro"}, 422),
        ([], 400),
    ],
)
def test_an_organization_needs_a_visible_name(client, body, status):
    _, token = new_user(client, "founder@example.com")

    assert_problem(client.request("POST", "/orgs", body, token=token), status, "validation_error")
    assert client.request("GET", "/orgs", token=token).json()["items"] == []
    assert [item for item in support.scan() if item["pk"].startswith(ORG_PK_PREFIX)] == []


def test_an_organization_name_over_100_characters_is_refused_not_truncated(client):
    _, token = new_user(client, "founder@example.com")

    answer = client.request("POST", "/orgs", {"name": "x" * 101}, token=token)

    assert_problem(answer, 422, "validation_error")


def test_creating_an_organization_needs_a_token(client):
    answer = client.request("POST", "/orgs", {"name": "Nobody's"})
    assert answer.status == 401
    assert [item for item in support.scan() if item["pk"].startswith(ORG_PK_PREFIX)] == []


def test_get_orgs_lists_my_organizations_with_my_role_in_each(client, team):
    second = create_org(client, team.owner, "Second Org")

    def listed(token: str) -> set[tuple[str, str, str, str]]:
        answer = client.request("GET", "/orgs", token=token)
        assert answer.status == 200, answer.text
        assert answer.json()["next_cursor"] is None
        return {(item["id"], item["name"], item["role"], item["plan"]) for item in answer.json()["items"]}

    assert listed(team.owner) == {
        (team.org_id, "Analytical Engines", "owner", "free"),
        (second, "Second Org", "owner", "free"),
    }
    assert listed(team.admin) == {(team.org_id, "Analytical Engines", "admin", "free")}
    assert listed(team.member) == {(team.org_id, "Analytical Engines", "member", "free")}
    assert listed(team.outsider) == set()


def test_get_orgs_pages_with_limit_and_cursor(client, service_clock):
    _, token = new_user(client, "founder@example.com")
    created = {create_org(client, token, f"Org {i}") for i in range(5)}

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        answer = client.request("GET", "/orgs?limit=2" + (f"&cursor={cursor}" if cursor else ""), token=token)
        assert answer.status == 200, answer.text
        assert len(answer.json()["items"]) <= 2
        seen += [item["id"] for item in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(created)
    assert_problem(client.request("GET", "/orgs?limit=201", token=token), 422, "validation_error")


# --- read, update ------------------------------------------------------------------------------


def test_get_org_answers_its_fields_and_member_count_to_every_member(client, team):
    for token in (team.owner, team.admin, team.member):
        answer = get_org(client, token, team.org_id)
        assert answer.status == 200, answer.text
        body = answer.json()
        assert set(body) >= ORG_FIELDS, body
        assert body["id"] == team.org_id
        assert body["name"] == "Analytical Engines"
        assert body["plan"] == "free"
        assert body["require_2fa"] is False
        assert body["member_count"] == 3

    assert remove(client, team.owner, team.org_id, team.member_id).status == 204
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 2


def test_get_org_answers_404_to_non_members_and_for_unknown_orgs(client, team):
    assert_problem(get_org(client, team.outsider, team.org_id), 404, "not_found")
    assert_problem(get_org(client, team.owner, "org_doesnotexist"), 404, "not_found")
    # Not a member: every org route answers 404, never 403 (the org's existence is not revealed).
    for method, path, body in [
        ("GET", "/members", None),
        ("PATCH", "", {"name": "Mine now"}),
        ("DELETE", "", None),
        ("GET", "/billing", None),
        ("PUT", "/billing", {"plan": "pro"}),
        ("GET", "/audit-log", None),
        ("PATCH", f"/members/{team.member_id}", {"role": "admin"}),
        ("DELETE", f"/members/{team.member_id}", None),
        ("POST", "/transfer-ownership", {"user_id": team.outsider_id}),
    ]:
        answer = client.request(method, f"/orgs/{team.org_id}{path}", body, token=team.outsider)
        assert_problem(answer, 404, "not_found")
    assert get_org(client, team.owner, team.org_id).json()["name"] == "Analytical Engines"
    assert roles(client, team.owner, team.org_id)[team.member_id] == "member"


def test_owner_and_admin_update_the_name_and_policy(client, team):
    answer = client.request("PATCH", f"/orgs/{team.org_id}", {"name": " Babbage & Co "}, token=team.owner)
    assert answer.status == 200, answer.text
    assert set(answer.json()) >= ORG_FIELDS
    assert answer.json()["name"] == "Babbage & Co"
    assert answer.json()["member_count"] == 3

    answer = client.request(
        "PATCH", f"/orgs/{team.org_id}", {"name": "Lovelace Ltd", "require_2fa": False}, token=team.admin
    )
    assert answer.status == 200, answer.text
    assert answer.json()["name"] == "Lovelace Ltd"
    assert answer.json()["require_2fa"] is False

    assert get_org(client, team.member, team.org_id).json()["name"] == "Lovelace Ltd"
    assert org_item(team.org_id)["name"] == "Lovelace Ltd"
    listed = client.request("GET", "/orgs", token=team.member).json()["items"]
    assert [item["name"] for item in listed] == ["Lovelace Ltd"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": None, "require_2fa": None},
        {"name": ""},
        {"name": "x" * 201},
        {"plan": "pro"},
        {"require_2fa": "yes please"},
        {"name": "x" * 101},
    ],
)
def test_an_update_that_changes_nothing_valid_is_422(client, team, body):
    answer = client.request("PATCH", f"/orgs/{team.org_id}", body, token=team.owner)
    assert_problem(answer, 422, "validation_error")
    assert org_item(team.org_id)["name"] == "Analytical Engines"
    assert "org.updated" not in [event["action"] for event in audit_events(client, team.owner, team.org_id)]


def test_a_member_cannot_update_the_organization(client, team):
    answer = client.request("PATCH", f"/orgs/{team.org_id}", {"name": "Mine"}, token=team.member)
    assert_problem(answer, 403, "forbidden")
    assert org_item(team.org_id)["name"] == "Analytical Engines"


# --- delete -------------------------------------------------------------------------------------


def test_the_owner_deletes_the_organization_with_everything_it_held(client, team):
    org_id = team.org_id
    other = create_org(client, team.owner, "Keeps Going")
    project = client.request("POST", f"/orgs/{org_id}/projects", {"name": "Engine"}, token=team.admin)
    assert project.status == 201, project.text
    application = client.request(
        "POST", f"/orgs/{org_id}/projects/{project.json()['id']}/applications", {"name": "api"}, token=team.admin
    )
    assert application.status == 201, application.text
    invite(client, team.owner, org_id, "invitee@example.com", "member")
    pending_link = invitation_token(client, "invitee@example.com")
    assert [item for item in support.scan() if item["pk"].startswith(INVITATION_LINK_PK_PREFIX)], (
        "the invitation has a link"
    )

    answer = client.request("DELETE", f"/orgs/{org_id}", token=team.owner)

    assert answer.status == 204, answer.text
    assert answer.body == b""
    assert org_item(org_id).get("deleted_at"), "the profile is marked deleted"
    assert run_org_purge(client, org_id) == 1
    for token in (team.owner, team.admin, team.member):
        assert_problem(get_org(client, token, org_id), 404, "not_found")
        assert_problem(client.request("GET", f"/orgs/{org_id}/members", token=token), 404, "not_found")
        assert org_id not in [org["id"] for org in my_orgs(client, token)]
        assert org_id not in [org["id"] for org in client.request("GET", "/orgs", token=token).json()["items"]]
    assert [org["id"] for org in my_orgs(client, team.owner)] == [other]
    assert_problem(client.request("DELETE", f"/orgs/{org_id}", token=team.owner), 404, "not_found")
    # Nothing of the organization is left: memberships, invitations and their links,
    # resources, its profile; only its audit log.
    items = support.scan()
    projects_and_applications = (resource_sk_prefix(ResourceKind.PROJECT), resource_sk_prefix(ResourceKind.APPLICATION))
    left = [(item["pk"], item["sk"]) for item in items if item["pk"] == org_pk(org_id)]
    assert left == [], left
    for item in items:
        if item["pk"].startswith((INVITATION_LINK_PK_PREFIX, INVITEE_SK_PREFIX)) or item["sk"].startswith(
            (MEMBER_SK_PREFIX, INVITATION_SK_PREFIX)
        ):
            assert item.get("org_id") != org_id, item
        assert not (item["sk"].startswith(projects_and_applications) and item.get("org_id") == org_id), item
    assert not [item for item in items if item["pk"].startswith(INVITATION_LINK_PK_PREFIX)]
    # The other organization of the owner is untouched.
    assert get_org(client, team.owner, other).status == 200
    # The pending invitation's link is dead.
    _, invitee = new_user(client, "invitee@example.com")
    accepted = client.request("POST", f"/invitations/{pending_link}/accept", token=invitee)
    assert_problem(accepted, 404, "not_found")
    # The audit log is kept (until its TTL), ending with the deletion.
    events = [item for item in items if item["pk"] == audit_pk(org_id)]
    actions = {event["action"] for event in events}
    assert {"org.created", "member.invited", "member.joined", "org.deleted"} <= actions, actions
    deleted = next(event for event in events if event["action"] == "org.deleted")
    assert deleted["actor_id"] == team.owner_id
    assert deleted["target"] == org_id


def test_a_deleted_organization_whose_purge_has_not_run_leaves_nothing_usable(client, team):
    """The organization is marked deleted before its items are removed (in the
    background): until its purge runs, the memberships and invitations left behind
    grant nothing."""
    invite(client, team.owner, team.org_id, "invitee@example.com", "admin")
    link = invitation_token(client, "invitee@example.com")

    answer = client.request("DELETE", f"/orgs/{team.org_id}", token=team.owner)

    assert answer.status == 204, answer.text
    assert membership_item(team.org_id, team.member_id) is not None, "no purge ran"
    for token in (team.owner, team.admin, team.member):
        assert_problem(get_org(client, token, team.org_id), 404, "not_found")
        assert_problem(client.request("PATCH", f"/orgs/{team.org_id}", {"name": "Back"}, token=token), 404, "not_found")
        assert my_orgs(client, token) == []
        assert client.request("GET", "/orgs", token=token).json()["items"] == []
    assert_problem(change_role(client, team.owner, team.org_id, team.member_id, "admin"), 404, "not_found")
    _, invitee = new_user(client, "invitee@example.com")
    accepted = client.request("POST", f"/invitations/{link}/accept", token=invitee)
    assert accepted.status in (404, 410), accepted.text
    assert my_orgs(client, invitee) == []
    assert membership_item(team.org_id, support.jwt_parts(invitee)[1]["sub"]) is None


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_the_owner_can_delete_the_organization(client, team, who):
    answer = client.request("DELETE", f"/orgs/{team.org_id}", token=getattr(team, who))

    assert_problem(answer, 403, "forbidden")
    assert get_org(client, team.owner, team.org_id).status == 200
    assert "deleted_at" not in org_item(team.org_id)
    assert len(members(client, team.owner, team.org_id)) == 3


# --- billing --------------------------------------------------------------------------------------


def test_billing_plan_is_read_by_owner_and_admin_and_changed_by_the_owner_only(client, team):
    path = f"/orgs/{team.org_id}/billing"
    for token in (team.owner, team.admin):
        answer = client.request("GET", path, token=token)
        assert answer.status == 200, answer.text
        assert answer.json()["plan"] == "free"
    assert_problem(client.request("GET", path, token=team.member), 403, "forbidden")

    assert_problem(client.request("PUT", path, {"plan": "team"}, token=team.admin), 403, "forbidden")
    assert_problem(client.request("PUT", path, {"plan": "team"}, token=team.member), 403, "forbidden")
    assert client.request("GET", path, token=team.owner).json()["plan"] == "free"

    answer = client.request("PUT", path, {"plan": "pro"}, token=team.owner)
    assert answer.status == 200, answer.text
    assert answer.json()["plan"] == "pro"
    assert client.request("GET", path, token=team.admin).json()["plan"] == "pro"
    assert get_org(client, team.member, team.org_id).json()["plan"] == "pro"
    assert client.request("GET", "/orgs", token=team.member).json()["items"][0]["plan"] == "pro"
    assert org_item(team.org_id)["plan"] == "pro"


@pytest.mark.parametrize("body", [{"plan": "enterprise"}, {"plan": "PRO"}, {"plan": None}, {}, {"plan": "pro", "x": 1}])
def test_billing_plan_must_be_free_pro_or_team(client, team, body):
    answer = client.request("PUT", f"/orgs/{team.org_id}/billing", body, token=team.owner)
    assert_problem(answer, 422, "validation_error")
    assert org_item(team.org_id)["plan"] == "free"


# --- members: list and pages -----------------------------------------------------------------------


def test_members_list_shape(client, team, service_clock):
    answer = client.request("GET", f"/orgs/{team.org_id}/members", token=team.member)

    assert answer.status == 200, answer.text
    assert set(answer.json()) == {"items", "next_cursor"}
    assert answer.json()["next_cursor"] is None
    items = {item["user_id"]: item for item in answer.json()["items"]}
    assert set(items) == {team.owner_id, team.admin_id, team.member_id}
    for item in items.values():
        assert set(item) == MEMBER_FIELDS, item
        assert item["two_factor_enabled"] is False
        assert abs(parse_time(item["joined_at"]) - service_clock.now()) < timedelta(minutes=15)
        assert item["last_active_at"] is not None
    assert (items[team.owner_id]["email"], items[team.owner_id]["name"], items[team.owner_id]["role"]) == (
        "owner@example.com",
        "Olive Owner",
        "owner",
    )
    assert (items[team.admin_id]["email"], items[team.admin_id]["name"], items[team.admin_id]["role"]) == (
        "admin@example.com",
        "Adam Admin",
        "admin",
    )
    assert items[team.member_id]["role"] == "member"
    assert items[team.member_id]["email"] == "member@example.com"


def test_members_pages_walk_every_member_exactly_once(client, service_clock):
    owner_id, owner = new_user(client, "owner@example.com")
    org_id = create_org(client, owner)
    everyone = {owner_id}
    for i in range(7):
        user_id, _ = add_member(client, owner, org_id, f"m{i}@example.com", "admin" if i % 3 == 0 else "member")
        everyone.add(user_id)

    seen: list[str] = []
    sizes: list[int] = []
    cursor = None
    for _ in range(10):
        answer = client.request(
            "GET", f"/orgs/{org_id}/members?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=owner
        )
        assert answer.status == 200, answer.text
        sizes.append(len(answer.json()["items"]))
        seen += [item["user_id"] for item in answer.json()["items"]]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break

    assert sizes == [3, 3, 2]
    assert sorted(seen) == sorted(everyone)
    assert len(seen) == len(set(seen)) == 8
    # An exact fit ends without an empty extra page.
    answer = client.request("GET", f"/orgs/{org_id}/members?limit=8", token=owner)
    assert len(answer.json()["items"]) == 8
    assert answer.json()["next_cursor"] is None
    answer = client.request("GET", f"/orgs/{org_id}/members?limit=200", token=owner)
    assert answer.status == 200
    assert len(answer.json()["items"]) == 8


@pytest.mark.parametrize(
    "query",
    ["limit=201", "limit=0", "limit=-1", "limit=many", "cursor=not-a-cursor", "cursor=eyJrIjogMX0", "cursor=W10"],
)
def test_members_list_refuses_a_bad_limit_or_cursor(client, team, query):
    answer = client.request("GET", f"/orgs/{team.org_id}/members?{query}", token=team.owner)
    assert_problem(answer, 422, "validation_error")


def test_a_cursor_of_another_list_is_refused(client, team):
    audit = client.request("GET", f"/orgs/{team.org_id}/audit-log?limit=1", token=team.owner).json()
    assert audit["next_cursor"] is not None
    answer = client.request("GET", f"/orgs/{team.org_id}/members?cursor={audit['next_cursor']}", token=team.owner)
    assert_problem(answer, 422, "validation_error")


# --- members: roles --------------------------------------------------------------------------------


def test_roles_change_between_admin_and_member(client, team):
    answer = change_role(client, team.owner, team.org_id, team.admin_id, "member")
    assert answer.status == 200, answer.text
    assert set(answer.json()) == MEMBER_FIELDS
    assert (answer.json()["user_id"], answer.json()["role"]) == (team.admin_id, "member")

    answer = change_role(client, team.owner, team.org_id, team.member_id, "admin")
    assert answer.status == 200, answer.text
    assert answer.json()["role"] == "admin"

    # An admin manages admins and members.
    answer = change_role(client, team.member, team.org_id, team.admin_id, "admin")
    assert answer.status == 200, answer.text

    assert roles(client, team.owner, team.org_id) == {
        team.owner_id: "owner",
        team.admin_id: "admin",
        team.member_id: "admin",
    }
    assert membership_item(team.org_id, team.member_id)["role"] == "admin"  # type: ignore[index]
    assert my_orgs(client, team.member) == [{"id": team.org_id, "name": "Analytical Engines", "role": "admin"}]


@pytest.mark.parametrize("role", ["owner", "superuser", "", None, "Admin"])
def test_no_role_change_makes_an_owner_or_an_unknown_role(client, team, role):
    answer = change_role(client, team.owner, team.org_id, team.admin_id, role)

    assert_problem(answer, 422, "validation_error")
    assert roles(client, team.owner, team.org_id) == {
        team.owner_id: "owner",
        team.admin_id: "admin",
        team.member_id: "member",
    }
    assert org_item(team.org_id)["owner_id"] == team.owner_id


@pytest.mark.parametrize("by", ["owner", "admin"])
@pytest.mark.parametrize("role", ["admin", "member"])
def test_the_owner_cannot_be_demoted(client, team, by, role):
    answer = change_role(client, getattr(team, by), team.org_id, team.owner_id, role)

    assert_problem(answer, 403, "owner_protected")
    assert roles(client, team.owner, team.org_id)[team.owner_id] == "owner"
    assert "member.role_changed" not in [e["action"] for e in audit_events(client, team.owner, team.org_id)]


def test_a_member_cannot_change_roles(client, team):
    assert_problem(change_role(client, team.member, team.org_id, team.admin_id, "member"), 403, "forbidden")
    assert_problem(change_role(client, team.member, team.org_id, team.member_id, "admin"), 403, "forbidden")
    assert_problem(change_role(client, team.member, team.org_id, team.owner_id, "member"), 403, "forbidden")
    assert roles(client, team.owner, team.org_id) == {
        team.owner_id: "owner",
        team.admin_id: "admin",
        team.member_id: "member",
    }


def test_changing_the_role_of_someone_who_is_not_a_member_is_404(client, team):
    answer = change_role(client, team.owner, team.org_id, team.outsider_id, "admin")
    assert_problem(answer, 404, "not_found")
    assert membership_item(team.org_id, team.outsider_id) is None
    assert_problem(get_org(client, team.outsider, team.org_id), 404, "not_found")


def test_a_role_change_applies_to_the_very_next_request(client, team):
    rename = {"name": "Renamed by the admin"}
    assert client.request("PATCH", f"/orgs/{team.org_id}", rename, token=team.admin).status == 200
    assert change_role(client, team.owner, team.org_id, team.admin_id, "member").status == 200

    # Same access token as before: the role is read from the membership, not the token.
    assert_problem(client.request("PATCH", f"/orgs/{team.org_id}", rename, token=team.admin), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/billing", token=team.admin), 403, "forbidden")

    assert_problem(client.request("PATCH", f"/orgs/{team.org_id}", rename, token=team.member), 403, "forbidden")
    assert change_role(client, team.owner, team.org_id, team.member_id, "admin").status == 200
    assert client.request("PATCH", f"/orgs/{team.org_id}", rename, token=team.member).status == 200


# --- members: remove and leave ---------------------------------------------------------------------


def test_an_admin_removes_a_member_who_is_refused_from_the_next_request(client, team):
    answer = remove(client, team.admin, team.org_id, team.member_id)

    assert answer.status == 204, answer.text
    assert answer.body == b""
    assert membership_item(team.org_id, team.member_id) is None
    assert set(roles(client, team.owner, team.org_id)) == {team.owner_id, team.admin_id}
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 2
    assert_problem(get_org(client, team.member, team.org_id), 404, "not_found")
    assert my_orgs(client, team.member) == []
    assert client.request("GET", "/orgs", token=team.member).json()["items"] == []
    # Gone is gone: a second removal finds nobody.
    assert_problem(remove(client, team.admin, team.org_id, team.member_id), 404, "not_found")
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 2


def test_an_admin_removes_another_admin(client, team):
    assert change_role(client, team.owner, team.org_id, team.member_id, "admin").status == 200
    assert remove(client, team.member, team.org_id, team.admin_id).status == 204
    assert_problem(get_org(client, team.admin, team.org_id), 404, "not_found")


def test_a_member_cannot_remove_anyone_else(client, team):
    assert_problem(remove(client, team.member, team.org_id, team.admin_id), 403, "forbidden")
    assert_problem(remove(client, team.member, team.org_id, team.owner_id), 403, "forbidden")
    assert len(members(client, team.owner, team.org_id)) == 3


@pytest.mark.parametrize("by", ["owner", "admin"])
def test_the_owner_cannot_be_removed(client, team, by):
    assert_problem(remove(client, getattr(team, by), team.org_id, team.owner_id), 403, "owner_protected")
    assert roles(client, team.owner, team.org_id)[team.owner_id] == "owner"
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 3


def test_removing_someone_who_is_not_a_member_is_404(client, team):
    assert_problem(remove(client, team.owner, team.org_id, team.outsider_id), 404, "not_found")
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 3


@pytest.mark.parametrize("who", ["member", "admin"])
def test_a_member_leaves_by_deleting_themselves(client, team, who):
    user_id = getattr(team, f"{who}_id")
    token = getattr(team, who)

    answer = remove(client, token, team.org_id, user_id)

    assert answer.status == 204, answer.text
    assert_problem(get_org(client, token, team.org_id), 404, "not_found")
    assert_problem(remove(client, token, team.org_id, user_id), 404, "not_found")
    assert user_id not in roles(client, team.owner, team.org_id)
    assert get_org(client, team.owner, team.org_id).json()["member_count"] == 2
    left = audit_events(client, team.owner, team.org_id)[0]
    assert (left["action"], left["target"], left["actor"]["id"]) == ("member.left", user_id, user_id)


def test_the_owner_cannot_leave(client, team):
    assert_problem(remove(client, team.owner, team.org_id, team.owner_id), 403, "owner_protected")
    assert roles(client, team.owner, team.org_id)[team.owner_id] == "owner"
    assert org_item(team.org_id)["owner_id"] == team.owner_id


# --- ownership ------------------------------------------------------------------------------------


def test_transfer_makes_the_old_owner_an_admin(client, team):
    answer = transfer(client, team.owner, team.org_id, team.member_id)

    assert answer.status == 200, answer.text
    assert set(answer.json()) == MEMBER_FIELDS
    assert (answer.json()["user_id"], answer.json()["role"]) == (team.member_id, "owner")
    assert roles(client, team.member, team.org_id) == {
        team.owner_id: "admin",
        team.admin_id: "admin",
        team.member_id: "owner",
    }
    assert org_item(team.org_id)["owner_id"] == team.member_id
    assert my_orgs(client, team.owner)[0]["role"] == "admin"
    assert my_orgs(client, team.member)[0]["role"] == "owner"
    # The powers moved with it, from the next request on.
    assert_problem(transfer(client, team.owner, team.org_id, team.owner_id), 403, "forbidden")
    assert_problem(
        client.request("PUT", f"/orgs/{team.org_id}/billing", {"plan": "pro"}, token=team.owner), 403, "forbidden"
    )
    assert_problem(remove(client, team.owner, team.org_id, team.member_id), 403, "owner_protected")
    assert_problem(remove(client, team.member, team.org_id, team.member_id), 403, "owner_protected")
    assert remove(client, team.member, team.org_id, team.owner_id).status == 204
    assert client.request("DELETE", f"/orgs/{team.org_id}", token=team.member).status == 204


def test_transfer_to_someone_who_is_not_a_member_is_404(client, team):
    answer = transfer(client, team.owner, team.org_id, team.outsider_id)

    assert_problem(answer, 404, "not_found")
    assert org_item(team.org_id)["owner_id"] == team.owner_id
    assert roles(client, team.owner, team.org_id)[team.owner_id] == "owner"
    assert membership_item(team.org_id, team.outsider_id) is None
    assert_problem(transfer(client, team.owner, team.org_id, "usr_nobody"), 404, "not_found")


def test_transfer_to_yourself_is_refused(client, team):
    answer = transfer(client, team.owner, team.org_id, team.owner_id)
    assert answer.status in (409, 422), answer.text
    assert org_item(team.org_id)["owner_id"] == team.owner_id
    assert roles(client, team.owner, team.org_id)[team.owner_id] == "owner"


@pytest.mark.parametrize("who", ["admin", "member"])
def test_only_the_owner_can_transfer(client, team, who):
    answer = transfer(client, getattr(team, who), team.org_id, getattr(team, f"{who}_id"))

    assert_problem(answer, 403, "forbidden")
    assert org_item(team.org_id)["owner_id"] == team.owner_id
    assert roles(client, team.owner, team.org_id) == {
        team.owner_id: "owner",
        team.admin_id: "admin",
        team.member_id: "member",
    }


# --- audit log -------------------------------------------------------------------------------------


def test_every_change_writes_an_audit_event_newest_first(client, service_clock):
    def step() -> None:
        service_clock.advance(timedelta(seconds=1))  # events of distinct seconds sort surely

    owner_id, owner = new_user(client, "owner@example.com", "Olive Owner")
    org_id = create_org(client, owner, "Audited")
    step()
    admin_id, admin = add_member(client, owner, org_id, "admin@example.com", "admin")
    step()
    member_id, member = add_member(client, admin, org_id, "member@example.com", "member")
    step()
    leaver_id, leaver = add_member(client, owner, org_id, "leaver@example.com", "member")
    step()
    assert client.request("PATCH", f"/orgs/{org_id}", {"name": "Audited Co"}, token=admin).status == 200
    step()
    assert client.request("PUT", f"/orgs/{org_id}/billing", {"plan": "team"}, token=owner).status == 200
    step()
    assert change_role(client, admin, org_id, member_id, "admin").status == 200
    step()
    assert remove(client, leaver, org_id, leaver_id).status == 204
    step()
    assert remove(client, member, org_id, admin_id).status == 204
    step()
    assert transfer(client, owner, org_id, member_id).status == 200

    events = audit_events(client, member, org_id)

    owner_email, admin_email, member_email = "owner@example.com", "admin@example.com", "member@example.com"
    expected = [
        ("org.ownership_transferred", owner_id, owner_email, member_id),
        ("member.removed", member_id, member_email, admin_id),
        ("member.left", leaver_id, "leaver@example.com", leaver_id),
        ("member.role_changed", admin_id, admin_email, member_id),
        ("billing.plan_changed", owner_id, owner_email, org_id),
        ("org.updated", admin_id, admin_email, org_id),
        ("member.joined", leaver_id, "leaver@example.com", leaver_id),
        ("member.invited", owner_id, owner_email, "leaver@example.com"),
        ("member.joined", member_id, member_email, member_id),
        ("member.invited", admin_id, admin_email, member_email),
        ("member.joined", admin_id, admin_email, admin_id),
        ("member.invited", owner_id, owner_email, admin_email),
        ("org.created", owner_id, owner_email, org_id),
    ]
    assert [(e["action"], e["actor"]["id"], e["actor"]["email"], e["target"]) for e in events] == expected
    for event in events:
        assert set(event) == EVENT_FIELDS, event
        assert event["actor"] == {"type": "user", "id": event["actor"]["id"], "email": event["actor"]["email"]}
        assert event["ip"] == SOURCE_IP
        assert event["user_agent"] == "pytest"
        assert event["id"].startswith("evt_")
    times = [parse_time(event["at"]) for event in events]
    assert times == sorted(times, reverse=True)
    assert len({event["id"] for event in events}) == len(events)
    details = {event["action"]: event["details"] for event in events}
    assert details["member.role_changed"]["role"] == "admin"
    assert details["billing.plan_changed"]["plan"] == "team"
    assert details["billing.plan_changed"].get("previous") == "free"
    assert details["org.updated"]["name"] == "Audited Co"
    assert details["org.ownership_transferred"].get("previous_owner") == owner_id
    # Every event is stored with its retention (TTL) of about 400 days.
    for item in support.items_with_prefix(audit_pk(org_id)):
        ttl = datetime.fromtimestamp(int(item["expires_at_epoch"]), tz=service_clock.now().tzinfo)
        assert timedelta(days=399) < ttl - service_clock.now() < timedelta(days=401)


def test_audit_ip_is_the_address_the_gateway_saw_not_a_header(client, team):
    spoofed = {"X-Forwarded-For": "198.51.100.66", "User-Agent": "x" * 2000}
    answer = client.request(
        "PATCH", f"/orgs/{team.org_id}", {"name": "Spoofed"}, token=team.owner, headers=spoofed, source_ip="192.0.2.9"
    )
    assert answer.status == 200, answer.text

    event = audit_events(client, team.owner, team.org_id)[0]
    assert event["action"] == "org.updated"
    assert event["ip"] == "192.0.2.9"
    assert event["user_agent"] == "x" * 512  # kept, but bounded


def test_a_refused_change_writes_no_audit_event(client, team):
    before = audit_events(client, team.owner, team.org_id)

    assert change_role(client, team.member, team.org_id, team.admin_id, "member").status == 403
    assert change_role(client, team.admin, team.org_id, team.owner_id, "member").status == 403
    assert remove(client, team.admin, team.org_id, team.owner_id).status == 403
    assert transfer(client, team.owner, team.org_id, team.outsider_id).status == 404
    assert client.request("PUT", f"/orgs/{team.org_id}/billing", {"plan": "pro"}, token=team.admin).status == 403
    assert client.request("DELETE", f"/orgs/{team.org_id}", token=team.admin).status == 403

    assert audit_events(client, team.owner, team.org_id) == before


def test_audit_log_pages_newest_first(client, team, service_clock):
    for i in range(5):
        service_clock.advance(timedelta(seconds=1))
        assert client.request("PATCH", f"/orgs/{team.org_id}", {"name": f"Name {i}"}, token=team.owner).status == 200
    everything = audit_events(client, team.owner, team.org_id)
    assert len(everything) == 1 + 2 * 2 + 5

    paged: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        answer = client.request(
            "GET", f"/orgs/{team.org_id}/audit-log?limit=3" + (f"&cursor={cursor}" if cursor else ""), token=team.admin
        )
        assert answer.status == 200, answer.text
        assert len(answer.json()["items"]) <= 3
        paged += answer.json()["items"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert [event["id"] for event in paged] == [event["id"] for event in everything]
    assert [event["details"].get("name") for event in paged[:5]] == [f"Name {i}" for i in range(4, -1, -1)]
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/audit-log?limit=201", token=team.owner), 422, "validation_error"
    )
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/audit-log?cursor=bogus", token=team.owner), 422, "validation_error"
    )


def test_audit_log_is_read_by_owner_and_admin_only(client, team):
    assert client.request("GET", f"/orgs/{team.org_id}/audit-log", token=team.owner).status == 200
    assert client.request("GET", f"/orgs/{team.org_id}/audit-log", token=team.admin).status == 200
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/audit-log", token=team.member), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/audit-log", token=team.outsider), 404, "not_found")


def test_no_route_edits_or_deletes_audit_events(client, team):
    events = audit_events(client, team.owner, team.org_id)
    event_id = events[0]["id"]
    for method, path in [
        ("PATCH", "/audit-log"),
        ("DELETE", "/audit-log"),
        ("PUT", "/audit-log"),
        ("POST", "/audit-log"),
        ("GET", f"/audit-log/{event_id}"),
        ("PATCH", f"/audit-log/{event_id}"),
        ("DELETE", f"/audit-log/{event_id}"),
    ]:
        answer = client.request(method, f"/orgs/{team.org_id}{path}", {"action": "nothing"}, token=team.owner)
        assert answer.status == 404, (method, path, answer.status, answer.text)
        assert answer.json() == {"message": "Not Found"}, (method, path)  # the gateway's own answer
    assert audit_events(client, team.owner, team.org_id) == events


# --- last_active_at --------------------------------------------------------------------------------


def _updates(requests: support.DynamoRequests) -> int:
    assert requests.by_hook == requests.by_moto, requests
    return requests.by_hook.count("UpdateItem")


def test_last_active_at_is_written_at_most_once_an_hour_per_member(client, team, service_clock):
    def last_active(user_id: str) -> datetime:
        item = membership_item(team.org_id, user_id)
        assert item is not None
        return parse_time(str(item["last_active_at"]).replace("+0000", "+00:00"))

    joined = last_active(team.member_id)

    def at(since_join: timedelta) -> None:
        """Move the services' clock to `since_join` after the member joined."""
        service_clock.advance(joined + since_join - service_clock.now())

    with count_dynamodb_requests() as requests:
        for _ in range(3):
            assert get_org(client, team.member, team.org_id).status == 200
    assert _updates(requests) == 0
    assert last_active(team.member_id) == joined

    at(timedelta(minutes=59))
    with count_dynamodb_requests() as requests:
        assert get_org(client, team.member, team.org_id).status == 200
    assert _updates(requests) == 0
    assert last_active(team.member_id) == joined

    at(timedelta(minutes=61))  # over an hour since the last write
    with count_dynamodb_requests() as requests:
        for _ in range(5):
            assert client.request("GET", f"/orgs/{team.org_id}/members", token=team.member).status == 200
    assert _updates(requests) == 1
    touched = last_active(team.member_id)
    assert touched > joined + timedelta(hours=1)
    assert abs(touched - service_clock.now()) < timedelta(minutes=1)
    listed = members(client, team.member, team.org_id)
    assert parse_time(listed[team.member_id]["last_active_at"]) == touched
    # Per member: the admin and the owner were not touched by the member's requests.
    assert last_active(team.admin_id) < touched - timedelta(minutes=59)
    assert last_active(team.owner_id) < touched - timedelta(minutes=59)

    at(timedelta(minutes=61 + 59))
    with count_dynamodb_requests() as requests:
        assert get_org(client, team.member, team.org_id).status == 200
    assert _updates(requests) == 0

    at(timedelta(minutes=61 + 62))
    with count_dynamodb_requests() as requests:
        assert get_org(client, team.member, team.org_id).status == 200
        assert get_org(client, team.admin, team.org_id).status == 200
        assert get_org(client, team.member, team.org_id).status == 200
    assert _updates(requests) == 2  # once for each of the two members
    assert last_active(team.member_id) > touched + timedelta(hours=1)


def _filtered(client: GatewayClient, team: Team, query: str) -> list[dict[str, Any]]:
    answer = client.request("GET", f"/orgs/{team.org_id}/audit-log?{query}", token=team.owner)
    assert answer.status == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["items"]
    return events


def test_audit_log_filters_by_actor_and_action(client, team, service_clock):
    for who in (team.owner, team.admin, team.owner):
        service_clock.advance(timedelta(seconds=1))
        assert client.request("PATCH", f"/orgs/{team.org_id}", {"name": "Renamed"}, token=who).status == 200
    everything = audit_events(client, team.owner, team.org_id)

    def expected(keep: Any) -> list[str]:
        return [event["id"] for event in everything if keep(event)]

    by_admin = _filtered(client, team, f"actor={team.admin_id}")
    assert [e["id"] for e in by_admin] == expected(lambda e: e["actor"]["id"] == team.admin_id)
    assert len(by_admin) >= 2  # joined, renamed
    by_email = _filtered(client, team, "actor=ADMIN%40example.com")
    assert [e["id"] for e in by_email] == [e["id"] for e in by_admin]

    renames = _filtered(client, team, "action=org.updated")
    assert [e["id"] for e in renames] == expected(lambda e: e["action"] == "org.updated")
    assert len(renames) == 3
    member_group = _filtered(client, team, "action=member")
    assert member_group and all(e["action"].startswith("member.") for e in member_group)
    assert [e["id"] for e in member_group] == expected(lambda e: e["action"].startswith("member."))

    both = _filtered(client, team, f"actor={team.owner_id}&action=org.updated")
    assert [e["id"] for e in both] == expected(
        lambda e: e["actor"]["id"] == team.owner_id and e["action"] == "org.updated"
    )
    assert len(both) == 2
    assert _filtered(client, team, "actor=nobody%40example.com") == []


def test_a_filtered_audit_log_pages_within_its_filter(client, team, service_clock):
    for i in range(4):
        service_clock.advance(timedelta(seconds=1))
        assert client.request("PATCH", f"/orgs/{team.org_id}", {"name": f"Name {i}"}, token=team.owner).status == 200
    first = client.request("GET", f"/orgs/{team.org_id}/audit-log?action=org.updated&limit=3", token=team.owner)
    assert first.status == 200, first.text
    cursor = first.json()["next_cursor"]
    assert [e["details"]["name"] for e in first.json()["items"]] == ["Name 3", "Name 2", "Name 1"]
    assert cursor is not None
    second = client.request(
        "GET", f"/orgs/{team.org_id}/audit-log?action=org.updated&limit=3&cursor={cursor}", token=team.owner
    )
    assert second.status == 200, second.text
    assert [e["details"]["name"] for e in second.json()["items"]] == ["Name 0"]
    assert second.json()["next_cursor"] is None


def test_audit_log_filters_are_bounded(client, team):
    too_long = "a" * 255
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/audit-log?actor={too_long}", token=team.owner),
        422,
        "validation_error",
    )
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/audit-log?action={'a' * 65}", token=team.owner),
        422,
        "validation_error",
    )
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/audit-log?action=org.updated", token=team.member), 403, "forbidden"
    )
