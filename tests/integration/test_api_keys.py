"""Organization API keys over the local gateway and the real authorizer (issue 6; API.md
api-keys routes, "Roles and permissions", "Details clients rely on").

One moto world and one team (owner, admin, member, and an outsider with an organization
of their own) serve the module; each test starts from that team's table. The
authorizer's per-container key cache is emptied before each test, and the tests that
are about time move the authorizer's own clocks (`time.monotonic` for the cache,
`datetime` for expiry and grace periods) besides the services' clock.
"""

from __future__ import annotations

import re
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest

from devserver.events import LambdaContext
from devserver.gateway import LocalGateway, load_handler
from devserver.template import api_spec
from kuploy_access.adapters.dynamodb.keys import API_KEY_PK_PREFIX, API_KEY_SK, api_key_pk
from kuploy_access.domain.api_keys import hash_key, new_key
from tests.integration import support
from tests.integration.gateway_client import SOURCE_IP, Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    new_user,
    restore_table,
    run_org_purge,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem, count_dynamodb_requests, raw_item, scan

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

# API.md's table, by hand: what a key may hold, and the presets.
KEY_SCOPES = {
    "org:read",
    "billing:read",
    "members:read",
    "projects:read",
    "apps:read",
    "databases:read",
    "notifications:read",
    "projects:write",
    "apps:write",
    "databases:write",
    "notifications:write",
    "apps:deploy",
    "audit:read",
}
READ_ONLY = {scope for scope in KEY_SCOPES if scope.endswith(":read")}
PRESETS = {"read-only": READ_ONLY, "deploy": READ_ONLY | {"apps:deploy"}, "full": KEY_SCOPES}
CREATED_FIELDS = {"id", "key", "prefix", "description", "scopes", "created_at", "expires_at"}
LISTED_FIELDS = {
    "id",
    "prefix",
    "description",
    "scopes",
    "created_by",
    "created_at",
    "expires_at",
    "last_used_at",
    "revoked_at",
}
KEY_CACHE_SECONDS = 5.0  # API.md: a revoked key is refused within 5 seconds
AUTHORIZER_MODULE = "kuploy_function_AuthorizerFunction"


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(world) -> LocalGateway:
    gateway = LocalGateway(api_spec())
    assert gateway.api.authorizer is not None
    load_handler(gateway.api.authorizer.function)
    return gateway


@dataclass
class Team:
    org_id: str
    owner_id: str
    owner: str
    admin_id: str
    admin: str
    member_id: str
    member: str
    outsider_id: str
    outsider: str
    other_org_id: str  # the outsider's own organization


@pytest.fixture(scope="module")
def team_table(world, gateway) -> tuple[Team, list[dict[str, Any]]]:
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        owner_id, owner = new_user(client, "owner@example.com", "Olive Owner")
        org_id = create_org(client, owner, "Analytical Engines")
        admin_id, admin = add_member(client, owner, org_id, "admin@example.com", "admin", "Adam Admin")
        member_id, member = add_member(client, owner, org_id, "member@example.com", "member", "Mia Member")
        outsider_id, outsider = new_user(client, "outsider@example.com", "Otto Outsider")
        other_org_id = create_org(client, outsider, "Difference Engines")
    team = Team(org_id, owner_id, owner, admin_id, admin, member_id, member, outsider_id, outsider, other_org_id)
    return team, table_snapshot()


@pytest.fixture
def team(aws, team_table) -> Team:
    restore_table(team_table[1])
    return team_table[0]


# --- the authorizer's container ----------------------------------------------------------------


def authorizer_modules() -> list[types.ModuleType]:
    """Every loaded copy (container) of the authorizer function."""
    found = [module for name, module in list(sys.modules.items()) if name.startswith(AUTHORIZER_MODULE)]
    assert found, "the authorizer is not loaded"
    return found


def forget_key_cache() -> None:
    """What a new container starts with: no key read yet."""
    for module in authorizer_modules():
        module.authorizer.forget_keys()


@pytest.fixture(autouse=True)
def cold_key_cache(gateway) -> Iterator[None]:
    forget_key_cache()
    yield
    forget_key_cache()


