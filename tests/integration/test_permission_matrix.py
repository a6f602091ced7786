"""Every organization route × every role, generated from the permission table.

The cases come from `ROUTE_PERMISSIONS` (which permission each route needs) and
`is_permitted` over `ROLE_PERMISSIONS` (which role holds it): a route or a permission
added to the table is walked here without editing this file. What the file does hold by
hand is how to call each route (its path parameters and a valid body), and a copy of
API.md's table, so that the generated expectations are checked against the contract
rather than against themselves.

One moto world and one organization (owner, admin, member, and a spare member the
others act on) serve the module. Routes that would spoil the organization for later
cases (deleting it, transferring it, removing or losing a member) get a fresh
organization, with the same people, per case.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest

from devserver.template import api_spec
from kuploy_access.adapters.dynamodb.keys import RATE_COUNTER_PK_PREFIX, member_sk, org_pk
from kuploy_access.domain import permissions as perms
from kuploy_access.domain.permissions import (
    ROLE_PERMISSIONS,
    ROUTE_PERMISSIONS,
    OrgGrant,
    Role,
    is_permitted,
)
from kuploy_access.domain.rate_limits import ORGS_CREATED_PER_ACCOUNT
from kuploy_access.services import organizations as organizations_service
from tests.integration import support
from tests.integration.declared_answers import declared_answers
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import create_org, new_user
from tests.integration.support import assert_problem

ROLES: tuple[str, ...] = tuple(role.value for role in Role)
PEOPLE = ("owner", "admin", "member", "spare", "outsider")
ORG_PREFIX = "/orgs/{org_id}"
_unique = itertools.count(1)


# --- the world -------------------------------------------------------------------------------


@dataclass
class Org:
    """One organization: the owner, an admin, a member, and a spare member (role member)
    that the routes acting on "someone else" act on."""

    id: str
    project_id: str = ""
    app_id: str = ""


@dataclass
class World:
    client: GatewayClient
    user_ids: dict[str, str]
    tokens: dict[str, str]
    emails: dict[str, str]
    base: Org = field(default_factory=lambda: Org(""))

    def call(self, method: str, path: str, body: Any = None, *, as_: str) -> Answer:
        return self.client.request(method, path, body, token=self.tokens[as_])

    def owner_creates(self, path: str, body: dict[str, Any], status: int = 201) -> str:
        answer = self.call("POST", path, body, as_="owner")
        assert answer.status == status, (path, answer.status, answer.text)
        return str(answer.json()["id"])

    def join(self, org_id: str, person: str, role: str) -> None:
        """Invited by the owner, accepted from the console (`/me/invitations/{id}/accept`),
        so that it does not depend on the invitation emails' hourly limit per address."""
        invitation = self.owner_creates(f"/orgs/{org_id}/invitations", {"email": self.emails[person], "role": role})
        answer = self.call("POST", f"/me/invitations/{invitation}/accept", as_=person)
        assert answer.status == 200, answer.text
        assert answer.json() == {"org_id": org_id, "role": role}

    def new_org(self, name: str = "Matrix") -> Org:
        org = Org(create_org(self.client, self.tokens["owner"], name))
        self.join(org.id, "admin", "admin")
        self.join(org.id, "member", "member")
        self.join(org.id, "spare", "member")
        org.project_id = self.owner_creates(f"/orgs/{org.id}/projects", {"name": "web"})
        org.app_id = self.owner_creates(f"/orgs/{org.id}/projects/{org.project_id}/applications", {"name": "api"})
        return org

    def role_of(self, org_id: str, person: str) -> str | None:
        key = {"pk": {"S": org_pk(org_id)}, "sk": {"S": member_sk(self.user_ids[person])}}
        item = _dynamodb().get_item(TableName=support.table_name(), Key=key, ConsistentRead=True).get("Item")
        return None if item is None else str(item["role"]["S"])


_MISSING = object()


