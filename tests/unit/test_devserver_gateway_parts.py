"""The local gateway's other parts: routes from the template, the authorizer step,
results read as API Gateway reads them, and the local environment."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from devserver.authorizer_step import AuthorizerStep
from devserver.embedded_aws import LOCAL_ENVIRONMENT
from devserver.environment import NoLocalValue, local_environment, prepare_local_environment, template_values
from devserver.events import build_event
from devserver.responses import to_gateway_response
from devserver.routing import RouteTable
from devserver.template import ApiSpec, AuthorizerSpec, FunctionSpec, RouteSpec, api_spec


def _function(name: str) -> FunctionSpec:
    return FunctionSpec(logical_id=name, code_dir=Path("functions") / name, module="app", handler="lambda_handler")


def _route(method: str, path: str, function: str = "F", protected: bool = True) -> RouteSpec:
    return RouteSpec(method=method, path=path, function=_function(function), protected=protected)


# --- routing -----------------------------------------------------------------------------


def test_the_most_specific_route_wins_whatever_the_template_order():
    table = RouteTable(
        [
            _route("GET", "/orgs/{org_id}/{rest+}", "Greedy"),
            _route("GET", "/orgs/{org_id}", "ById"),
            _route("GET", "/orgs/mine", "Mine"),
        ]
    )
    mine = table.match("GET", "/orgs/mine")
    assert mine is not None and (mine.route.function.logical_id, mine.path_parameters) == ("Mine", {})
    by_id = table.match("GET", "/orgs/org_1")
    assert by_id is not None and (by_id.route.function.logical_id, by_id.path_parameters) == (
        "ById",
        {"org_id": "org_1"},
    )
    greedy = table.match("GET", "/orgs/org_1/a/b")
    assert greedy is not None and greedy.path_parameters == {"org_id": "org_1", "rest": "a/b"}


def test_methods_and_any():
    table = RouteTable([_route("POST", "/auth/login", "Login"), _route("ANY", "/docs", "Docs")])
    assert table.match("GET", "/auth/login") is None
    assert table.match("POST", "/auth/login") is not None
    assert {table.match(m, "/docs") is not None for m in ("GET", "DELETE", "OPTIONS")} == {True}


def test_no_route():
    table = RouteTable([_route("GET", "/orgs/{org_id}")])
    for path in ("/orgs", "/orgs/", "/orgs/a/b", "/other", "/"):
        assert table.match("GET", path) is None, path


def test_every_template_route_is_found_at_its_own_path():
    api = api_spec()
    table = RouteTable(api.routes)
    for route in api.routes:
        path = route.path.replace("{", "").replace("}", "").replace("+", "")
        found = table.match(route.method, path)
        assert found is not None and found.route == route, route.route_key


# --- the authorizer step -----------------------------------------------------------------

AUTHORIZER = AuthorizerSpec(
    function=_function("Authorizer"), identity_headers=(), simple_responses=True, payload_version="2.0"
)


def _protected_event(headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return build_event(_route("GET", "/me"), "GET", "/me", "", headers or [], b"", "203.0.113.7", {})


class Recorder:
    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer = answer
        self.error = error

    def __call__(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        self.calls.append((function.logical_id, event))
        if self.error is not None:
            raise self.error
        return self.answer


def test_an_authorized_request_carries_the_authorizer_context():
    invoke = Recorder({"isAuthorized": True, "context": {"principal_type": "user", "principal_id": "usr_1"}})
    event = _protected_event([("Authorization", "Bearer t")])
    assert AuthorizerStep(AUTHORIZER, invoke).admit(event) is None
    assert event["requestContext"]["authorizer"] == {"lambda": {"principal_type": "user", "principal_id": "usr_1"}}
    [(function, request)] = invoke.calls
    assert function == "Authorizer"
    assert (request["type"], request["version"], request["headers"]["authorization"]) == ("REQUEST", "2.0", "Bearer t")


def test_an_authorized_request_without_context_carries_an_empty_one():
    event = _protected_event()
    assert AuthorizerStep(AUTHORIZER, Recorder({"isAuthorized": True})).admit(event) is None
    assert event["requestContext"]["authorizer"] == {"lambda": {}}


@pytest.mark.parametrize("answer", [{"isAuthorized": False}, {"isAuthorized": "true"}, {}, None, "yes"], ids=repr)
def test_a_refusal_is_api_gateways_403(answer: Any):
    event = _protected_event()
    refusal = AuthorizerStep(AUTHORIZER, Recorder(answer)).admit(event)
    assert refusal is not None
    assert (refusal.status, json.loads(refusal.body)) == (403, {"message": "Forbidden"})
    assert "authorizer" not in event["requestContext"]


def test_a_crashing_authorizer_is_api_gateways_500():
    refusal = AuthorizerStep(AUTHORIZER, Recorder(error=RuntimeError("boom"))).admit(_protected_event())
    assert refusal is not None
    assert (refusal.status, json.loads(refusal.body)) == (500, {"message": "Internal Server Error"})


def test_a_missing_identity_source_is_api_gateways_401_without_calling_the_authorizer():
    spec = AuthorizerSpec(
        function=_function("Authorizer"),
        identity_headers=("authorization", "x-api-key"),
        simple_responses=True,
        payload_version="2.0",
    )
    invoke = Recorder({"isAuthorized": True})
    refusal = AuthorizerStep(spec, invoke).admit(_protected_event([("Authorization", "Bearer t")]))
    assert refusal is not None
    assert (refusal.status, json.loads(refusal.body)) == (401, {"message": "Unauthorized"})
    assert invoke.calls == []

    step = AuthorizerStep(spec, invoke)
    assert step.admit(_protected_event([("Authorization", "Bearer t"), ("X-Api-Key", "k")])) is None
    assert invoke.calls[0][1]["identitySource"] == ["Bearer t", "k"]


@pytest.mark.parametrize(("simple", "version"), [(False, "2.0"), (True, "1.0")])
def test_an_authorizer_the_local_server_does_not_speak_is_refused_at_start(simple: bool, version: str):
    spec = AuthorizerSpec(_function("A"), (), simple_responses=simple, payload_version=version)
    with pytest.raises(ValueError, match="EnableSimpleResponses"):
        AuthorizerStep(spec, Recorder())


def test_the_template_authorizer_is_one_the_local_server_speaks():
    authorizer = api_spec().authorizer
    assert authorizer is not None
    AuthorizerStep(authorizer, Recorder())


# --- results -----------------------------------------------------------------------------


def test_a_result_is_read_as_api_gateway_reads_payload_2():
    response = to_gateway_response(
        {
            "statusCode": 201,
            "headers": {"Location": "/orgs/1", "X-N": 5},
            "multiValueHeaders": {"Vary": ["Accept", "Origin"]},
            "cookies": ["a=1; HttpOnly"],
            "body": "eyJvayI6IHRydWV9",
            "isBase64Encoded": True,
        }
    )
    assert response.status == 201
    assert response.body == b'{"ok": true}'
    assert response.headers == [
        ("Location", "/orgs/1"),
        ("X-N", "5"),
        ("Vary", "Accept"),
        ("Vary", "Origin"),
        ("Set-Cookie", "a=1; HttpOnly"),
        ("Content-Type", "application/json"),
    ]


def test_a_plain_value_is_a_200_json_answer():
    response = to_gateway_response({"hello": "world"})
    assert (response.status, json.loads(response.body)) == (200, {"hello": "world"})
    assert response.headers == [("Content-Type", "application/json")]


# --- the local environment ----------------------------------------------------------------


def test_template_values_take_literals_and_parameter_defaults_only():
    variables = {
        "LITERAL": "x",
        "DAYS": {"Ref": "Days"},
        "TABLE": {"Ref": "Table"},
        "ARN": {"Fn::GetAtt": ["T", "Arn"]},
    }
    parameters = {"Days": {"Type": "Number", "Default": 30}}
    assert template_values(variables, parameters) == {"LITERAL": "x", "DAYS": "30"}


def test_the_local_server_has_a_value_for_every_variable_the_template_gives_functions():
    api = api_spec()
    environment = local_environment(api, "http://127.0.0.1:3000")
    assert set(api.environment) <= set(environment)
    assert environment["PUBLIC_BASE_URL"] == "http://127.0.0.1:3000"
    # The embedded AWS's names and the local sender, not the template's.
    for name in ("TABLE_NAME", "SIGNING_KEY_SECRET_ID", "TOTP_KEY_SECRET_ID", "SENDER_EMAIL"):
        assert environment[name] == LOCAL_ENVIRONMENT[name]
    # Tunables: the template parameters' defaults.
    assert environment["SESSION_ABSOLUTE_DAYS"] == str(api.parameters["SessionAbsoluteDays"]["Default"])
    assert environment["QUIET_ANSWER_SECONDS"] == api.parameters["QuietAnswerSeconds"]["Default"]


def test_a_variable_without_a_local_value_stops_the_local_server():
    api = api_spec()
    variables = {**api.environment, "NEW_QUEUE_URL": {"Ref": "NewQueue"}}
    spec = ApiSpec(api.routes, api.authorizer, api.table, variables, api.parameters)
    with pytest.raises(NoLocalValue, match="NEW_QUEUE_URL"):
        local_environment(spec, "http://127.0.0.1:3000")


def test_the_local_server_never_trusts_an_edge_secret_from_the_shell(monkeypatch):
    """No CloudFront stands in front of it: the client is the TCP peer, whatever headers
    a request carries (domain.client_address), even if the shell sets the secret."""
    shell = {**os.environ, "EDGE_ORIGIN_SECRET": "from-the-shell"}
    monkeypatch.setattr(os, "environ", shell)
    effective = prepare_local_environment(api_spec(), 3999, "127.0.0.1")
    assert effective["EDGE_ORIGIN_SECRET"] == ""
    assert shell["EDGE_ORIGIN_SECRET"] == ""
