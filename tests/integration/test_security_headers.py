"""HSTS and COOP on every kind of answer the functions make: JSON, problem documents
(from a route, from the resolver, from before routing, from a bug), HTML pages, and the
OpenAPI document. The gateway's own answers (no route at all) are API Gateway's and carry
only what API Gateway sends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.integration import org_support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures

HSTS = "max-age=63072000; includeSubDomains"
COOP = "same-origin"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def assert_security_headers(answer: Answer) -> None:
    assert answer.headers.get("strict-transport-security") == HSTS, (answer.status, answer.headers)
    assert answer.headers.get("cross-origin-opener-policy") == COOP, (answer.status, answer.headers)


KINDS: dict[str, Callable[[GatewayClient, str], Answer]] = {
    "JSON 200": lambda c, token: c.request("GET", "/me", token=token),
    "JSON 202": lambda c, _: c.request("POST", "/auth/signup", {"email": "new@example.com", "password": "zq8!Lm#2xx"}),
    "problem 422 from a route": lambda c, _: c.request("POST", "/auth/signup", {}),
    "problem 400 before routing": lambda c, _: c.request("POST", "/auth/signup", raw=b"[]"),
    "problem 413 before routing": lambda c, _: c.request("POST", "/auth/login", raw=b" " * (64 * 1024 + 1)),
    "problem 401 before routing": lambda c, _: c.request("GET", "/me", token="not-a-token"),
    "problem 404 from a route": lambda c, token: c.request("GET", "/orgs/org_00000000000000000000000000", token=token),
    "page 200": lambda c, _: c.request("GET", "/verify-email?token=abc"),
    "page 400": lambda c, _: c.request("GET", "/reset-password"),
    "page 4xx after a form post": lambda c, _: c.request("POST", "/verify-email", raw=b"token=nope", headers=FORM),
    "OpenAPI document": lambda c, _: c.request("GET", "/openapi.json"),
}


@pytest.fixture
def signed_in(client, cheap_password_hashing) -> tuple[GatewayClient, str]:
    _, token = org_support.new_user(client, "headers@example.com")
    return client, token


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_answer_carries_hsts_and_coop(signed_in, kind):
    client, token = signed_in
    answer = KINDS[kind](client, token)
    assert_security_headers(answer)


def test_the_answer_to_a_bug_carries_them_too(signed_in, monkeypatch):
    client, token = signed_in
    from kuploy_access.services.account import AccountService

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(AccountService, "get", broken)
    answer = client.request("GET", "/me", token=token)
    assert answer.status == 500, answer.text
    assert_security_headers(answer)


def test_an_unknown_path_inside_a_function_carries_them(signed_in):
    """The resolver's own 404: a path the gateway routes to a function that has no such route."""
    from kuploy_access.http.api import create_app, lambda_entry

    handler = lambda_entry(create_app())
    event = {
        "version": "2.0",
        "routeKey": "GET /nowhere",
        "rawPath": "/nowhere",
        "rawQueryString": "",
        "headers": {},
        "requestContext": {
            "http": {"method": "GET", "path": "/nowhere", "sourceIp": "203.0.113.7"},
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }

    class Context:
        function_name = "test"
        memory_limit_in_mb = 128
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
        aws_request_id = "req"

    result = handler(event, Context())
    assert result["statusCode"] == 404
    headers = {k.lower(): v for k, v in result["headers"].items()}
    assert headers["strict-transport-security"] == HSTS
    assert headers["cross-origin-opener-policy"] == COOP
