"""events/ and env.json: one sample event for every function of template.yaml, and each
function's environment for `sam local invoke` (README, "Invoking one function").

`events/<code dir>.json` is the event of the function whose CodeUri is
`functions/<code dir>/`: a representative route of its family as API Gateway's HTTP API
sends it (payload 2.0; on a protected route with the context the authorizer puts in
`requestContext.authorizer.lambda`), the authorizer's own REQUEST event, and for a
function that no route calls, the event of whatever invokes it. A new function adds
its file and its line in EXPECTED.

Each event is invoked here in-process, as Lambda would, on embedded AWS (moto) with an
empty table: what each answers then is in EXPECTED, and none is a 5xx.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT
from devserver.environment import template_values
from devserver.events import LambdaContext
from devserver.gateway import load_handler
from devserver.template import PROJECT_ROOT, FunctionSpec, api_spec, load_template
from kuploy_access.domain.principal import ANONYMOUS, Principal
from tests.integration import support

EVENTS = PROJECT_ROOT / "events"
ENV_JSON = PROJECT_ROOT / "env.json"
# Where `sam local invoke` reaches a local AWS (a moto server on the host, port 5000).
LOCAL_AWS = "http://host.docker.internal:5000"


def _problem(status: int, code: str) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert result["statusCode"] == status, result
        assert json.loads(result["body"])["code"] == code, result

    return check


def _answers(status: int) -> Callable[[Any], None]:
    def check(result: Any) -> None:
        assert result["statusCode"] == status, result

    return check


def _assert_equal(result: Any, expected: Any) -> None:
    assert result == expected, result


def _admits_anonymously(reason: str) -> Callable[[Any], None]:
    """The authorizer never refuses: an unusable token is an anonymous principal with why."""

    def check(result: Any) -> None:
        assert result["isAuthorized"] is True, result
        assert result["context"]["principal_type"] == ANONYMOUS, result
        assert result["context"]["auth_error"] == reason, result

    return check


# What each event answers against an empty table (the accounts, keys and organizations it
# names do not exist there).
EXPECTED: dict[str, Callable[[Any], None]] = {
    "authorizer": _admits_anonymously("invalid_token"),
    "signup": _answers(202),
    "login": _problem(401, "invalid_credentials"),
    "sessions": _problem(401, "invalid_token"),
    "passwords": _answers(202),
    "account": _problem(401, "invalid_token"),
    "two_factor": _answers(200),
    "organizations": _answers(200),
    "invitations": _problem(404, "not_found"),
    "resources": _problem(404, "not_found"),
    "api_keys": _problem(404, "not_found"),
    "oauth": _answers(200),
    "openapi": _answers(200),
    # The table's stream with a deletion mark: the organization is gone already.
    "org_purge": lambda result: _assert_equal(result, {"batchItemFailures": []}),
}


def template_functions() -> dict[str, FunctionSpec]:
    """Every AWS::Serverless::Function of template.yaml, HTTP or not."""
    document = load_template()
    default_handler = document.get("Globals", {}).get("Function", {}).get("Handler", "app.lambda_handler")
    found: dict[str, FunctionSpec] = {}
    for logical_id, resource in document["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        module, _, handler = str(resource["Properties"].get("Handler", default_handler)).rpartition(".")
        code_dir = PROJECT_ROOT / resource["Properties"]["CodeUri"]
        found[logical_id] = FunctionSpec(logical_id=logical_id, code_dir=code_dir, module=module, handler=handler)
    return found


def event_file(function: FunctionSpec) -> Path:
    return EVENTS / f"{function.code_dir.name}.json"


FUNCTIONS = template_functions()


def test_every_function_has_a_sample_event_and_an_expected_answer() -> None:
    missing = [f"events/{f.code_dir.name}.json ({lid})" for lid, f in FUNCTIONS.items() if not event_file(f).is_file()]
    assert missing == [], "add a sample event for each: " + ", ".join(missing)
    assert set(EXPECTED) == {f.code_dir.name for f in FUNCTIONS.values()}, "one EXPECTED line per function"
    assert {path.stem for path in EVENTS.glob("*.json")} == set(EXPECTED), "an event of no function"


def test_route_events_are_routes_of_their_function_with_the_authorizers_context() -> None:
    api = api_spec()
    routes = {(route.function.logical_id, route.route_key): route for route in api.routes}
    context_keys = set(Principal(type=ANONYMOUS).to_context())
    for logical_id, function in FUNCTIONS.items():
        event = json.loads(event_file(function).read_text(encoding="utf-8"))
        if api.authorizer is not None and logical_id == api.authorizer.function.logical_id:
            assert event["type"] == "REQUEST" and event["version"] == "2.0", logical_id
            continue
        if "routeKey" not in event:
            continue  # invoked by something other than the HTTP API
        route = routes.get((logical_id, event["routeKey"]))
        assert route is not None, f"{logical_id}: {event['routeKey']} is not one of its routes"
        assert event["version"] == "2.0" and event["requestContext"]["routeKey"] == route.route_key
        assert event["requestContext"]["http"]["method"] == route.method
        authorizer = event["requestContext"].get("authorizer")
        if route.protected:
            assert authorizer is not None and set(authorizer["lambda"]) == context_keys, logical_id
        else:
            assert authorizer is None, f"{logical_id}: a public route has no authorizer context"


def local_environments() -> dict[str, dict[str, str]]:
    """What env.json must hold: for each function, every variable the template gives it
    (`sam local` sets no other), with the local server's value (the embedded AWS's names,
    the template's literals and parameter defaults) or, for the few below, a local one."""
    document = load_template()
    shared = document["Globals"]["Function"]["Environment"]["Variables"]
    local = {
        **LOCAL_ENVIRONMENT,
        "PUBLIC_BASE_URL": "http://127.0.0.1:3000",
        "OAUTH_REDIRECT_ALLOWLIST": "http://127.0.0.1:3000/",
        "AWS_ENDPOINT_URL": LOCAL_AWS,
    }
    environments: dict[str, dict[str, str]] = {}
    for logical_id in FUNCTIONS:
        own = (document["Resources"][logical_id]["Properties"].get("Environment") or {}).get("Variables") or {}
        declared = {**shared, **own}
        values = {**template_values(declared, document.get("Parameters") or {}), **local}
        missing = sorted(set(declared) - set(values))
        assert not missing, f"{logical_id}: no local value for {missing}: add one to local_environments()"
        environments[logical_id] = {name: values[name] for name in declared}
    return environments


