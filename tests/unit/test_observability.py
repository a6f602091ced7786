"""What every function's entry adds (kuploy_access.observability through
`http.api.lambda_entry`): JSON log lines with the request id and the caller, cleared per
request; one `RateLimited` per 429 answer, whoever refused; EMF on stdout."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

from devserver.events import LambdaContext
from kuploy_access import observability
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.http.api import create_app, lambda_entry, metrics

CONTEXT = LambdaContext("TestFunction")
ORG = "org_01jq3v5w6x7y8z9a0b1c2d3e4f"
SERVICE_MODULE = "kuploy_access.services.observed"

app = create_app()


@app.get("/limited")
def limited() -> dict[str, Any]:
    raise RateLimited(7)


@app.get("/page")
def page_that_refuses() -> Response[str]:
    # Pages show a refusal themselves (account_pages.refused) rather than raise it.
    return Response(429, "text/html", "<p>Too many attempts</p>")


@app.get("/orgs/<org_id>/thing")
def thing(org_id: str) -> dict[str, Any]:
    logging.getLogger(SERVICE_MODULE).info("acting", extra={"detail": "on a thing"})
    return {"org_id": org_id}


@app.get("/quiet")
def quiet() -> dict[str, Any]:
    logging.getLogger(SERVICE_MODULE).info("quiet")
    return {}


handler = lambda_entry(app)


def event(path: str, request_id: str, principal: Principal | None = None, **path_parameters: str) -> dict[str, Any]:
    context: dict[str, Any] = {
        "requestId": request_id,
        "stage": "$default",
        "http": {"method": "GET", "path": path, "sourceIp": "203.0.113.9"},
    }
    if principal is not None:
        context["authorizer"] = {"lambda": principal.to_context()}
    return {
        "version": "2.0",
        "routeKey": f"GET {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"user-agent": "pytest"},
        "requestContext": context,
        "pathParameters": path_parameters,
        "isBase64Encoded": False,
    }


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """What the JSON logger's handler writes (every kuploy_access logger shares it)."""
    handler = observability.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    stream, handler.stream = handler.stream, io.StringIO()
    try:
        yield handler.stream
    finally:
        handler.stream = stream


def lines(logged: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in logged.getvalue().splitlines()]


def emf(out: str) -> list[dict[str, Any]]:
    return [document for document in map(json.loads, out.splitlines()) if "_aws" in document]


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def test_a_service_module_logs_json_with_the_request_id_and_the_caller(logged):
    user = Principal(type=USER, id="usr_01ada", session_id="ses_01one")
    handler(event(f"/orgs/{ORG}/thing", "req-one", user, org_id=ORG), CONTEXT)
    [line] = lines(logged)
    assert line["message"] == "acting"
    assert line["detail"] == "on a thing"
    assert line["correlation_id"] == "req-one"
    assert (line["principal_type"], line["principal_id"], line["org_id"]) == (USER, "usr_01ada", ORG)
    assert line["function_name"] == "TestFunction"
    assert line["service"] == "kuploy-access"


def test_an_api_key_is_logged_by_its_id_and_organization():
    key = Principal(type=API_KEY, id="key_01ci", org_id=ORG, scopes=("org:read",))
    observability.logger.append_keys(principal_type="stale")
    observability.log_principal(key)
    keys = observability.logger.get_current_keys()
    assert (keys["principal_type"], keys["principal_id"], keys["org_id"]) == (API_KEY, "key_01ci", ORG)


def test_the_next_request_starts_with_none_of_the_previous_keys(logged):
    user = Principal(type=USER, id="usr_01ada")
    handler(event(f"/orgs/{ORG}/thing", "req-one", user, org_id=ORG), CONTEXT)
    handler(event("/quiet", "req-two"), CONTEXT)
    first, second = lines(logged)
    assert first["principal_id"] == "usr_01ada"
    assert second["correlation_id"] == "req-two"
    assert not {"principal_type", "principal_id", "org_id"} & second.keys()


def test_a_path_s_org_id_is_logged_only_when_it_is_shaped_like_an_id(logged):
    user = Principal(type=USER, id="usr_01ada")
    chosen = "whatever-the-client-typed"
    handler(event(f"/orgs/{chosen}/thing", "req-one", user, org_id=chosen), CONTEXT)
    [line] = lines(logged)
    assert "org_id" not in line
    assert chosen not in logged.getvalue()


def test_every_429_counts_one_rate_limited_whoever_answered_it(capsys):
    assert handler(event("/limited", "req-1"), CONTEXT)["statusCode"] == 429
    assert handler(event("/page", "req-2"), CONTEXT)["statusCode"] == 429
    assert handler(event("/quiet", "req-3"), CONTEXT)["statusCode"] == 200
    documents = emf(capsys.readouterr().out)
    assert [document.get("RateLimited") for document in documents] == [[1.0], [1.0]]
    [definition] = documents[0]["_aws"]["CloudWatchMetrics"]
    assert definition["Namespace"] == "Kuploy/Access"
    assert definition["Dimensions"] == [["service"]]


def test_a_metric_with_dimensions_is_published_at_once_in_a_document_of_its_own(capsys):
    observability.count("Logins")
    observability.count("AuthorizerRefusals", reason="token_expired")
    [alone] = emf(capsys.readouterr().out)
    assert alone["AuthorizerRefusals"] == [1.0]
    assert (alone["reason"], alone["service"]) == ("token_expired", "kuploy-access")
    assert sorted(alone["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]) == ["reason", "service"]
    assert "Logins" in metrics.metric_set  # still waiting for the end of the request


def test_a_request_that_counted_nothing_prints_no_metrics(capsys):
    handler(event("/quiet", "req-1"), CONTEXT)
    assert emf(capsys.readouterr().out) == []


def test_the_event_is_never_logged_whatever_the_environment_says(logged, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_LOGGER_LOG_EVENT", "true")
    entry = lambda_entry(app)
    request = event("/quiet", "req-1")
    request["headers"]["authorization"] = "Bearer s3cr3t-never-logged"
    entry(request, CONTEXT)
    assert "s3cr3t-never-logged" not in logged.getvalue()


def test_invocations_running_at_once_in_one_process_publish_without_failing(capsys):
    """Lambda runs one invocation per process, but the local server runs many on threads
    and Powertools keeps one metric set per process: one request's flush must not find
    the set another request just emptied (the soak met a 500 on sign-up that way)."""
    import threading

    counting = observability.instrumented(counts_one_metric)
    failures: list[BaseException] = []
    start = threading.Barrier(8)

    def invoke_many() -> None:
        start.wait()
        for i in range(300):
            try:
                counting({"requestContext": {"requestId": f"r{i}"}}, CONTEXT)
            except BaseException as failure:
                failures.append(failure)

    threads = [threading.Thread(target=invoke_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert sum(len(document["Counted"]) for document in published if "Counted" in document) == 8 * 300


def counts_one_metric(event: dict[str, Any], context: Any) -> dict[str, Any]:
    observability.count("Counted")
    return {"statusCode": 200}
