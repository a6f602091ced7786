"""Idempotency-Key on the eight create routes (API.md, second round), over the local
gateway, the real authorizer and moto: a retry answers the first answer and creates
nothing; another body is refused; another caller's key is their own; without the header
nothing is read or written for it; a refusal keeps nothing; the API key's answer is kept
sealed; concurrent retries create once.

One moto world and one team (owner, admin, a project with an application, and an API key
holding every scope) serve the module; each test starts from that team's table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from devserver.gateway import LocalGateway, load_handler
from devserver.template import api_spec
from kuploy_access import wiring
from kuploy_access.adapters.dynamodb.keys import IDEMPOTENCY_PK_PREFIX
from kuploy_access.services.resources import ResourceService
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    new_user,
    restore_table,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem, items_with_prefix, run_together

pytestmark = [
    pytest.mark.usefixtures("cheap_password_hashing"),
    pytest.mark.filterwarnings("ignore:No application metrics to publish"),
]

REPLAYED = "idempotent-replayed"


# --- the world -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway(world: Any) -> LocalGateway:
    gateway = LocalGateway(api_spec())
    assert gateway.api.authorizer is not None
    load_handler(gateway.api.authorizer.function)
    return gateway


@dataclass
class Team:
    org_id: str
    owner: str
    admin_id: str
    admin: str
    project_id: str
    app_id: str
    api_key: str  # preset "full": every scope a key may hold


@pytest.fixture(scope="module")
def team_table(world: Any, gateway: LocalGateway) -> tuple[Team, list[dict[str, Any]]]:
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        _, owner = new_user(client, "owner@example.com", "Olive Owner")
        org_id = create_org(client, owner, "Analytical Engines")
        admin_id, admin = add_member(client, owner, org_id, "admin@example.com", "admin", "Adam Admin")
    project = client.request("POST", f"/orgs/{org_id}/projects", {"name": "web"}, token=owner).json()
    app = client.request(
        "POST", f"/orgs/{org_id}/projects/{project['id']}/applications", {"name": "frontend"}, token=owner
    ).json()
    key = client.request("POST", f"/orgs/{org_id}/api-keys", {"description": "CI", "preset": "full"}, token=owner)
    assert key.status == 201, key.text
    team = Team(org_id, owner, admin_id, admin, project["id"], app["id"], key.json()["key"])
    return team, table_snapshot()


@pytest.fixture
def team(aws: Any, team_table: tuple[Team, list[dict[str, Any]]]) -> Team:
    restore_table(team_table[1])
    return team_table[0]


# --- the eight routes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Creation:
    """A create route: where, as whom, and three bodies that create three different things."""

    name: str
    path: Callable[[Team], str]
    bodies: tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
    status: int
    other_caller: Callable[[Team], str]

    def post(self, client: GatewayClient, team: Team, body: dict[str, Any], key: str | None, token: str) -> Answer:
        headers = {} if key is None else {"Idempotency-Key": key}
        return client.request("POST", self.path(team), body, token=token, headers=headers)

    def count(self, client: GatewayClient, team: Team) -> int:
        """How many exist: each create route's path lists what it creates (GET /orgs: the
        owner's organizations)."""
        listed = client.request("GET", self.path(team) + "?limit=200", token=team.owner)
        assert listed.status == 200, listed.text
        return len(listed.json()["items"])


def _resources(team: Team) -> str:
    return f"/orgs/{team.org_id}"