def test_env_json_gives_every_function_every_variable_of_the_template_with_local_values() -> None:
    written: dict[str, dict[str, str]] = json.loads(ENV_JSON.read_text(encoding="utf-8"))
    expected = local_environments()
    differing = {name: values for name, values in expected.items() if written.get(name) != values}
    assert set(written) == set(expected) and not differing, (
        "env.json differs from the template's variables with local values; these entries should read:\n"
        + json.dumps(differing, indent=2)
    )


def test_env_json_holds_no_secret() -> None:
    """Secrets are referred to by their ids; the edge's shared secret is empty locally."""
    for logical_id, values in json.loads(ENV_JSON.read_text(encoding="utf-8")).items():
        assert values["EDGE_ORIGIN_SECRET"] == "", logical_id
        assert not [value for value in values.values() if "kpy_" in value or len(value) > 64], logical_id


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def empty_table(world: Any) -> None:
    support.wipe_table()


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_sample_event_invokes_its_handler(empty_table: None, logical_id: str) -> None:
    function = FUNCTIONS[logical_id]
    assert os.environ["TABLE_NAME"] == json.loads(ENV_JSON.read_text(encoding="utf-8"))[logical_id]["TABLE_NAME"]
    event = json.loads(event_file(function).read_text(encoding="utf-8"))
    result = load_handler(function)(event, LambdaContext(function_name=logical_id))
    if "statusCode" in result:
        assert result["statusCode"] < 500, result
    EXPECTED[function.code_dir.name](result)