class AuthorizerClocks:
    """The authorizer's two clocks, moved by the test: `time.monotonic` (the key cache's
    age) and `datetime.now` (expiry, revocation, grace periods, the usage mark)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monotonic_offset = 0.0
        self.wall_offset = timedelta(0)
        real_monotonic = time.monotonic
        clocks = self

        class ShiftedDatetime(datetime):
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return datetime.now(tz) + clocks.wall_offset

        for module in authorizer_modules():
            monkeypatch.setattr(module.authorizer, "monotonic", lambda: real_monotonic() + clocks.monotonic_offset)
            monkeypatch.setattr(module, "datetime", ShiftedDatetime)

    def advance_cache_age(self, seconds: float) -> None:
        self.monotonic_offset += seconds

    def advance_wall(self, delta: timedelta) -> None:
        self.wall_offset += delta


@pytest.fixture
def authorizer_clocks(gateway, monkeypatch) -> AuthorizerClocks:
    return AuthorizerClocks(monkeypatch)


@contextmanager
def key_lookups() -> Iterator[list[str]]:
    """The DynamoDB operations the authorizer's own clients send (its key lookups and
    usage marks), in every container, whichever handler runs around it."""
    clients = [module.key_lookup()._client for module in authorizer_modules()]
    seen: list[str] = []

    def hook(model: Any, **_: Any) -> None:
        seen.append(model.name)

    for botocore_client in clients:
        botocore_client.meta.events.register("before-call.dynamodb", hook, unique_id="kuploy-key-lookups")
    try:
        yield seen
    finally:
        for botocore_client in clients:
            botocore_client.meta.events.unregister("before-call.dynamodb", unique_id="kuploy-key-lookups")


def authorizer_event(authorization: str, query: str = "") -> dict[str, Any]:
    return {
        "version": "2.0",
        "type": "REQUEST",
        "routeKey": "GET /orgs/{org_id}",
        "rawPath": "/orgs/x",
        "rawQueryString": query,
        "headers": {"authorization": authorization},
        "requestContext": {"http": {"method": "GET", "path": "/orgs/x", "sourceIp": SOURCE_IP}},
    }


# --- helpers -----------------------------------------------------------------------------------


def create_key(client: GatewayClient, token: str, org_id: str, body: Any, status: int = 201) -> dict[str, Any]:
    answer = client.request("POST", f"/orgs/{org_id}/api-keys", body, token=token)
    assert answer.status == status, answer.text
    created: dict[str, Any] = answer.json()
    return created


def key_of(client: GatewayClient, team: Team, preset: str = "full", description: str = "ci") -> dict[str, Any]:
    return create_key(client, team.owner, team.org_id, {"description": description, "preset": preset})


def listed(client: GatewayClient, team: Team) -> dict[str, dict[str, Any]]:
    answer = client.request("GET", f"/orgs/{team.org_id}/api-keys", token=team.owner)
    assert answer.status == 200, answer.text
    return {item["id"]: item for item in answer.json()["items"]}


def get_org(client: GatewayClient, key: str, org_id: str) -> Answer:
    return client.request("GET", f"/orgs/{org_id}", token=key)


def audit_events(client: GatewayClient, team: Team) -> list[dict[str, Any]]:
    answer = client.request("GET", f"/orgs/{team.org_id}/audit-log?limit=200", token=team.owner)
    assert answer.status == 200, answer.text
    events: list[dict[str, Any]] = answer.json()["items"]
    return events


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def key_items() -> list[dict[str, Any]]:
    return support.items_with_prefix(API_KEY_PK_PREFIX)


# --- create --------------------------------------------------------------------------------------


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_create_with_a_preset_answers_the_expanded_scopes_and_the_key_once(client, team, preset):
    created = create_key(client, team.owner, team.org_id, {"description": "GitHub deploy", "preset": preset})
    assert created.keys() >= CREATED_FIELDS
    assert created["preset"] == preset
    assert sorted(created["scopes"]) == created["scopes"]
    assert set(created["scopes"]) == PRESETS[preset]
    assert created["description"] == "GitHub deploy"
    assert created["id"].startswith("key_")
    assert created["expires_at"] is None
    secret = created["key"]
    assert re.fullmatch(r"kpy_[0-9A-Za-z]{36}", secret)
    assert secret.startswith(created["prefix"]) and len(created["prefix"]) <= 10

    # The list and the audit log never carry the secret.
    items = listed(client, team)
    assert created["id"] in items
    assert "key" not in items[created["id"]]
    listing = client.request("GET", f"/orgs/{team.org_id}/api-keys", token=team.owner).text
    assert secret not in listing and secret[4:] not in listing
    assert secret not in client.request("GET", f"/orgs/{team.org_id}/audit-log", token=team.owner).text


def test_the_table_keeps_only_the_sha256_of_the_key(client, team):
    created = key_of(client, team)
    secret = created["key"]
    random_part = secret[4:34]
    for item in scan():
        for value in item.values():
            text = str(value)
            assert secret not in text, item
            assert random_part not in text, item
    stored = raw_item(api_key_pk(hash_key(secret)), API_KEY_SK)
    assert stored is not None
    assert stored["key_id"] == created["id"]
    assert stored["org_id"] == team.org_id
    assert [item["pk"] for item in key_items()] == [api_key_pk(hash_key(secret))]


def test_create_with_scopes_answers_them_sorted_without_a_preset(client, team):
    body = {"description": "builds", "scopes": ["projects:write", "projects:read", "projects:read"]}
    created = create_key(client, team.owner, team.org_id, body)
    assert created["scopes"] == ["projects:read", "projects:write"]
    assert created.get("preset") is None
    assert listed(client, team)[created["id"]]["scopes"] == ["projects:read", "projects:write"]


def test_an_admin_may_create_a_key_and_is_its_creator(client, team):
    created = create_key(client, team.admin, team.org_id, {"description": "admin's", "preset": "deploy"})
    assert listed(client, team)[created["id"]]["created_by"] == team.admin_id


def test_a_member_may_not_manage_keys_and_an_outsider_does_not_see_the_org(client, team):
    key_id = key_of(client, team)["id"]
    body = {"description": "x", "preset": "read-only"}
    base = f"/orgs/{team.org_id}/api-keys"
    for method, path, sent in [
        ("POST", base, body),
        ("GET", base, None),
        ("DELETE", f"{base}/{key_id}", None),
        ("POST", f"{base}/{key_id}/rotate", {}),
    ]:
        assert_problem(client.request(method, path, sent, token=team.member), 403, "forbidden")
        assert_problem(client.request(method, path, sent, token=team.outsider), 404, "not_found")
    assert list(listed(client, team)) == [key_id]
    assert listed(client, team)[key_id]["revoked_at"] is None


BAD_BODIES = {
    "both scopes and preset": {"description": "x", "scopes": ["org:read"], "preset": "full"},
    "neither": {"description": "x"},
    "scopes null and preset null": {"description": "x", "scopes": None, "preset": None},
    "empty scopes": {"description": "x", "scopes": []},
    "unknown scope": {"description": "x", "scopes": ["projects:destroy"]},
    "unknown scope beside good ones": {"description": "x", "scopes": ["org:read", "org:*"]},
    "members:manage": {"description": "x", "scopes": ["members:manage"]},
    "billing:manage": {"description": "x", "scopes": ["billing:manage"]},
    "api_keys:manage": {"description": "x", "scopes": ["api_keys:manage"]},
    "org:delete": {"description": "x", "scopes": ["org:delete"]},
    "org:update": {"description": "x", "scopes": ["org:update", "org:read"]},
    "org:transfer_ownership": {"description": "x", "scopes": ["org:transfer_ownership"]},
    "unknown preset": {"description": "x", "preset": "admin"},
    "scopes not a list": {"description": "x", "scopes": "org:read"},
    "expires_in_days 0": {"description": "x", "preset": "full", "expires_in_days": 0},
    "expires_in_days 366": {"description": "x", "preset": "full", "expires_in_days": 366},
    "expires_in_days -1": {"description": "x", "preset": "full", "expires_in_days": -1},
    "expires_in_days x": {"description": "x", "preset": "full", "expires_in_days": "x"},
    "expires_in_days 1.5": {"description": "x", "preset": "full", "expires_in_days": 1.5},
    "no description": {"preset": "full"},
    "empty description": {"description": "", "preset": "full"},
    "blank description": {"description": "   ", "preset": "full"},
    "an unknown field": {"description": "x", "preset": "full", "org_id": "org_other"},
}


@pytest.mark.parametrize("name", list(BAD_BODIES))
def test_a_bad_create_body_is_422_and_creates_nothing(client, team, name):
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys", BAD_BODIES[name], token=team.owner)
    assert_problem(answer, 422, "validation_error")
    assert key_items() == []


@pytest.mark.parametrize("days", [None, 1, 365])
def test_expires_in_days_is_null_or_1_to_365(client, team, days):
    body = {"description": "x", "preset": "read-only", "expires_in_days": days}
    created = create_key(client, team.owner, team.org_id, body)
    if days is None:
        assert created["expires_at"] is None
    else:
        lifetime = at(created["expires_at"]) - at(created["created_at"])
        assert lifetime == timedelta(days=days)
    assert listed(client, team)[created["id"]]["expires_at"] == created["expires_at"]


def test_scopes_null_beside_a_preset_is_accepted(client, team):
    created = create_key(client, team.owner, team.org_id, {"description": "x", "scopes": None, "preset": "deploy"})
    assert set(created["scopes"]) == PRESETS["deploy"]
    assert created["preset"] == "deploy"


@pytest.mark.parametrize("days", [True, "30", False], ids=repr)
def test_expires_in_days_that_is_not_a_json_integer_is_422(client, team, days):
    body = {"description": "x", "preset": "full", "expires_in_days": days}
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys", body, token=team.owner)
    assert_problem(answer, 422, "validation_error")
    assert key_items() == []


def test_a_description_as_long_as_the_openapi_document_allows_is_accepted(client, team):
    document = client.request("GET", "/openapi.json").json()
    schema = document["components"]["schemas"]["CreateKeyRequest"]["properties"]["description"]
    longest = int(schema["maxLength"])
    body = {"description": "d" * longest, "preset": "read-only"}
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys", body, token=team.owner)
    assert answer.status == 201, answer.text


def test_a_body_that_is_not_an_object_is_400(client, team):
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys", raw=b"[]", token=team.owner)
    assert_problem(answer, 400, "validation_error")


# --- using a key ---------------------------------------------------------------------------------


def test_a_key_reads_its_organization(client, team):
    key = key_of(client, team, "read-only")["key"]
    answer = get_org(client, key, team.org_id)
    assert answer.status == 200, answer.text
    assert answer.json()["id"] == team.org_id
    members = client.request("GET", f"/orgs/{team.org_id}/members", token=key)
    assert members.status == 200, members.text
    assert {m["user_id"] for m in members.json()["items"]} == {team.owner_id, team.admin_id, team.member_id}


def test_a_key_is_refused_what_its_scopes_do_not_hold(client, team):
    read_only = key_of(client, team, "read-only")["key"]
    assert_problem(
        client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "w"}, token=read_only), 403, "forbidden"
    )
    assert client.request("GET", f"/orgs/{team.org_id}/projects", token=read_only).status == 200

    only_projects = create_key(client, team.owner, team.org_id, {"description": "p", "scopes": ["projects:read"]})[
        "key"
    ]
    assert client.request("GET", f"/orgs/{team.org_id}/projects", token=only_projects).status == 200
    assert_problem(get_org(client, only_projects, team.org_id), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/members", token=only_projects), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/billing", token=only_projects), 403, "forbidden")
    assert_problem(client.request("GET", f"/orgs/{team.org_id}/audit-log", token=only_projects), 403, "forbidden")
    # Nothing was made by the refused request.
    projects = client.request("GET", f"/orgs/{team.org_id}/projects", token=team.owner).json()["items"]
    assert projects == []


def test_a_deploy_key_deploys_but_does_not_write(client, team):
    project = client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "web"}, token=team.owner).json()
    apps = f"/orgs/{team.org_id}/projects/{project['id']}/applications"
    app = client.request("POST", apps, {"name": "api"}, token=team.owner).json()
    created = key_of(client, team, "deploy")
    deploy = client.request("POST", f"{apps}/{app['id']}/deployments", {"ref": "main"}, token=created["key"])
    assert deploy.status == 202, deploy.text
    assert deploy.json()["requested_by"] == created["id"]
    assert_problem(client.request("POST", apps, {"name": "x"}, token=created["key"]), 403, "forbidden")
    assert_problem(client.request("DELETE", f"{apps}/{app['id']}", token=created["key"]), 403, "forbidden")


def user_only_calls(team: Team, key_id: str) -> list[tuple[str, str, Any]]:
    org = f"/orgs/{team.org_id}"
    return [
        ("PATCH", org, {"name": "Taken"}),
        ("DELETE", org, None),
        ("POST", f"{org}/transfer-ownership", {"user_id": team.admin_id}),
        ("PATCH", f"{org}/members/{team.member_id}", {"role": "admin"}),
        ("DELETE", f"{org}/members/{team.member_id}", None),
        ("POST", f"{org}/invitations", {"email": "new@example.com", "role": "member"}),
        ("GET", f"{org}/invitations", None),
        ("PUT", f"{org}/billing", {"plan": "team"}),
        ("POST", f"{org}/api-keys", {"description": "child", "preset": "full"}),
        ("GET", f"{org}/api-keys", None),
        ("DELETE", f"{org}/api-keys/{key_id}", None),
        ("POST", f"{org}/api-keys/{key_id}/rotate", {}),
        ("GET", f"{org}/access-review", None),
        ("GET", "/me", None),
        ("PATCH", "/me", {"name": "Key"}),
        ("GET", "/me/sessions", None),
        ("POST", "/me/2fa/setup", None),
        ("GET", "/me/invitations", None),
        ("POST", "/orgs", {"name": "Made by a key"}),
        ("POST", f"/invitations/{'t' * 43}/accept", None),
        ("POST", f"/invitations/{'t' * 43}/decline", None),
        ("POST", "/me/invitations/inv_01nothing0000000000000000/accept", None),
    ]


def test_user_only_routes_answer_a_full_key_api_key_not_allowed_and_change_nothing(client, team):
    created = key_of(client, team, "full")
    before = {
        "org": get_org(client, team.owner, team.org_id).json(),
        "members": client.request("GET", f"/orgs/{team.org_id}/members", token=team.owner).json(),
        "orgs": client.request("GET", "/orgs", token=team.owner).json(),
    }
    for method, path, body in user_only_calls(team, created["id"]):
        answer = client.request(method, path, body, token=created["key"])
        assert_problem(answer, 403, "api_key_not_allowed")
    after = {
        "org": get_org(client, team.owner, team.org_id).json(),
        "members": client.request("GET", f"/orgs/{team.org_id}/members", token=team.owner).json(),
        "orgs": client.request("GET", "/orgs", token=team.owner).json(),
    }
    for name in ("org", "orgs"):
        assert after[name] == before[name]
    assert [(m["user_id"], m["role"]) for m in after["members"]["items"]] == [
        (m["user_id"], m["role"]) for m in before["members"]["items"]
    ]
    assert list(listed(client, team)) == [created["id"]]
    assert listed(client, team)[created["id"]]["revoked_at"] is None
    invitations = client.request("GET", f"/orgs/{team.org_id}/invitations", token=team.owner)
    assert invitations.status == 200, invitations.text
    assert invitations.json()["items"] == []
    # The key still works on what it holds.
    assert get_org(client, created["key"], team.org_id).status == 200


def test_a_key_answers_404_in_another_organization(client, team):
    key = key_of(client, team, "full")["key"]
    other = team.other_org_id
    assert_problem(get_org(client, key, other), 404, "not_found")
    assert_problem(client.request("GET", f"/orgs/{other}/projects", token=key), 404, "not_found")
    assert_problem(client.request("POST", f"/orgs/{other}/projects", {"name": "x"}, token=key), 404, "not_found")
    assert_problem(get_org(client, key, "org_01doesnotexist00000000000"), 404, "not_found")
    assert client.request("GET", f"/orgs/{other}/projects", token=team.outsider).json()["items"] == []


def test_a_key_in_the_query_string_is_refused_even_with_a_valid_header(client, team):
    key = key_of(client, team, "full")["key"]
    for query in (f"api_key={key}", f"token={key}", f"x=1&key={key}"):
        answer = client.request("GET", f"/orgs/{team.org_id}?{query}", token=key)
        assert_problem(answer, 401, "invalid_token")
        answer = client.request("GET", f"/orgs/{team.org_id}?{query}", token=team.owner)
        assert_problem(answer, 401, "invalid_token")
    # The header alone is fine.
    assert get_org(client, key, team.org_id).status == 200


def test_a_percent_encoded_key_in_the_query_string_is_refused_too(client, team):
    key = key_of(client, team, "full")["key"]
    for encoded in (key.replace("_", "%5F"), "%6B" + key[1:], "".join(f"%{ord(c):02X}" for c in key)):
        answer = client.request("GET", f"/orgs/{team.org_id}?api_key={encoded}", token=key)
        assert_problem(answer, 401, "invalid_token")


def typos(key: str) -> dict[str, str]:
    flip = {c: ("b" if c == "a" else "a") for c in set(key)}
    return {
        "one character of the random part": key[:10] + flip[key[10]] + key[11:],
        "one character of the checksum": key[:-1] + flip[key[-1]],
        "truncated": key[:-1],
        "one character too many": key + "Z",
        "swapped neighbours": key[:12] + key[13] + key[12] + key[14:] if key[12] != key[13] else key[:-2],
        "upper-case prefix": "KPY_" + key[4:],
        "no prefix": key[4:],
    }


def test_a_mistyped_key_is_401_invalid_token_without_a_database_call(client, team):
    key = key_of(client, team, "full")["key"]
    for name, typo in typos(key).items():
        assert typo != key
        with count_dynamodb_requests() as requests, key_lookups() as lookups:
            answer = get_org(client, typo, team.org_id)
        assert_problem(answer, 401, "invalid_token")
        assert requests.by_moto == [], (name, requests)
        assert requests.by_hook == [], (name, requests)
        assert lookups == [], name


def test_a_well_formed_unknown_key_is_401_after_one_getitem(client, team):
    with count_dynamodb_requests() as requests, key_lookups() as lookups:
        answer = get_org(client, new_key(), team.org_id)
    assert_problem(answer, 401, "invalid_token")
    assert lookups == ["GetItem"]
    assert requests.by_moto == ["GetItem"]


# --- the authorizer's cost and cache -------------------------------------------------------------


def test_a_keys_authorization_is_one_getitem_then_free_while_the_cache_is_warm(client, team):
    created = key_of(client, team, "read-only")
    authorizer = load_handler(client.gateway.api.authorizer.function)
    event = authorizer_event(f"Bearer {created['key']}")

    with count_dynamodb_requests() as cold:
        answer = authorizer(event, LambdaContext("AuthorizerFunction"))
    context = answer["context"]
    assert answer["isAuthorized"] is True
    assert context["principal_type"] == "api_key"
    assert context["principal_id"] == created["id"]
    assert context["org_id"] == team.org_id
    assert set(context["scopes"].split()) == READ_ONLY
    assert context["auth_error"] == ""
    # One read by hash; the first use of the key is also marked (at most one write).
    assert cold.by_moto[0] == "GetItem"
    assert cold.by_moto.count("GetItem") == 1
    assert cold.by_moto.count("UpdateItem") <= 1
    assert set(cold.by_moto) <= {"GetItem", "UpdateItem"}

    with count_dynamodb_requests() as warm:
        again = authorizer(event, LambdaContext("AuthorizerFunction"))
    assert again == answer
    assert warm.by_moto == []


def test_through_the_gateway_the_authorizer_reads_the_key_once_per_cache_period(client, team, authorizer_clocks):
    key = key_of(client, team, "read-only")["key"]
    with key_lookups() as first:
        assert get_org(client, key, team.org_id).status == 200
    assert first.count("GetItem") == 1
    assert set(first) <= {"GetItem", "UpdateItem"}
    with key_lookups() as second:
        assert get_org(client, key, team.org_id).status == 200
        authorizer_clocks.advance_cache_age(KEY_CACHE_SECONDS - 0.5)
        assert get_org(client, key, team.org_id).status == 200
    assert second == []
    authorizer_clocks.advance_cache_age(1.0)
    with key_lookups() as third:
        assert get_org(client, key, team.org_id).status == 200
    assert third == ["GetItem"]


# --- revoke --------------------------------------------------------------------------------------


def test_a_revoked_key_is_refused(client, team):
    created = key_of(client, team, "full")
    assert get_org(client, created["key"], team.org_id).status == 200
    answer = client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{created['id']}", token=team.owner)
    assert answer.status == 204, answer.text
    forget_key_cache()  # another container, or this one after its cache period
    assert_problem(get_org(client, created["key"], team.org_id), 401, "invalid_token")
    assert_problem(
        client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "x"}, token=created["key"]),
        401,
        "invalid_token",
    )
    revoked_at = listed(client, team)[created["id"]]["revoked_at"]
    assert revoked_at is not None
    assert abs(at(revoked_at) - datetime.now(UTC)) < timedelta(minutes=1)
    # Gone for good: neither revoked again nor rotated back to life.
    assert_problem(
        client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{created['id']}", token=team.owner), 404, "not_found"
    )
    assert_problem(
        client.request("POST", f"/orgs/{team.org_id}/api-keys/{created['id']}/rotate", {}, token=team.owner),
        404,
        "not_found",
    )


def test_the_revocation_bound_a_warm_container_passes_a_revoked_key_for_at_most_the_cache_period(
    client, team, authorizer_clocks
):
    created = key_of(client, team, "full")
    assert get_org(client, created["key"], team.org_id).status == 200  # the container's cache is warm
    answer = client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{created['id']}", token=team.owner)
    assert answer.status == 204, answer.text

    # Right after DELETE the warm container may still let it through (its bound)...
    assert get_org(client, created["key"], team.org_id).status in (200, 401)
    # ...but never once KEY_CACHE_SECONDS have passed since it last read the key.
    authorizer_clocks.advance_cache_age(KEY_CACHE_SECONDS + 0.1)
    assert_problem(get_org(client, created["key"], team.org_id), 401, "invalid_token")
    authorizer_clocks.advance_cache_age(60)
    assert_problem(get_org(client, created["key"], team.org_id), 401, "invalid_token")


def test_the_authorizer_caches_keys_for_at_most_five_seconds():
    from kuploy_access.services import authorizer

    assert 0 < authorizer.KEY_CACHE_SECONDS <= KEY_CACHE_SECONDS


def test_revoking_a_key_of_another_organization_is_404(client, team):
    other = create_key(client, team.outsider, team.other_org_id, {"description": "theirs", "preset": "full"})
    answer = client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{other['id']}", token=team.owner)
    assert_problem(answer, 404, "not_found")
    assert get_org(client, other["key"], team.other_org_id).status == 200


# --- rotate --------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [None, {}, {"grace_period_hours": None}, {"grace_period_hours": 0}], ids=repr)
def test_rotation_without_grace_refuses_the_old_key_at_once(client, team, body):
    old = create_key(
        client, team.owner, team.org_id, {"description": "builds", "scopes": ["org:read", "projects:write"]}
    )
    assert get_org(client, old["key"], team.org_id).status == 200
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", body, token=team.owner)
    assert answer.status == 201, answer.text
    new = answer.json()
    assert new.keys() >= CREATED_FIELDS
    assert new["id"] != old["id"] and new["key"] != old["key"]
    assert (
        (new["description"], new["scopes"])
        == (old["description"], old["scopes"])
        == (
            "builds",
            ["org:read", "projects:write"],
        )
    )

    forget_key_cache()
    assert_problem(get_org(client, old["key"], team.org_id), 401, "invalid_token")
    assert get_org(client, new["key"], team.org_id).status == 200
    made = client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "rotated"}, token=new["key"])
    assert made.status == 201, made.text

    keys = listed(client, team)
    assert keys[old["id"]]["revoked_at"] is not None
    assert keys[new["id"]]["revoked_at"] is None
    assert keys[new["id"]]["scopes"] == old["scopes"]


def test_rotation_keeps_the_preset_and_the_lifetime(client, team):
    old = create_key(
        client, team.owner, team.org_id, {"description": "30 days", "preset": "deploy", "expires_in_days": 30}
    )
    answer = client.request("POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {}, token=team.owner)
    assert answer.status == 201, answer.text
    new = answer.json()
    assert new["preset"] == "deploy"
    assert set(new["scopes"]) == PRESETS["deploy"]
    assert at(new["expires_at"]) - at(new["created_at"]) == timedelta(days=30)


def test_rotation_with_a_grace_period_keeps_the_old_key_working_until_it_ends(
    client, team, service_clock, authorizer_clocks
):
    old = key_of(client, team, "full", "deploy bot")
    answer = client.request(
        "POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {"grace_period_hours": 1}, token=team.owner
    )
    assert answer.status == 201, answer.text
    new = answer.json()
    assert (new["description"], new["scopes"], new["preset"]) == ("deploy bot", old["scopes"], "full")

    forget_key_cache()
    assert get_org(client, old["key"], team.org_id).status == 200
    assert get_org(client, new["key"], team.org_id).status == 200
    ends = at(listed(client, team)[old["id"]]["revoked_at"])
    assert ends == at(new["created_at"]) + timedelta(hours=1)

    # The authorizer's clock, five minutes before the end of the grace period.
    authorizer_clocks.advance_wall(ends - datetime.now(UTC) - timedelta(minutes=5))
    forget_key_cache()
    assert get_org(client, old["key"], team.org_id).status == 200

    service_clock.advance(timedelta(hours=1, minutes=1))
    authorizer_clocks.advance_wall(timedelta(minutes=6))
    forget_key_cache()
    assert_problem(get_org(client, old["key"], team.org_id), 401, "invalid_token")
    assert get_org(client, new["key"], team.org_id).status == 200


def test_a_key_in_its_grace_period_can_be_cut_short_by_revoking_it(client, team):
    old = key_of(client, team, "full")
    answer = client.request(
        "POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {"grace_period_hours": 24}, token=team.owner
    )
    assert answer.status == 201, answer.text
    new = answer.json()
    revoked = client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{old['id']}", token=team.owner)
    assert revoked.status == 204, revoked.text
    forget_key_cache()
    assert_problem(get_org(client, old["key"], team.org_id), 401, "invalid_token")
    assert get_org(client, new["key"], team.org_id).status == 200


@pytest.mark.parametrize(
    "hours",
    [
        -1,
        169,
        "x",
        1.5,
        True,
        "1",
    ],
    ids=repr,
)
def test_a_bad_grace_period_is_422_and_rotates_nothing(client, team, hours):
    old = key_of(client, team)
    answer = client.request(
        "POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {"grace_period_hours": hours}, token=team.owner
    )
    assert_problem(answer, 422, "validation_error")
    assert list(listed(client, team)) == [old["id"]]
    assert get_org(client, old["key"], team.org_id).status == 200


def test_the_longest_grace_period_is_accepted(client, team):
    old = key_of(client, team)
    answer = client.request(
        "POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {"grace_period_hours": 168}, token=team.owner
    )
    assert answer.status == 201, answer.text
    ends = at(listed(client, team)[old["id"]]["revoked_at"])
    assert timedelta(hours=167) < ends - datetime.now(UTC) <= timedelta(hours=168)


def test_two_rotations_of_one_key_at_once_make_exactly_one_new_key(client, team, monkeypatch):
    from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository

    old = key_of(client, team, "deploy")
    support.meet_before(monkeypatch, DynamoApiKeyRepository, "rotate", 2)  # both have read the live key

    def rotate(_: int) -> Answer:
        return client.request("POST", f"/orgs/{team.org_id}/api-keys/{old['id']}/rotate", {}, token=team.owner)

    outcomes = support.run_together(2, rotate)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    answers = sorted((answer for _, answer in outcomes), key=lambda a: a.status)
    assert [a.status for a in answers] == [201, 404], [a.text for a in answers]
    assert_problem(answers[1], 404, "not_found")
    keys = listed(client, team)
    assert set(keys) == {old["id"], answers[0].json()["id"]}
    forget_key_cache()
    assert_problem(get_org(client, old["key"], team.org_id), 401, "invalid_token")
    assert get_org(client, answers[0].json()["key"], team.org_id).status == 200


# --- expiry --------------------------------------------------------------------------------------


def test_an_expired_key_is_refused(client, team, authorizer_clocks):
    created = create_key(
        client, team.owner, team.org_id, {"description": "short", "preset": "full", "expires_in_days": 1}
    )
    assert get_org(client, created["key"], team.org_id).status == 200
    authorizer_clocks.advance_wall(timedelta(hours=23))
    forget_key_cache()
    assert get_org(client, created["key"], team.org_id).status == 200
    authorizer_clocks.advance_wall(timedelta(hours=1, minutes=1))
    forget_key_cache()
    assert_problem(get_org(client, created["key"], team.org_id), 401, "invalid_token")


# --- the list and the usage mark -----------------------------------------------------------------


def test_the_list_shows_prefix_creator_and_usage_never_the_secret(client, team):
    first = key_of(client, team, "read-only", "first")
    second = create_key(client, team.admin, team.org_id, {"description": "second", "scopes": ["audit:read"]})
    answer = client.request("GET", f"/orgs/{team.org_id}/api-keys", token=team.owner)
    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [second["id"], first["id"]]  # newest first
    for item, created, creator in ((body["items"][1], first, team.owner_id), (body["items"][0], second, team.admin_id)):
        assert item.keys() >= LISTED_FIELDS
        assert "key" not in item
        assert item["prefix"] == created["prefix"]
        assert created["key"].startswith(item["prefix"]) and len(item["prefix"]) <= 10
        assert item["created_by"] == creator
        assert item["created_at"] == created["created_at"]
        assert item["scopes"] == created["scopes"]
        assert item["last_used_at"] is None
        assert item["revoked_at"] is None
        assert created["key"] not in answer.text


def test_the_key_list_pages_like_every_list(client, team):
    ids = {key_of(client, team, "read-only", f"k{i}")["id"] for i in range(3)}
    assert_problem(
        client.request("GET", f"/orgs/{team.org_id}/api-keys?limit=201", token=team.owner), 422, "validation_error"
    )
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        path = f"/orgs/{team.org_id}/api-keys?limit=1" + (f"&cursor={cursor}" if cursor else "")
        answer = client.request("GET", path, token=team.owner)
        assert answer.status == 200, answer.text
        page = answer.json()
        assert len(page["items"]) <= 1
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(ids)


def test_last_used_at_is_written_once_a_minute_at_most(client, team, authorizer_clocks):
    created = key_of(client, team, "read-only")
    with count_dynamodb_requests() as quick:
        for _ in range(3):
            assert get_org(client, created["key"], team.org_id).status == 200
    assert quick.by_moto.count("UpdateItem") == 1, quick
    used = listed(client, team)[created["id"]]["last_used_at"]
    assert used is not None
    assert abs(at(used) - datetime.now(UTC)) < timedelta(minutes=1)
    stored = raw_item(api_key_pk(hash_key(created["key"])), API_KEY_SK)
    assert stored is not None and stored["last_used_ip"] == SOURCE_IP

    # Across containers too (each reads the key afresh): the condition lets none write.
    with count_dynamodb_requests() as across:
        for _ in range(3):
            forget_key_cache()
            assert get_org(client, created["key"], team.org_id).status == 200
    assert across.by_moto.count("UpdateItem") == 0, across
    assert listed(client, team)[created["id"]]["last_used_at"] == used

    authorizer_clocks.advance_wall(timedelta(seconds=61))
    with count_dynamodb_requests() as later:
        for _ in range(3):
            assert get_org(client, created["key"], team.org_id).status == 200
    assert later.by_moto.count("UpdateItem") == 1, later
    moved = listed(client, team)[created["id"]]["last_used_at"]
    assert at(moved) - at(used) >= timedelta(seconds=60)


def test_the_usage_mark_is_conditional_so_racing_containers_write_once(client, team):
    created = key_of(client, team, "read-only")
    lookup = sys.modules[AUTHORIZER_MODULE].key_lookup()
    key_hash = hash_key(created["key"])
    now = datetime.now(UTC)
    assert lookup.mark_used(key_hash, now, SOURCE_IP) is True
    assert lookup.mark_used(key_hash, now + timedelta(seconds=1), SOURCE_IP) is False
    assert lookup.mark_used(key_hash, now + timedelta(seconds=59), SOURCE_IP) is False
    assert lookup.mark_used(key_hash, now + timedelta(seconds=61), SOURCE_IP) is True
    # A key that is gone is not brought back by a late mark.
    assert lookup.mark_used(hash_key(new_key()), now, SOURCE_IP) is False
    assert len(key_items()) == 1


def test_a_failed_usage_mark_does_not_refuse_a_valid_key(client, team, monkeypatch):
    from botocore.exceptions import ClientError

    key = key_of(client, team, "read-only")["key"]

    def throttled(**_: Any) -> Any:
        error = {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds capacity"}
        raise ClientError({"Error": error}, "UpdateItem")

    for module in authorizer_modules():
        monkeypatch.setattr(module.key_lookup()._client, "update_item", throttled)
    answer = get_org(client, key, team.org_id)
    assert answer.status == 200, answer.text


# --- the key belongs to the organization ---------------------------------------------------------


def test_a_key_keeps_working_after_its_creator_leaves(client, team):
    created = create_key(client, team.admin, team.org_id, {"description": "admin's ci", "preset": "full"})
    left = client.request("DELETE", f"/orgs/{team.org_id}/members/{team.admin_id}", token=team.admin)
    assert left.status == 204, left.text
    forget_key_cache()
    assert get_org(client, created["key"], team.org_id).status == 200
    made = client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "still"}, token=created["key"])
    assert made.status == 201, made.text
    assert listed(client, team)[created["id"]]["created_by"] == team.admin_id


def test_deleting_the_organization_kills_its_keys(client, team, authorizer_clocks):
    mine = key_of(client, team, "full")
    other = create_key(client, team.outsider, team.other_org_id, {"description": "theirs", "preset": "full"})
    assert get_org(client, mine["key"], team.org_id).status == 200  # warm in this container
    assert client.request("DELETE", f"/orgs/{team.org_id}", token=team.owner).status == 204

    # Marked deleted: the key still passes the authorizer until the purge removes it,
    # but its organization is gone.
    assert_problem(get_org(client, mine["key"], team.org_id), 404, "not_found")
    run_org_purge(client, team.org_id)
    answer = get_org(client, mine["key"], team.org_id)
    assert answer.status in (401, 404), answer.text  # within the cache period
    authorizer_clocks.advance_cache_age(KEY_CACHE_SECONDS + 0.1)
    assert_problem(get_org(client, mine["key"], team.org_id), 401, "invalid_token")
    forget_key_cache()
    assert_problem(get_org(client, mine["key"], team.org_id), 401, "invalid_token")

    remaining = key_items()
    assert [item["org_id"] for item in remaining] == [team.other_org_id]
    assert raw_item(api_key_pk(hash_key(mine["key"])), API_KEY_SK) is None
    assert get_org(client, other["key"], team.other_org_id).status == 200


def test_require_2fa_does_not_apply_to_keys(client, team, service_clock):
    key = key_of(client, team, "full")["key"]
    setup = client.request("POST", "/me/2fa/setup", token=team.owner)
    assert setup.status == 200, setup.text
    code = pyotp.TOTP(setup.json()["secret"]).at(int(service_clock.now().timestamp()))
    enabled = client.request("POST", "/me/2fa/enable", {"code": code}, token=team.owner)
    assert enabled.status == 200, enabled.text
    policy = client.request("PATCH", f"/orgs/{team.org_id}", {"require_2fa": True}, token=team.owner)
    assert policy.status == 200, policy.text
    assert policy.json()["require_2fa"] is True

    assert_problem(get_org(client, team.member, team.org_id), 403, "two_factor_required")
    forget_key_cache()
    assert get_org(client, key, team.org_id).status == 200
    made = client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "policy"}, token=key)
    assert made.status == 201, made.text


# --- the audit log -------------------------------------------------------------------------------


def test_key_management_is_audited_with_the_user_as_actor(client, team):
    created = key_of(client, team, "read-only", "audited")
    rotated = client.request("POST", f"/orgs/{team.org_id}/api-keys/{created['id']}/rotate", {}, token=team.owner)
    assert rotated.status == 201, rotated.text
    new_id = rotated.json()["id"]
    revoked = client.request("DELETE", f"/orgs/{team.org_id}/api-keys/{new_id}", token=team.owner)
    assert revoked.status == 204, revoked.text

    events = audit_events(client, team)
    by_action = {event["action"]: event for event in events if event["action"].startswith("api_key.")}
    assert set(by_action) == {"api_key.created", "api_key.rotated", "api_key.revoked"}
    for event in by_action.values():
        assert event["actor"]["type"] == "user"
        assert event["actor"]["id"] == team.owner_id
        assert event["ip"] == SOURCE_IP
    assert by_action["api_key.created"]["target"] == created["id"]
    assert by_action["api_key.rotated"]["target"] == created["id"]
    assert by_action["api_key.revoked"]["target"] == new_id
    text = client.request("GET", f"/orgs/{team.org_id}/audit-log?limit=200", token=team.owner).text
    assert created["key"] not in text and rotated.json()["key"] not in text


def test_a_keys_own_actions_are_audited_with_the_key_as_actor(client, team):
    created = create_key(client, team.owner, team.org_id, {"description": "ci", "scopes": ["projects:write"]})
    made = client.request("POST", f"/orgs/{team.org_id}/projects", {"name": "by key"}, token=created["key"])
    assert made.status == 201, made.text
    events = [e for e in audit_events(client, team) if e["action"] == "project.created"]
    assert len(events) == 1
    assert events[0]["actor"]["type"] == "api_key"
    assert events[0]["actor"]["id"] == created["id"]
    assert events[0]["target"] == made.json()["id"]

    # A key with audit:read reads the log.
    reader = key_of(client, team, "read-only")["key"]
    answer = client.request("GET", f"/orgs/{team.org_id}/audit-log", token=reader)
    assert answer.status == 200, answer.text
    assert "project.created" in [e["action"] for e in answer.json()["items"]]