CREATIONS = [
    Creation(
        "organization",
        lambda t: "/orgs",
        ({"name": "Acme"}, {"name": "Other"}, {"name": "Third"}),
        201,
        lambda t: t.admin,
    ),
    Creation(
        "invitation",
        lambda t: f"{_resources(t)}/invitations",
        (
            {"email": "grace@example.com", "role": "member"},
            {"email": "grace@example.com", "role": "admin"},
            {"email": "linus@example.com", "role": "member"},
        ),
        201,
        lambda t: t.admin,
    ),
    Creation(
        "api key",
        lambda t: f"{_resources(t)}/api-keys",
        (
            {"description": "deploy web", "preset": "deploy"},
            {"description": "deploy web", "preset": "read-only"},
            {"description": "deploy api", "preset": "deploy"},
        ),
        201,
        lambda t: t.admin,
    ),
    Creation(
        "project",
        lambda t: f"{_resources(t)}/projects",
        ({"name": "api"}, {"name": "apis"}, {"name": "docs"}),
        201,
        lambda t: t.api_key,
    ),
    Creation(
        "application",
        lambda t: f"{_resources(t)}/projects/{t.project_id}/applications",
        ({"name": "backend"}, {"name": "worker"}, {"name": "cron"}),
        201,
        lambda t: t.api_key,
    ),
    Creation(
        "deployment",
        lambda t: f"{_resources(t)}/projects/{t.project_id}/applications/{t.app_id}/deployments",
        ({"ref": "main"}, {"ref": "v2"}, {"ref": "v3"}),
        202,
        lambda t: t.api_key,
    ),
    Creation(
        "database",
        lambda t: f"{_resources(t)}/databases",
        (
            {"name": "main", "engine": "postgres"},
            {"name": "main", "engine": "mysql"},
            {"name": "cache", "engine": "redis"},
        ),
        201,
        lambda t: t.api_key,
    ),
    Creation(
        "notification channel",
        lambda t: f"{_resources(t)}/notification-channels",
        (
            {"name": "ops", "kind": "email", "target": "ops@example.com"},
            {"name": "ops", "kind": "email", "target": "oncall@example.com"},
            {"name": "hook", "kind": "webhook", "target": "https://hooks.example.com/kuploy"},
        ),
        201,
        lambda t: t.api_key,
    ),
]
BY_NAME = {creation.name: creation for creation in CREATIONS}
each_route = pytest.mark.parametrize("creation", CREATIONS, ids=[c.name for c in CREATIONS])


def idempotency_items() -> list[dict[str, Any]]:
    return items_with_prefix(IDEMPOTENCY_PK_PREFIX)


@each_route
def test_a_retry_answers_the_first_answer_and_creates_nothing(client: GatewayClient, team: Team, creation: Creation):
    before = creation.count(client, team)
    body = creation.bodies[0]

    first = creation.post(client, team, body, "retry-1", team.owner)
    again = creation.post(client, team, body, "retry-1", team.owner)
    # The same document, its keys in another order and spaced out.
    spaced = json.dumps(dict(reversed(list(body.items()))), indent=2).encode()
    third = client.request(
        "POST", creation.path(team), token=team.owner, headers={"Idempotency-Key": "retry-1"}, raw=spaced
    )

    assert first.status == creation.status, first.text
    assert REPLAYED not in first.headers
    for retry in (again, third):
        assert (retry.status, retry.body) == (first.status, first.body)
        assert retry.headers[REPLAYED] == "true"
        assert retry.headers["content-type"] == first.headers["content-type"]
    assert creation.count(client, team) == before + 1
    assert len(idempotency_items()) == 1


@each_route
def test_the_same_key_with_another_body_is_refused(client: GatewayClient, team: Team, creation: Creation):
    first = creation.post(client, team, creation.bodies[0], "retry-1", team.owner)
    before = creation.count(client, team)

    refused = creation.post(client, team, creation.bodies[1], "retry-1", team.owner)

    assert first.status == creation.status, first.text
    assert_problem(refused, 422, "idempotency_key_reused")
    assert creation.count(client, team) == before


@each_route
def test_another_caller_s_key_is_their_own(client: GatewayClient, team: Team, creation: Creation):
    first = creation.post(client, team, creation.bodies[0], "shared-key", team.owner)
    before = creation.count(client, team)

    theirs = creation.post(client, team, creation.bodies[2], "shared-key", creation.other_caller(team))
    their_retry = creation.post(client, team, creation.bodies[2], "shared-key", creation.other_caller(team))

    assert first.status == theirs.status == creation.status, theirs.text
    assert REPLAYED not in theirs.headers and their_retry.headers[REPLAYED] == "true"
    assert theirs.json()["id"] != first.json()["id"]
    assert their_retry.body == theirs.body
    # POST /orgs: the other caller's organization is theirs, not in the owner's list.
    assert creation.count(client, team) == before + (creation.name != "organization")


@each_route
def test_without_the_header_nothing_is_read_or_written_for_it(
    client: GatewayClient, team: Team, creation: Creation, monkeypatch: pytest.MonkeyPatch
):
    def no_ledger() -> Any:
        raise AssertionError("a request without Idempotency-Key reached the ledger")

    monkeypatch.setattr(wiring, "answer_ledger", no_ledger)
    before = creation.count(client, team)

    answers = [creation.post(client, team, creation.bodies[i], None, team.owner) for i in (0, 2)]

    assert [a.status for a in answers] == [creation.status] * 2, [a.text for a in answers]
    assert all(REPLAYED not in a.headers for a in answers)
    assert creation.count(client, team) == before + 2
    assert idempotency_items() == []


