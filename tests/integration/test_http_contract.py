"""API.md's conventions through the handlers, for requests that do change something."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration import support
from tests.integration.declared_answers import declared_answers
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import PASSWORD, assert_problem


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module (creating one costs more than most tests here)."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the shared world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


@pytest.fixture
def client(aws):
    checked = GatewayClient(aws)
    checked.contract = declared_answers()  # every answer here is one openapi.json declares
    return checked


def test_password_length_bounds_are_8_and_256_characters(client):
    assert client.request("POST", "/auth/signup", {"email": "eight@example.com", "password": "zq8!Lm#2"}).status == 202
    long_ok = "Zq8!" * 64
    assert len(long_ok) == 256
    assert client.request("POST", "/auth/signup", {"email": "max@example.com", "password": long_ok}).status == 202
    assert sorted(user["email"] for user in support.users()) == ["eight@example.com", "max@example.com"]


def test_the_body_limit_is_64_kib_exactly(client):
    prefix = b'{"email": "ada@example.com", "password": "a sturdy passphrase"}'
    at_limit = prefix + b" " * (64 * 1024 - len(prefix))
    assert len(at_limit) == 64 * 1024
    assert client.request("POST", "/auth/signup", raw=at_limit).status == 202
    assert_problem(client.request("POST", "/auth/signup", raw=at_limit + b" "), 413, "payload_too_large")
    assert len(support.users()) == 1


def test_server_owned_fields_in_login_and_verify_are_refused(client):
    client.sign_up_and_verify("ada@example.com")
    answer = client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD, "role": "owner"})
    assert_problem(answer, 422, "validation_error")
    answer = client.request("POST", "/auth/verify-email", {"token": "t" * 43, "email_verified": True})
    assert_problem(answer, 422, "validation_error")


def test_answers_with_tokens_are_not_cached(client):
    client.sign_up_and_verify("ada@example.com")
    answer = client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD})
    assert answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"].startswith("application/json")
    me = client.request("GET", "/me", token=answer.json()["access_token"])
    assert me.status == 200
    assert me.headers["cache-control"] == "no-store"


def test_a_new_account_answers_202_with_no_store(client):
    answer = client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})
    assert answer.status == 202
    assert answer.json() == {"status": "verification_sent"}
    assert answer.headers["cache-control"] == "no-store"
