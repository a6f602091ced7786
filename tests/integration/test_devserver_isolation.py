"""The local server runs concurrent requests on threads of one process; Lambda runs
one request per process. Powertools' resolver keeps the current request on a class
attribute, so the local server must keep it per thread, or requests read each other's."""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from devserver.gateway import _isolate_resolver_requests
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
    _isolate_resolver_requests()
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