def test_a_key_used_on_another_route_replays_nothing(client: GatewayClient, team: Team):
    projects, databases = BY_NAME["project"], BY_NAME["database"]

    project = projects.post(client, team, projects.bodies[0], "one-key", team.owner)
    database = databases.post(client, team, databases.bodies[0], "one-key", team.owner)

    assert (project.status, database.status) == (201, 201)
    assert project.json()["id"].startswith("prj_") and database.json()["id"].startswith("db_")
    assert REPLAYED not in database.headers


# --- refusals, checks and secrets ----------------------------------------------------------------


def test_a_refused_request_keeps_nothing_and_can_be_fixed_under_the_same_key(client: GatewayClient, team: Team):
    invitations = BY_NAME["invitation"]

    taken = invitations.post(client, team, {"email": "admin@example.com", "role": "member"}, "invite-1", team.owner)
    invalid = invitations.post(client, team, {"email": "not an address", "role": "member"}, "invite-1", team.owner)
    fixed = invitations.post(client, team, invitations.bodies[0], "invite-1", team.owner)

    assert_problem(taken, 409, "already_member")
    assert invalid.status == 422, invalid.text
    assert fixed.status == 201, fixed.text
    assert REPLAYED not in fixed.headers
    assert len(idempotency_items()) == 1


def test_a_retry_passes_the_checks_again_before_it_is_answered(client: GatewayClient, team: Team):
    projects = BY_NAME["project"]
    first = projects.post(client, team, projects.bodies[0], "admin-1", team.admin)
    demoted = client.request(
        "PATCH", f"/orgs/{team.org_id}/members/{team.admin_id}", {"role": "member"}, token=team.owner
    )

    retry = projects.post(client, team, projects.bodies[0], "admin-1", team.admin)

    assert (first.status, demoted.status) == (201, 200), demoted.text
    assert_problem(retry, 403, "forbidden")  # members may not write projects: no replay


def test_a_key_s_answer_needs_sudo_mode_again(client: GatewayClient, team: Team):
    keys = BY_NAME["api key"]
    first = keys.post(client, team, keys.bodies[0], "key-1", team.owner)
    assert first.status == 201, first.text

    with support.service_clock() as clock:
        clock.advance(timedelta(minutes=11))
        retry = keys.post(client, team, keys.bodies[0], "key-1", team.owner)

    assert_problem(retry, 403, "reauthentication_required")


def test_the_kept_answer_of_an_api_key_holds_no_secret(client: GatewayClient, team: Team):
    keys = BY_NAME["api key"]
    created = keys.post(client, team, keys.bodies[0], "key-1", team.owner).json()

    [item] = idempotency_items()
    stored = json.dumps(item)
    for plain in (created["key"], created["key"][4:], created["prefix"], created["id"], "key-1", "deploy web"):
        assert plain not in stored, plain
    # Its creator's retry still gets the key itself, and it works.
    again = keys.post(client, team, keys.bodies[0], "key-1", team.owner)
    assert again.json()["key"] == created["key"]
    assert client.request("GET", f"/orgs/{team.org_id}", token=again.json()["key"]).status == 200


@pytest.mark.parametrize(
    ("key", "why"),
    [("", "empty"), ("x" * 256, "256 characters"), (" padded", "a leading blank"), ("bell\x07", "a control character")],
)
def test_a_malformed_key_is_refused_before_anything_is_created(client: GatewayClient, team: Team, key: str, why: str):
    projects = BY_NAME["project"]
    before = projects.count(client, team)

    answer = projects.post(client, team, projects.bodies[0], key, team.owner)

    problem = assert_problem(answer, 422, "validation_error")
    assert problem["errors"][0]["in"] == "header", why
    assert projects.count(client, team) == before
    assert idempotency_items() == []


# --- at the same moment --------------------------------------------------------------------------


