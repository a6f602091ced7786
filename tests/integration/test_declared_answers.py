"""Every answer a route gives is one the OpenAPI document declares: its status, its media
type, and a problem document's `code` (issue 15, "The contract, true in every detail").

A sweep of every operation in `functions/openapi/openapi.json`, so a route added to the
template is swept without editing this file. Each operation gets the requests that
provoke what shared code answers around the route's own work: no credentials, a token
that is not one, an API key on a route for users, a role without the permission, an
organization under the 2FA policy, an unknown organization, a body that is not a JSON
object, one over the size limit, one that is not JSON, ids and queries out of bounds, an
empty form. Each answer must be declared (`GatewayClient.contract`) and, where the
contract fixes it, be the expected one. Nothing here succeeds at changing anything, so
one organization serves the module.

The clients of `test_http_contract.py` and `test_permission_matrix.py` check their
answers against the document the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from devserver.gateway import LocalGateway
from devserver.template import api_spec
from kuploy_access.adapters.dynamodb.keys import ORG_SK, org_pk
from kuploy_access.domain.permissions import ROUTE_PERMISSIONS
from tests.integration import support
from tests.integration.declared_answers import OPENAPI, DeclaredAnswers, declared_answers
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    invitation_token,
    invite,
    new_user,
)
from tests.integration.support import REGION, assert_problem

DOCUMENT = json.loads(OPENAPI.read_text(encoding="utf-8"))
OPERATIONS = sorted(
    (method.upper(), path)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
    if path != "/openapi.json"
)
UNKNOWN_ORG = "org_00000000000000000000000000"
OVER_64_KIB = b" " * (64 * 1024 + 1)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Team:
    """Org A: its owner, a member, a project, an application, a database, a channel, a
    pending invitation, a full key and a deploy key. Org B requires 2FA, and its member
    has none."""

    owner_id: str
    owner: str
    member: str
    full_key: str
    deploy_key: str
    ids: dict[str, str]  # path parameter -> a value in org A
    policy_org: str
    policy_owner_id: str
    policy_member: str
    link: str  # the invitation's emailed token


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture(scope="module")
def gateway(world: Any) -> LocalGateway:
    return LocalGateway(api_spec())


@pytest.fixture(scope="module")
def team(world: Any, gateway: LocalGateway) -> Team:
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        owner_id, owner = new_user(client, "owner@example.com", "Olive Owner")
        org = create_org(client, owner, "Analytical Engines")
        _, member = add_member(client, owner, org, "member@example.com")
        policy_owner_id, policy_owner = new_user(client, "policy-owner@example.com", "Polly Owner")
        policy_org = create_org(client, policy_owner, "Difference Engines")
        _, policy_member = add_member(client, policy_owner, policy_org, "policy-member@example.com")

    def made(path: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        answer = client.request("POST", path, body, token=owner)
        assert answer.status == status, answer.text
        found: dict[str, Any] = answer.json()
        return found

    project = made(f"/orgs/{org}/projects", {"name": "web"})["id"]
    app = made(f"/orgs/{org}/projects/{project}/applications", {"name": "site"})["id"]
    database = made(f"/orgs/{org}/databases", {"name": "main", "engine": "postgres"})["id"]
    channel = made(f"/orgs/{org}/notification-channels", {"name": "ops", "kind": "email", "target": "ops@example.com"})
    invitation = invite(client, owner, org, "invitee@example.com")["id"]
    full_key = made(f"/orgs/{org}/api-keys", {"description": "sweep", "preset": "full"})
    deploy_key = made(f"/orgs/{org}/api-keys", {"description": "ci", "preset": "deploy"})
    # The policy itself, without enrolling the owner in 2FA first (that route has its own tests).
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=support.table_name(),
        Key={"pk": {"S": org_pk(policy_org)}, "sk": {"S": ORG_SK}},
        UpdateExpression="SET require_2fa = :on",
        ExpressionAttributeValues={":on": {"BOOL": True}},
    )
    ids = {
        "org_id": org,
        "project_id": project,
        "app_id": app,
        "db_id": database,
        "channel_id": channel["id"],
        "invitation_id": invitation,
        "key_id": full_key["id"],
        "user_id": owner_id,  # acting on the owner: never "leaving"
        "session_id": "ses_00000000000000000000000000",
        "provider": "github",
        "token": invitation_token(client, "invitee@example.com"),
    }
    return Team(
        owner_id=owner_id,
        owner=owner,
        member=member,
        full_key=full_key["key"],
        deploy_key=deploy_key["key"],
        ids=ids,
        policy_org=policy_org,
        policy_owner_id=policy_owner_id,
        policy_member=policy_member,
        link=ids["token"],
    )


@pytest.fixture
def checked(world: Any, gateway: LocalGateway) -> Iterator[tuple[GatewayClient, DeclaredAnswers]]:
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    client.contract = declared_answers()
    yield client, client.contract


def concrete(template: str, ids: dict[str, str], **override: str) -> str:
    path = template
    for name, value in {**ids, **override}.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a parameter of {template}"
    return path


def operation(method: str, template: str) -> dict[str, Any]:
    found: dict[str, Any] = DOCUMENT["paths"][template][method.lower()]
    return found


def takes_json(op: dict[str, Any]) -> bool:
    return "application/json" in op.get("requestBody", {}).get("content", {})


def takes_form(op: dict[str, Any]) -> bool:
    return "application/x-www-form-urlencoded" in op.get("requestBody", {}).get("content", {})


def bounded_path_parameters(op: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (p["name"], int(p["schema"]["maxLength"]))
        for p in op.get("parameters", [])
        if p["in"] == "path" and "maxLength" in p.get("schema", {})
    ]


def has_query(op: dict[str, Any], name: str) -> bool:
    return any(p["in"] == "query" and p["name"] == name for p in op.get("parameters", []))


def example_body(op: dict[str, Any]) -> dict[str, Any] | None:
    """A body that passes the operation's schema (so that what is checked after validation,
    the caller, is reached): its required properties, each from its example, its first
    allowed value, or a plausible string."""
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return None
    schema = next((part for part in schema.get("anyOf", [schema]) if "$ref" in part), schema)
    model = DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    body: dict[str, Any] = {}
    for name in model.get("required", []):
        field = model["properties"][name]
        if "email" in name or name == "target":
            body[name] = "someone@example.com"
        elif field.get("examples"):
            body[name] = field["examples"][0]
        elif field.get("enum"):
            body[name] = field["enum"][0]
        else:
            body[name] = "x"
    return body


@pytest.mark.parametrize(("method", "template"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_answer_of_every_operation_is_declared(
    checked: tuple[GatewayClient, DeclaredAnswers], team: Team, method: str, template: str
) -> None:
    client, declared = checked
    op = operation(method, template)
    path = concrete(template, team.ids)
    secured = bool(op.get("security"))
    rule = ROUTE_PERMISSIONS.get(f"{method} {template}")
    example = example_body(op)

    def call(token: str | None = None, body: Any = None, **kwargs: Any) -> Answer:
        return client.request(method, kwargs.pop("at", path), body, token=token, **kwargs)

    # Credentials, before anything else is read.
    if secured:
        assert_problem(call(), 401, "unauthorized")
        assert_problem(call("not-a-token"), 401, "invalid_token")
    else:
        call()
    owner = team.owner if secured else None

    # Bodies: refused by the entry point on every route that may carry one.
    if method != "GET":
        assert_problem(call(owner, raw=b"[1]"), 400, "validation_error")
        assert_problem(call(owner, raw=OVER_64_KIB), 413, "payload_too_large")
    if takes_json(op):
        answer = call(owner, raw=b"hello", headers={"Content-Type": "text/plain"})
        assert_problem(answer, 415, "validation_error")
    if takes_form(op):
        page = call(raw=b"", headers=FORM)
        assert 400 <= page.status < 500 and page.headers["content-type"].startswith("text/html"), page.text

    # Ids and queries out of bounds.
    for name, longest in bounded_path_parameters(op):
        too_long = concrete(template, team.ids, **{name: "x" * (longest + 1)})
        assert_problem(call(owner, example, at=too_long), 422, "validation_error")
    if has_query(op, "limit"):
        assert_problem(call(owner, at=f"{path}?limit=0"), 422, "validation_error")

    # Who may call it.
    if secured and rule is None:
        assert_problem(call(team.full_key, example), 403, "api_key_not_allowed")
    if rule is not None:
        unknown = concrete(template, team.ids, org_id=UNKNOWN_ORG)
        assert_problem(call(team.owner, example, at=unknown), 404, "not_found")
        policy = concrete(template, team.ids, org_id=team.policy_org, user_id=team.policy_owner_id)
        assert_problem(call(team.policy_member, example, at=policy), 403, "two_factor_required")
        if rule.user_only:
            assert_problem(call(team.full_key, example), 403, "api_key_not_allowed")
        elif rule.permission != "apps:deploy" and not rule.permission.endswith(":read"):
            assert_problem(call(team.deploy_key, example), 403, "forbidden")
        by_member = call(team.member, example)
        assert by_member.status < 500, by_member.text

    assert declared.statuses(method, template), "the sweep reached the operation"
    assert all(seen.status < 500 for seen in declared.seen), declared.seen


def test_the_sweep_covers_the_document() -> None:
    """Guards the parametrisation: every kind of operation is in it."""
    assert len(OPERATIONS) > 70
    assert ("GET", "/verify-email") in OPERATIONS and ("POST", "/invitations/{token}") in OPERATIONS
    assert ("POST", "/orgs/{org_id}/api-keys") in OPERATIONS


def test_pages_answer_html_and_their_json_twin_a_problem(
    checked: tuple[GatewayClient, DeclaredAnswers], team: Team
) -> None:
    client, _ = checked
    page = client.request("GET", "/invitations/not-a-link", headers={"Accept": "text/html"})
    assert page.status == 404 and page.headers["content-type"].startswith("text/html")
    assert_problem(
        client.request("GET", "/invitations/not-a-link", headers={"Accept": "application/json"}), 404, "not_found"
    )
    shown = client.request("GET", f"/invitations/{team.link}", headers={"Accept": "text/html"})
    assert shown.status == 200 and shown.headers["content-type"].startswith("text/html")
    as_json = client.request("GET", f"/invitations/{team.link}", headers={"Accept": "application/json"})
    assert as_json.status == 200 and as_json.json()["email"] == "invitee@example.com"


def test_the_documented_form_fields_are_what_the_pages_post(
    checked: tuple[GatewayClient, DeclaredAnswers], team: Team
) -> None:
    client, _ = checked
    pages = {
        "/verify-email": f"/verify-email?token=x&next=/invitations/{team.link}",
        "/reset-password": "/reset-password?token=x",
        "/unlock": "/unlock?token=x",
        f"/invitations/{team.link}": f"/invitations/{team.link}",
    }
    for action, page in pages.items():
        shown = client.request("GET", page, headers={"Accept": "text/html"})
        assert shown.status == 200, shown.text
        posted = {
            name
            for form in re.finditer(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', shown.text, re.S)
            if form.group(1) == action
            for name in re.findall(r'name="([^"]+)"', form.group(2))
        }
        template = "/invitations/{token}" if action.startswith("/invitations/") else action
        body = operation("POST", template)["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
        assert set(body["properties"]) == posted, (template, posted)
        assert set(body.get("required", [])) <= posted


def test_an_undeclared_answer_fails_the_check() -> None:
    """The check itself: a status, a media type and a code the document does not list."""
    declared = declared_answers()
    problem = {"content-type": "application/problem+json"}
    declared.check("GET", "/orgs/org_x", 404, problem, b'{"code": "not_found"}')
    with pytest.raises(AssertionError, match="status not declared"):
        declared.check("GET", "/orgs/org_x", 409, problem, b'{"code": "conflict"}')
    with pytest.raises(AssertionError, match="code not among"):
        declared.check("GET", "/orgs/org_x", 404, problem, b'{"code": "gone"}')
    with pytest.raises(AssertionError, match="declared as"):
        declared.check("GET", "/orgs/org_x", 200, {"content-type": "text/html"}, b"<p>")
    declared.check("GET", "/no/such/route", 404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
