"""One request's logs, found as an operator finds them (README, "Logs"): by the
`apigw-requestid` its answer carries, which every JSON line of that request holds as
`correlation_id`, with who called."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import DevServer, bearer, logged_in

pytestmark = pytest.mark.e2e


def lines_of(server: DevServer, request_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The JSON lines of one request in the functions' log (written as the request ends)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [
            line
            for line in map(json.loads, filter(None, server.function_log_text().splitlines()))
            if line.get("correlation_id") == request_id
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_a_request_s_lines_carry_its_id_and_its_caller(server: DevServer, client: httpx.Client) -> None:
    _, tokens = logged_in(client)
    me = client.get("/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    request_id = me.headers["apigw-requestid"]
    [answered] = [line for line in lines_of(server, request_id) if line["message"] == "answered"]
    assert answered["route"] == "GET /me"
    assert answered["status"] == 200
    assert (answered["principal_type"], answered["principal_id"]) == ("user", me.json()["id"])
    assert answered["function_name"] == "AccountFunction"
    assert answered["level"] == "DEBUG"  # the suite's functions log at DEBUG


def test_a_refused_credential_is_logged_by_the_authorizer_under_the_request_s_id(
    server: DevServer, client: httpx.Client
) -> None:
    refused = client.get("/me", headers=bearer("not.a.token"))
    assert refused.status_code == 401
    lines = lines_of(server, refused.headers["apigw-requestid"])
    assert {line["function_name"] for line in lines} >= {"AuthorizerFunction"}
    assert not any("principal_id" in line for line in lines)