@contextmanager
def models_with_their_own_connections() -> Iterator[None]:
    """Give every PynamoDB model its own connection (with its own indexes) for the
    module, and put back what was there after.

    PynamoDB caches a connection on the model class, and a subclass without one of its
    own inherits its parent's: once `TableItem` (no index) has a connection, as it
    has after any transaction, a subclass that had none queries gsi1 through it and
    fails. Which models had one depends on the requests served before (see
    test_invitations.py's test of a cold container); this module tests permissions,
    so it starts from a known state.
    """
    from pynamodb.models import Model

    from kuploy_access.adapters.dynamodb import models

    classes = [
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, Model) and value.__module__ == models.__name__
    ]
    saved = {cls: cls.__dict__.get("_connection", _MISSING) for cls in classes}
    try:
        for cls in classes:
            cls._connection = None
            cls._get_connection()
        yield
    finally:
        for cls, value in saved.items():
            if value is _MISSING:
                if "_connection" in cls.__dict__:
                    delattr(cls, "_connection")
            else:
                cls._connection = value


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One moto world for the module, with cheap (but real) password hashing."""
    from kuploy_access import wiring
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher

    with (
        support.moto_world() as outbox,
        pytest.MonkeyPatch.context() as patch,
        models_with_their_own_connections(),
    ):
        cheap = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
        patch.setattr(wiring, "password_hasher", lambda: cheap)
        # One owner makes an organization for every case that spoils one, far more than
        # the daily cap per account; the cap has tests of its own (test_org_creation_limit).
        patch.setattr(
            organizations_service, "ORGS_CREATED_PER_ACCOUNT", replace(ORGS_CREATED_PER_ACCOUNT, limit=10_000)
        )
        client = GatewayClient(outbox)
        client.contract = declared_answers()  # every answer here is one openapi.json declares
        user_ids: dict[str, str] = {}
        tokens: dict[str, str] = {}
        emails: dict[str, str] = {}
        for person in PEOPLE:
            emails[person] = f"{person}@matrix.example.com"
            user_ids[person], tokens[person] = new_user(client, emails[person], person.title())
        built = World(client, user_ids, tokens, emails)
        built.base = built.new_org("Matrix base")
        yield built
        _dynamodb.cache_clear()


# --- how to call each route --------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    path: str
    body: Any = None


@dataclass(frozen=True)
class Case:
    """How to call one route as `role` in `org`: `prepare` makes what the call needs
    (with the owner's hands) and answers the path and body. `success` is the status
    API.md gives the route. `fresh_org`: the call spoils the organization."""

    prepare: Callable[[World, Org, str], Call]
    success: int = 200
    fresh_org: bool = False


def _email() -> str:
    return f"invitee-{next(_unique)}@matrix.example.com"


def _invitation(w: World, org: Org) -> str:
    return w.owner_creates(f"/orgs/{org.id}/invitations", {"email": _email(), "role": "member"})


def _project(w: World, org: Org) -> str:
    return w.owner_creates(f"/orgs/{org.id}/projects", {"name": f"doomed {next(_unique)}"})


def _app_path(org: Org) -> str:
    return f"/orgs/{org.id}/projects/{org.project_id}/applications/{org.app_id}"


def _application(w: World, org: Org) -> str:
    return w.owner_creates(f"/orgs/{org.id}/projects/{org.project_id}/applications", {"name": f"d{next(_unique)}"})


def _database(w: World, org: Org) -> str:
    return w.owner_creates(f"/orgs/{org.id}/databases", {"name": f"db{next(_unique)}", "engine": "postgres"})


def _channel(w: World, org: Org) -> str:
    return w.owner_creates(
        f"/orgs/{org.id}/notification-channels", {"name": f"ops{next(_unique)}", "kind": "email", "target": _email()}
    )


def _api_key(w: World, org: Org) -> str:
    return w.owner_creates(f"/orgs/{org.id}/api-keys", {"description": f"ci {next(_unique)}", "preset": "deploy"})


CASES: dict[str, Case] = {
    "POST /orgs/{org_id}/api-keys": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/api-keys", {"description": f"ci-{r}", "preset": "read-only"}), 201
    ),
    "GET /orgs/{org_id}/api-keys": Case(lambda w, o, r: Call(f"/orgs/{o.id}/api-keys")),
    "DELETE /orgs/{org_id}/api-keys/{key_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/api-keys/{_api_key(w, o)}"), 204
    ),
    "POST /orgs/{org_id}/api-keys/{key_id}/rotate": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/api-keys/{_api_key(w, o)}/rotate", {"grace_period_hours": 1}), 201
    ),
    "GET /orgs/{org_id}/access-review": Case(lambda w, o, r: Call(f"/orgs/{o.id}/access-review")),
    "GET /orgs/{org_id}": Case(lambda w, o, r: Call(f"/orgs/{o.id}")),
    "PATCH /orgs/{org_id}": Case(lambda w, o, r: Call(f"/orgs/{o.id}", {"name": f"Renamed by {r}"})),
    "DELETE /orgs/{org_id}": Case(lambda w, o, r: Call(f"/orgs/{o.id}"), 204, fresh_org=True),
    "POST /orgs/{org_id}/transfer-ownership": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/transfer-ownership", {"user_id": w.user_ids["spare"]}), fresh_org=True
    ),
    "GET /orgs/{org_id}/members": Case(lambda w, o, r: Call(f"/orgs/{o.id}/members")),
    # The spare member is made a member again: allowed calls change nothing later cases see.
    "PATCH /orgs/{org_id}/members/{user_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/members/{w.user_ids['spare']}", {"role": "member"})
    ),
    # Removing someone else (leaving is tested on its own below).
    "DELETE /orgs/{org_id}/members/{user_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/members/{w.user_ids['spare']}"), 204, fresh_org=True
    ),
    "POST /orgs/{org_id}/invitations": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/invitations", {"email": _email(), "role": "member"}), 201
    ),
    "GET /orgs/{org_id}/invitations": Case(lambda w, o, r: Call(f"/orgs/{o.id}/invitations")),
    "DELETE /orgs/{org_id}/invitations/{invitation_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/invitations/{_invitation(w, o)}"), 204
    ),
    "POST /orgs/{org_id}/invitations/{invitation_id}/resend": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/invitations/{_invitation(w, o)}/resend"), 202
    ),
    "GET /orgs/{org_id}/billing": Case(lambda w, o, r: Call(f"/orgs/{o.id}/billing")),
    "PUT /orgs/{org_id}/billing": Case(lambda w, o, r: Call(f"/orgs/{o.id}/billing", {"plan": "team"})),
    "GET /orgs/{org_id}/audit-log": Case(lambda w, o, r: Call(f"/orgs/{o.id}/audit-log")),
    "GET /orgs/{org_id}/projects": Case(lambda w, o, r: Call(f"/orgs/{o.id}/projects")),
    "POST /orgs/{org_id}/projects": Case(lambda w, o, r: Call(f"/orgs/{o.id}/projects", {"name": f"by {r}"}), 201),
    "GET /orgs/{org_id}/projects/{project_id}": Case(lambda w, o, r: Call(f"/orgs/{o.id}/projects/{o.project_id}")),
    "PATCH /orgs/{org_id}/projects/{project_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/projects/{o.project_id}", {"name": "web"})
    ),
    "DELETE /orgs/{org_id}/projects/{project_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/projects/{_project(w, o)}"), 204
    ),
    "GET /orgs/{org_id}/projects/{project_id}/applications": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/projects/{o.project_id}/applications")
    ),
    "POST /orgs/{org_id}/projects/{project_id}/applications": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/projects/{o.project_id}/applications", {"name": f"by-{r}"}), 201
    ),
    "DELETE /orgs/{org_id}/projects/{project_id}/applications/{app_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/projects/{o.project_id}/applications/{_application(w, o)}"), 204
    ),
    "GET /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": Case(
        lambda w, o, r: Call(f"{_app_path(o)}/deployments")
    ),
    "POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": Case(
        lambda w, o, r: Call(f"{_app_path(o)}/deployments", {"ref": "main"}), 202
    ),
    "GET /orgs/{org_id}/databases": Case(lambda w, o, r: Call(f"/orgs/{o.id}/databases")),
    "POST /orgs/{org_id}/databases": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/databases", {"name": f"db-{r}", "engine": "mysql"}), 201
    ),
    "DELETE /orgs/{org_id}/databases/{db_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/databases/{_database(w, o)}"), 204
    ),
    "GET /orgs/{org_id}/notification-channels": Case(lambda w, o, r: Call(f"/orgs/{o.id}/notification-channels")),
    "POST /orgs/{org_id}/notification-channels": Case(
        lambda w, o, r: Call(
            f"/orgs/{o.id}/notification-channels",
            {"name": f"hook-{r}", "kind": "webhook", "target": "https://hooks.example.com/kuploy"},
        ),
        201,
    ),
    "DELETE /orgs/{org_id}/notification-channels/{channel_id}": Case(
        lambda w, o, r: Call(f"/orgs/{o.id}/notification-channels/{_channel(w, o)}"), 204
    ),
}


def _method(route_key: str) -> str:
    return route_key.split(" ", 1)[0]


@functools.cache
def _dynamodb() -> Any:
    # One client for the module: support.scan() builds one per call, which costs more
    # than the request under test.
    return boto3.client("dynamodb", region_name=support.REGION)


def _state() -> list[tuple[str, str, str]]:
    """Every item of the table but the rate-limit counters, in a stable order. Read from
    moto's backend: a Scan through botocore would cost more than the call under test."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][support.REGION].get_table(support.table_name())
    items = []
    for item in table.all_items():
        attributes = item.to_json()["Attributes"]
        pk, sk = attributes["pk"]["S"], attributes["sk"]["S"]
        if not pk.startswith(RATE_COUNTER_PK_PREFIX):
            items.append((pk, sk, json.dumps(attributes, sort_keys=True)))
    assert items, "the table looks empty: is this moto's table?"
    return sorted(items)


# --- the table itself ---------------------------------------------------------------------------


# API.md's "Roles and permissions" table, copied by hand: the oracle the code's table is
# held to (a matrix generated from a wrong table would agree with the wrong table).
API_MD_ROLES: dict[str, set[str]] = {
    "owner": {
        "org:read",
        "org:update",
        "org:delete",
        "billing:read",
        "billing:manage",
        "members:read",
        "members:manage",
        "projects:read",
        "apps:read",
        "databases:read",
        "notifications:read",
        "projects:write",
        "apps:write",
        "databases:write",
        "notifications:write",
        "apps:deploy",
        "api_keys:manage",
        "audit:read",
    },
    "admin": {
        "org:read",
        "org:update",
        "billing:read",
        "members:read",
        "members:manage",
        "projects:read",
        "apps:read",
        "databases:read",
        "notifications:read",
        "projects:write",
        "apps:write",
        "databases:write",
        "notifications:write",
        "apps:deploy",
        "api_keys:manage",
        "audit:read",
    },
    "member": {
        "org:read",
        "members:read",
        "projects:read",
        "apps:read",
        "databases:read",
        "notifications:read",
        "apps:deploy",
    },
}

# API.md's organization routes and their permission ("owner" for transfer-ownership;
# the deployments list is an extension, guarded like the other application reads).
API_MD_ROUTES: dict[str, str] = {
    "GET /orgs/{org_id}": "org:read",
    "PATCH /orgs/{org_id}": "org:update",
    "DELETE /orgs/{org_id}": "org:delete",
    "POST /orgs/{org_id}/transfer-ownership": "owner",
    "GET /orgs/{org_id}/members": "members:read",
    "PATCH /orgs/{org_id}/members/{user_id}": "members:manage",
    "DELETE /orgs/{org_id}/members/{user_id}": "members:manage",
    "POST /orgs/{org_id}/invitations": "members:manage",
    "GET /orgs/{org_id}/invitations": "members:manage",
    "DELETE /orgs/{org_id}/invitations/{invitation_id}": "members:manage",
    "POST /orgs/{org_id}/invitations/{invitation_id}/resend": "members:manage",
    "GET /orgs/{org_id}/billing": "billing:read",
    "PUT /orgs/{org_id}/billing": "billing:manage",
    "GET /orgs/{org_id}/audit-log": "audit:read",
    "POST /orgs/{org_id}/api-keys": "api_keys:manage",
    "GET /orgs/{org_id}/api-keys": "api_keys:manage",
    "DELETE /orgs/{org_id}/api-keys/{key_id}": "api_keys:manage",
    "POST /orgs/{org_id}/api-keys/{key_id}/rotate": "api_keys:manage",
    "GET /orgs/{org_id}/access-review": "members:manage",
    "GET /orgs/{org_id}/projects": "projects:read",
    "POST /orgs/{org_id}/projects": "projects:write",
    "GET /orgs/{org_id}/projects/{project_id}": "projects:read",
    "PATCH /orgs/{org_id}/projects/{project_id}": "projects:write",
    "DELETE /orgs/{org_id}/projects/{project_id}": "projects:write",
    "GET /orgs/{org_id}/projects/{project_id}/applications": "apps:read",
    "POST /orgs/{org_id}/projects/{project_id}/applications": "apps:write",
    "DELETE /orgs/{org_id}/projects/{project_id}/applications/{app_id}": "apps:write",
    "GET /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": "apps:read",
    "POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": "apps:deploy",
    "GET /orgs/{org_id}/databases": "databases:read",
    "POST /orgs/{org_id}/databases": "databases:write",
    "DELETE /orgs/{org_id}/databases/{db_id}": "databases:write",
    "GET /orgs/{org_id}/notification-channels": "notifications:read",
    "POST /orgs/{org_id}/notification-channels": "notifications:write",
    "DELETE /orgs/{org_id}/notification-channels/{channel_id}": "notifications:write",
}


def test_every_route_in_the_table_has_a_way_to_call_it():
    assert set(CASES) == set(ROUTE_PERMISSIONS), {
        "no case for": sorted(set(ROUTE_PERMISSIONS) - set(CASES)),
        "case for a route not in the table": sorted(set(CASES) - set(ROUTE_PERMISSIONS)),
    }


def test_template_org_routes_and_the_permission_table_are_the_same_routes():
    routes = [r for r in api_spec().routes if r.path == ORG_PREFIX or r.path.startswith(ORG_PREFIX + "/")]
    in_template = {r.route_key for r in routes}
    assert in_template == set(ROUTE_PERMISSIONS), {
        "in template.yaml, no permission": sorted(in_template - set(ROUTE_PERMISSIONS)),
        "permission for a route template.yaml lacks": sorted(set(ROUTE_PERMISSIONS) - in_template),
    }
    assert all(r.protected for r in routes), [r.route_key for r in routes if not r.protected]
    assert all(rule.permission in perms.ALL_PERMISSIONS for rule in ROUTE_PERMISSIONS.values())


def test_the_role_table_is_api_md_table():
    transfer = perms.ORG_TRANSFER
    for role in ROLES:
        held = set(ROLE_PERMISSIONS[Role(role)]) - {transfer}
        assert held == API_MD_ROLES[role], (role, held ^ API_MD_ROLES[role])
    # "owner" in API.md's route table: the owner alone may transfer ownership.
    assert [role for role in ROLES if is_permitted(OrgGrant.of_role(role), transfer)] == ["owner"]


def test_each_route_needs_the_permission_api_md_names():
    for route_key, rule in ROUTE_PERMISSIONS.items():
        expected = API_MD_ROUTES.get(route_key)
        assert expected is not None, f"{route_key} is not an organization route of API.md"
        assert rule.permission == (perms.ORG_TRANSFER if expected == "owner" else expected), route_key


# --- the matrix --------------------------------------------------------------------------------


MATRIX = [
    pytest.param(route_key, role, id=f"{route_key} as {role}") for route_key in ROUTE_PERMISSIONS for role in ROLES
]


@pytest.mark.parametrize(("route_key", "role"), MATRIX)
def test_route_as_role(world, route_key, role):
    rule = ROUTE_PERMISSIONS[route_key]
    case = CASES[route_key]
    allowed = is_permitted(OrgGrant.of_role(role), rule.permission)
    org = world.new_org(f"Fresh for {route_key} as {role}") if case.fresh_org else world.base
    call = case.prepare(world, org, role)
    before = _state()

    answer = world.call(_method(route_key), call.path, call.body, as_=role)

    if not allowed:
        assert_problem(answer, 403, "forbidden")
        # A refusal writes nothing: no change, no audit event, no activity stamp.
        assert _state() == before
        return
    assert answer.status != 403, answer.text
    assert answer.status == case.success, (answer.status, answer.text)
    if case.fresh_org:
        # The call did what it says, and only in its own organization.
        base = world.call("GET", f"/orgs/{world.base.id}", as_=role)
        assert base.status == 200, base.text


def test_transfer_by_the_owner_makes_the_old_owner_an_admin(world):
    org = world.new_org("Transferred")
    answer = world.call("POST", f"/orgs/{org.id}/transfer-ownership", {"user_id": world.user_ids["spare"]}, as_="owner")
    assert answer.status == 200, answer.text
    assert answer.json()["user_id"] == world.user_ids["spare"]
    assert answer.json()["role"] == "owner"
    assert world.role_of(org.id, "owner") == "admin"
    assert world.role_of(org.id, "spare") == "owner"


def test_the_spare_member_is_still_a_member_of_the_base_org(world):
    """The shared organization came through the matrix as it was built (the cases that
    spoil an organization had their own)."""
    assert world.role_of(world.base.id, "owner") == "owner"
    assert world.role_of(world.base.id, "admin") == "admin"
    assert world.role_of(world.base.id, "member") == "member"
    assert world.role_of(world.base.id, "spare") == "member"


@pytest.mark.parametrize("role", ROLES)
def test_leaving_is_open_to_everyone_but_the_owner(world, role):
    org = world.new_org(f"Left by {role}")
    me = world.user_ids[role]

    answer = world.call("DELETE", f"/orgs/{org.id}/members/{me}", as_=role)

    if role == Role.OWNER:
        assert_problem(answer, 403, "owner_protected")
        assert world.role_of(org.id, role) == "owner"
        return
    assert answer.status == 204, answer.text
    assert world.role_of(org.id, role) is None
    # Gone on the very next request.
    assert_problem(world.call("GET", f"/orgs/{org.id}", as_=role), 404, "not_found")


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_nobody_removes_or_demotes_the_owner(world, role):
    owner = world.user_ids["owner"]
    base = world.base.id
    assert_problem(world.call("DELETE", f"/orgs/{base}/members/{owner}", as_=role), 403, "owner_protected")
    answer = world.call("PATCH", f"/orgs/{base}/members/{owner}", {"role": "admin"}, as_=role)
    assert_problem(answer, 403, "owner_protected")
    assert world.role_of(base, "owner") == "owner"


@pytest.fixture(scope="module")
def outsiders_org(world) -> Org:
    """An organization of its own for the non-member cases: if one of them did harm,
    it would not spread to the other tests."""
    return world.new_org("Outsiders see nothing")


@pytest.mark.parametrize("route_key", list(ROUTE_PERMISSIONS))
def test_a_non_member_gets_404_on_every_route(world, outsiders_org, route_key):
    call = CASES[route_key].prepare(world, outsiders_org, "owner")
    before = _state()

    answer = world.call(_method(route_key), call.path, call.body, as_="outsider")

    assert_problem(answer, 404, "not_found")
    assert _state() == before


@pytest.mark.parametrize("route_key", list(ROUTE_PERMISSIONS))
def test_an_unknown_org_is_404_even_for_members_of_other_orgs(world, route_key):
    call = CASES[route_key].prepare(world, world.base, "owner")
    unknown = call.path.replace(world.base.id, "org_00000000000000000000000000", 1)
    assert_problem(world.call(_method(route_key), unknown, call.body, as_="owner"), 404, "not_found")