@pytest.fixture
def slow_creations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Creating a project takes a while, so that retries arrive while it runs."""
    original = ResourceService.create_project

    def slow(self: ResourceService, *args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ResourceService, "create_project", slow)
    yield


@pytest.mark.parametrize("slow", [False, True], ids=["released at once", "while the first runs"])
def test_concurrent_retries_create_once(client: GatewayClient, team: Team, request: pytest.FixtureRequest, slow: bool):
    if slow:
        request.getfixturevalue("slow_creations")
    projects = BY_NAME["project"]
    before = projects.count(client, team)

    outcomes = run_together(6, lambda _: projects.post(client, team, projects.bodies[0], "race-1", team.owner))

    answers: list[Answer] = []
    for outcome, value in outcomes:
        assert outcome == "ok", value
        answers.append(value)
    created = [a for a in answers if a.status == 201 and REPLAYED not in a.headers]
    assert len(created) == 1, [(a.status, a.text) for a in answers]
    for answer in answers:
        if answer.status == 409:
            assert_problem(answer, 409, "idempotency_key_in_use")
            assert answer.headers["retry-after"] == "1"
        else:
            assert (answer.status, answer.body) == (201, created[0].body)
    if slow:
        assert any(a.status == 409 for a in answers)
    assert projects.count(client, team) == before + 1
    # Once the first has answered, every retry gets its answer.
    late = projects.post(client, team, projects.bodies[0], "race-1", team.owner)
    assert (late.status, late.body, late.headers[REPLAYED]) == (201, created[0].body, "true")


# --- bodies that are not JSON, and the secret that seals the answers ----------------------------


def form_body(body: dict[str, Any]) -> tuple[str, bytes]:
    from urllib.parse import urlencode

    return "application/x-www-form-urlencoded", urlencode(body).encode()


def multipart_body(body: dict[str, Any]) -> tuple[str, bytes]:
    boundary = "kuploy-boundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in body.items()
    ]
    return f"multipart/form-data; boundary={boundary}", ("".join(parts) + f"--{boundary}--\r\n").encode()


@each_route
@pytest.mark.parametrize("encoded", [form_body, multipart_body], ids=["form", "multipart"])
def test_a_body_that_is_not_json_is_refused_and_keeps_nothing(
    client: GatewayClient, team: Team, creation: Creation, encoded: Callable[[dict[str, Any]], tuple[str, bytes]]
):
    content_type, raw = encoded(creation.bodies[0])
    before = creation.count(client, team)

    answer = client.request(
        "POST",
        creation.path(team),
        token=team.owner,
        headers={"Idempotency-Key": "form-1", "Content-Type": content_type},
        raw=raw,
    )

    # A form's fields are read as lists, which the route's model refuses first (422); a
    # body the model accepts is refused for not being JSON (415). Either way, a problem.
    assert answer.status in (415, 422), answer.text
    problem = assert_problem(answer, answer.status, "validation_error")
    if answer.status == 415:
        assert problem["title"] == "Send the body as application/json"
    assert creation.count(client, team) == before
    assert idempotency_items() == []


@pytest.fixture
def unreachable_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets Manager does not give the answers' secret (here: it is not there)."""
    from kuploy_access.adapters.dynamodb.idempotency import DynamoAnswerLedger

    config = wiring.settings()
    ledger = DynamoAnswerLedger(config.table_name, config.region, "kuploy-access/local/no-such-secret")
    monkeypatch.setattr(wiring, "answer_ledger", lambda: ledger)


@each_route
@pytest.mark.usefixtures("unreachable_secret")
def test_without_the_answers_secret_nothing_is_created_and_no_claim_is_left(
    client: GatewayClient, team: Team, creation: Creation
):
    before = creation.count(client, team)

    answer = creation.post(client, team, creation.bodies[0], "no-secret-1", team.owner)

    # Fails closed, as a key that cannot be read (adapters/signing_key.py): 503, retry later.
    assert_problem(answer, 503, "service_unavailable")
    assert creation.count(client, team) == before
    assert idempotency_items() == []


def test_an_answer_sealed_under_a_replaced_secret_is_as_good_as_gone(
    client: GatewayClient, team: Team, monkeypatch: pytest.MonkeyPatch
):
    """A new secret (a re-created stack) cannot open the answers kept under the old one:
    their retries run as new requests rather than failing."""
    import boto3

    from kuploy_access.adapters.dynamodb.idempotency import DynamoAnswerLedger

    projects = BY_NAME["project"]
    before = projects.count(client, team)
    first = projects.post(client, team, projects.bodies[0], "replaced-1", team.owner)
    config = wiring.settings()
    boto3.client("secretsmanager", region_name=config.region).create_secret(
        Name="kuploy-access/local/replaced-idempotency-key", SecretString="another key's material"
    )
    replaced = DynamoAnswerLedger(config.table_name, config.region, "kuploy-access/local/replaced-idempotency-key")
    monkeypatch.setattr(wiring, "answer_ledger", lambda: replaced)

    again = projects.post(client, team, projects.bodies[0], "replaced-1", team.owner)
    third = projects.post(client, team, projects.bodies[0], "replaced-1", team.owner)

    assert (first.status, again.status) == (201, 201), again.text
    assert REPLAYED not in again.headers and again.json()["id"] != first.json()["id"]
    assert (third.body, third.headers[REPLAYED]) == (again.body, "true")
    assert projects.count(client, team) == before + 2
    assert len(idempotency_items()) == 1
