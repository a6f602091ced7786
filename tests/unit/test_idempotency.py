"""Idempotency-Key: the rules (domain/idempotency.py) and `@idempotent` on a resolver
(http/idempotency.py), with the ledger's fake; the DynamoDB side is in
tests/contract/test_answer_ledger.py, the routes in tests/integration/test_idempotency.py."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from devserver.events import LambdaContext
from kuploy_access import wiring
from kuploy_access.domain.errors import Conflict
from kuploy_access.domain.idempotency import (
    MAX_KEY_LENGTH,
    Answered,
    Attempt,
    FirstAnswer,
    IdempotencyKeyInUse,
    is_valid_key,
    scope_of,
)
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.http import idempotency
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.idempotency import idempotent, idempotent_problems
from kuploy_access.http.openapi_docs import Problems
from tests.unit.idempotency_fakes import FakeAnswerLedger

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")

ROOT = Path(__file__).resolve().parents[2]
ADA = Principal(type=USER, id="usr_ada", session_id="ses_1")
GRACE = Principal(type=USER, id="usr_grace", session_id="ses_2")

# --- the key -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["a", "4f6f0c8e-3c1d-4a52-9a8e-0b6b1f3f2d7e", "x" * MAX_KEY_LENGTH, "retry 1 of order #42", "!~{}[]"],
)
def test_a_key_is_up_to_255_printable_ascii_characters(key: str) -> None:
    assert is_valid_key(key)


@pytest.mark.parametrize(
    "key",
    ["", "x" * (MAX_KEY_LENGTH + 1), " leading", "trailing ", "tab\there", "new\nline", "nul\x00", "café", "   "],
)
def test_anything_else_is_not_a_key(key: str) -> None:
    assert not is_valid_key(key)


# --- the scope and what must match ----------------------------------------------------------------


def test_the_scope_is_the_caller_and_the_route_with_its_values() -> None:
    route = "/orgs/{org_id}/projects/{project_id}/applications"
    scope = scope_of(ADA, "post", route, {"org_id": "org_1", "project_id": "prj_1"})

    assert scope == scope_of(ADA, "POST", route, {"project_id": "prj_1", "org_id": "org_1"})
    # Another session of the same person is the same caller: a retry may follow a refresh.
    assert scope == scope_of(
        Principal(type=USER, id="usr_ada", session_id="ses_9"),
        "POST",
        route,
        {
            "org_id": "org_1",
            "project_id": "prj_1",
        },
    )
    others = {
        scope_of(GRACE, "POST", route, {"org_id": "org_1", "project_id": "prj_1"}),
        scope_of(Principal(type=API_KEY, id="usr_ada"), "POST", route, {"org_id": "org_1", "project_id": "prj_1"}),
        scope_of(ADA, "POST", route, {"org_id": "org_2", "project_id": "prj_1"}),
        scope_of(ADA, "POST", route, {"org_id": "org_1", "project_id": "prj_2"}),
        scope_of(ADA, "POST", "/orgs/{org_id}/databases", {"org_id": "org_1", "project_id": "prj_1"}),
    }
    assert scope not in others and len(others) == 5


def test_the_record_joins_scope_and_key_without_ambiguity() -> None:
    assert Attempt("a", "b|c", None).record != Attempt("a|b", "c", None).record
    assert Attempt('a","b', "c", None).record != Attempt("a", 'b","c', None).record


def test_the_body_matches_as_a_json_document() -> None:
    first = Attempt("s", "k", {"name": "db", "engine": "postgres", "tags": [1, 2]})

    assert first.body_document == Attempt("s", "k", {"tags": [1, 2], "engine": "postgres", "name": "db"}).body_document
    for other in ({"name": "db", "engine": "mysql", "tags": [1, 2]}, {"name": "db", "tags": [2, 1]}, None, {}):
        assert first.body_document != Attempt("s", "k", other).body_document


def test_the_problems_of_a_create_route_gain_the_key_s_codes() -> None:
    merged = idempotent_problems(Problems(s403="forbidden", s409=("already_member",), s422="invalid_email"))

    assert merged == {
        "s403": "forbidden",
        "s409": ("already_member", "idempotency_key_in_use"),
        "s422": ("invalid_email", "validation_error", "idempotency_key_reused"),
    }
    assert idempotent_problems(Problems(s422="validation_error"))["s422"] == (
        "validation_error",
        "idempotency_key_reused",
    )


# --- @idempotent on a resolver ---------------------------------------------------------------------


class ThingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=20)


class ThingView(BaseModel):
    # Read from the domain under another name, as the project's answer models often are.
    id: str
    label: str = Field(validation_alias="name_in_domain")
    group_id: str


class Things:
    def __init__(self) -> None:
        self.made: list[str] = []

    def make(self, group_id: str, name: str) -> ThingView:
        if name == "taken":
            raise Conflict("that name is taken")
        self.made.append(name)
        return ThingView.model_validate({"id": f"thg_{len(self.made)}", "name_in_domain": name, "group_id": group_id})


THINGS = Things()
app = create_app()


@app.post("/groups/<group_id>/things", status_code=201)
@idempotent
def create_thing(group_id: str, body: ThingRequest) -> ThingView:
    return THINGS.make(group_id, body.name)


@app.post("/groups/<group_id>/queued-things", status_code=202)
@idempotent
def queue_thing(group_id: str, body: ThingRequest | None = None) -> ThingView:
    return THINGS.make(group_id, body.name if body is not None else "unnamed")


handler = lambda_entry(app)


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnswerLedger]:
    fake = FakeAnswerLedger()
    monkeypatch.setattr(wiring, "answer_ledger", lambda: fake)
    THINGS.made.clear()
    yield fake


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    counted: list[str] = []
    monkeypatch.setattr(idempotency, "count", counted.append)
    return counted


def post(
    body: Any = None,
    key: str | None = None,
    caller: Principal = ADA,
    group: str = "grp_1",
    route: str = "things",
) -> dict[str, Any]:
    headers = {"content-type": "application/json", "user-agent": "pytest"}
    if key is not None:
        headers["idempotency-key"] = key
    path = f"/groups/{group}/{route}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": f"POST /groups/{{group_id}}/{route}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "pathParameters": {"group_id": group},
        "requestContext": {
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"},
            "authorizer": {"lambda": caller.to_context()},
            "requestId": "req-1",
            "routeKey": f"POST /groups/{{group_id}}/{route}",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
    result: dict[str, Any] = handler(event, LambdaContext("unit"))
    return result


def test_without_the_header_nothing_is_asked_of_the_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_ledger() -> Any:
        raise AssertionError("the ledger was asked")

    monkeypatch.setattr(wiring, "answer_ledger", no_ledger)
    THINGS.made.clear()

    answers = [post({"name": "web"}) for _ in range(2)]

    assert [a["statusCode"] for a in answers] == [201, 201]
    assert THINGS.made == ["web", "web"]
    assert all("Idempotent-Replayed" not in a["headers"] for a in answers)


def test_a_retry_gets_the_first_answer_and_creates_nothing(ledger: FakeAnswerLedger, replays: list[str]) -> None:
    first = post({"name": "web"}, key="k-1")
    again = post({"name": "web"}, key="k-1")

    assert first["statusCode"] == again["statusCode"] == 201
    assert first["body"] == again["body"]
    assert json.loads(first["body"]) == {"id": "thg_1", "label": "web", "group_id": "grp_1"}
    assert "Idempotent-Replayed" not in first["headers"]
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert THINGS.made == ["web"]
    assert replays == ["IdempotentReplays"]


def test_an_answer_comes_back_with_its_own_status(ledger: FakeAnswerLedger) -> None:
    first = post(None, key="k-1", route="queued-things")
    again = post(None, key="k-1", route="queued-things")

    assert first["statusCode"] == again["statusCode"] == 202
    assert first["body"] == again["body"]
    assert THINGS.made == ["unnamed"]


def test_the_same_key_with_another_body_is_refused(ledger: FakeAnswerLedger) -> None:
    post({"name": "web"}, key="k-1")

    refused = post({"name": "api"}, key="k-1")

    assert refused["statusCode"] == 422
    assert json.loads(refused["body"])["code"] == "idempotency_key_reused"
    assert THINGS.made == ["web"]


def test_keys_are_the_caller_s_and_the_route_s(ledger: FakeAnswerLedger) -> None:
    post({"name": "web"}, key="k-1")

    assert post({"name": "web"}, key="k-1", caller=GRACE)["statusCode"] == 201
    assert post({"name": "web"}, key="k-1", group="grp_2")["statusCode"] == 201
    assert post({"name": "web"}, key="k-1", route="queued-things")["statusCode"] == 202
    assert THINGS.made == ["web", "web", "web", "web"]


def test_a_refusal_keeps_nothing_so_the_fixed_request_goes_through(ledger: FakeAnswerLedger) -> None:
    refused = post({"name": "taken"}, key="k-1")
    invalid = post({"name": "x" * 21}, key="k-1")
    fixed = post({"name": "free"}, key="k-1")

    assert (refused["statusCode"], invalid["statusCode"], fixed["statusCode"]) == (409, 422, 201)
    assert ledger.kept and THINGS.made == ["free"]


def test_a_retry_while_the_first_request_runs_is_asked_to_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    class Busy:
        def answer_once(self, attempt: Attempt, create: Callable[[], FirstAnswer]) -> Answered:
            raise IdempotencyKeyInUse()

    monkeypatch.setattr(wiring, "answer_ledger", Busy)

    answer = post({"name": "web"}, key="k-1")

    assert answer["statusCode"] == 409
    assert answer["headers"]["Retry-After"] == "1"
    assert json.loads(answer["body"])["code"] == "idempotency_key_in_use"


@pytest.mark.parametrize("key", ["", " padded ", "x" * (MAX_KEY_LENGTH + 1), "tab\tinside"])
def test_a_malformed_key_is_a_validation_error(ledger: FakeAnswerLedger, key: str) -> None:
    answer = post({"name": "web"}, key=key)

    assert answer["statusCode"] == 422
    problem = json.loads(answer["body"])
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["in"] == "header"
    assert THINGS.made == [] and not ledger.kept


def test_only_a_route_that_answers_a_model_can_be_idempotent() -> None:
    def answers_a_dict(group_id: str) -> dict[str, str]:
        return {"group_id": group_id}

    with pytest.raises(TypeError, match="answers a response model"):
        idempotent(answers_a_dict)


def test_the_route_documents_the_header() -> None:
    operation = app.get_openapi_schema().paths["/groups/{group_id}/things"].post
    assert operation is not None
    [header] = [p for p in operation.parameters or [] if p.in_.value == "header"]
    assert header.name.lower() == "idempotency-key" and not header.required


# --- the service's routes ---------------------------------------------------------------------------

CREATE_ROUTES = {
    ("post", "/orgs"),
    ("post", "/orgs/{org_id}/invitations"),
    ("post", "/orgs/{org_id}/api-keys"),
    ("post", "/orgs/{org_id}/projects"),
    ("post", "/orgs/{org_id}/projects/{project_id}/applications"),
    ("post", "/orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments"),
    ("post", "/orgs/{org_id}/databases"),
    ("post", "/orgs/{org_id}/notification-channels"),
}


def test_exactly_the_create_routes_of_the_contract_take_the_key() -> None:
    """API.md, second round: the eight create routes, and no other (rotation makes a new
    key too, but the contract does not list it)."""
    document = json.loads((ROOT / "functions" / "openapi" / "openapi.json").read_text())
    taking = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"].lower() for p in operation.get("parameters", []) if p["in"] == "header"}
            if "idempotency-key" in names:
                taking.add((method, path))
                assert "idempotency_key_in_use" in operation["responses"]["409"]["description"], path
                assert "idempotency_key_reused" in operation["responses"]["422"]["description"], path
    assert taking == CREATE_ROUTES
