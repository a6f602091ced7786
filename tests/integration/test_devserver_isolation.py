"""The local server runs concurrent requests on threads of one process; Lambda runs
one request per process. Powertools' resolver keeps the current request on a class
attribute, so the local server must keep it per thread, or requests read each other's
(devserver.resolver_isolation). These tests fail if an upgrade of Powertools breaks that."""

from __future__ import annotations

import json
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from devserver.gateway import LocalGateway
from devserver.resolver_isolation import isolate_concurrent_invocations
from devserver.template import ApiSpec, FunctionSpec, RouteSpec
from tests.integration.support import run_together


def _event(path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "GET /whoami",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"x-caller": path},
        "requestContext": {
            "stage": "$default",
            "http": {"method": "GET", "path": path, "sourceIp": "203.0.113.7", "userAgent": "t"},
        },
        "isBase64Encoded": False,
    }


def test_two_concurrent_requests_each_see_their_own_event():
    isolate_concurrent_invocations()
    both_resolving = threading.Barrier(2, timeout=10)

    def container() -> APIGatewayHttpResolver:
        app = APIGatewayHttpResolver()

        @app.get("/<name>")
        def whoami(name: str) -> dict[str, str]:
            # Both requests have been handed to their resolvers before either reads its event.
            both_resolving.wait()
            return {"path": app.current_event.path, "header": app.current_event.headers["x-caller"]}

        return app

    apps = [container(), container()]
    outcomes = run_together(2, lambda i: apps[i].resolve(_event(f"/caller-{i}"), None))
    bodies = [outcome for kind, outcome in outcomes if kind == "ok"]
    assert len(bodies) == 2, outcomes
    assert '"path":"/caller-0"' in bodies[0]["body"].replace(" ", "")
    assert '"header":"/caller-0"' in bodies[0]["body"].replace(" ", "")
    assert '"path":"/caller-1"' in bodies[1]["body"].replace(" ", "")


# A function of its own, loaded by the local gateway like any function of the template.
PROBE_FUNCTION = "IsolationProbeFunction"
PROBE_APP = """
import isolation_probe
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

app = APIGatewayHttpResolver()


@app.post("/whoami/<name>")
def whoami(name: str) -> dict:
    # Every concurrent request is inside its resolver before any reads its event.
    isolation_probe.all_resolving.wait()
    event = app.current_event
    return {
        "name": name,
        "path": event.path,
        "caller": event.headers["x-caller"],
        "query": event.query_string_parameters,
        "body": event.json_body,
        "request_id": app.lambda_context.aws_request_id,
    }


def lambda_handler(event, context):
    answer = app.resolve(event, context)
    answer["headers"]["x-invocation"] = context.aws_request_id
    return answer
"""


@pytest.fixture
def probe_gateway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LocalGateway, Any]]:
    (tmp_path / "app.py").write_text(textwrap.dedent(PROBE_APP), encoding="utf-8")
    (tmp_path / "isolation_probe.py").write_text("all_resolving = None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    import isolation_probe  # type: ignore[import-not-found]

    function = FunctionSpec(logical_id=PROBE_FUNCTION, code_dir=tmp_path, module="app", handler="lambda_handler")
    route = RouteSpec(method="POST", path="/whoami/{name}", function=function, protected=False)
    gateway = LocalGateway(ApiSpec(routes=[route], authorizer=None, table={}, environment={}))
    try:
        yield gateway, isolation_probe
    finally:
        for name in [
            n for n in sys.modules if n == "isolation_probe" or n.startswith(f"kuploy_function_{PROBE_FUNCTION}")
        ]:
            del sys.modules[name]


def test_concurrent_requests_through_the_gateway_each_see_their_own_request(probe_gateway):
    gateway, probe = probe_gateway
    callers = 4
    probe.all_resolving = threading.Barrier(callers, timeout=10)

    def call(i: int) -> Any:
        body = json.dumps({"caller": i}).encode()
        headers = [("Content-Type", "application/json"), ("X-Caller", f"caller-{i}")]
        return gateway.handle("POST", f"/whoami/name-{i}", f"n={i}", headers, body, "203.0.113.7")

    outcomes = run_together(callers, call)
    answers = [outcome for kind, outcome in outcomes if kind == "ok"]
    assert len(answers) == callers, outcomes
    for i, answer in enumerate(answers):
        assert answer.status == 200, answer.body
        seen = json.loads(answer.body)
        assert seen == {
            "name": f"name-{i}",
            "path": f"/whoami/name-{i}",
            "caller": f"caller-{i}",
            "query": {"n": str(i)},
            "body": {"caller": i},
            "request_id": dict(answer.headers)["x-invocation"],
        }
    # One container per concurrent request, as Lambda would start.
    copies = [name for name in sys.modules if name.startswith(f"kuploy_function_{PROBE_FUNCTION}")]
    assert len(copies) == callers
