"""Password login through the handler on moto: refusals, the token pair, the session, its cost."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    AUDIT_PK_PREFIX,
    LOGIN_FAILURES_PK_PREFIX,
    REFRESH_TOKEN_PK_PREFIX,
    REFRESH_TOKEN_SK,
    audit_pk,
    rate_counter_pk_prefix,
    refresh_token_pk,
    session_sk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
from kuploy_access.adapters.password_hasher import MEMORY_COST_KIB, TIME_COST, Argon2PasswordHasher
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP, LOGIN_FAILURES_PER_IP
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind, hash_secret, new_secret
from kuploy_access.domain.users import User
from tests.integration import support
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
    return GatewayClient(aws)


def log_in(client: GatewayClient, email: str, password: str = PASSWORD, **headers: str):
    return client.request("POST", "/auth/login", {"email": email, "password": password}, headers=headers or None)


def test_wrong_password_and_unknown_email_answer_the_same_401(client):
    client.sign_up_and_verify("ada@example.com")

    answers = [
        log_in(client, "ada@example.com", "not the passphrase"),
        log_in(client, "nobody@example.com"),
        log_in(client, "nobody@example.com", "not the passphrase"),
        log_in(client, "not-an-email"),
        log_in(client, ""),
        log_in(client, "ada@example.com", ""),
    ]

    for answer in answers:
        assert_problem(answer, 401, "invalid_credentials")
    assert len({answer.body for answer in answers}) == 1
    assert len({tuple(sorted(answer.headers.items())) for answer in answers}) == 1
    # No session was started by any of them.
    assert support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX) == []


def test_an_unverified_account_is_403_only_with_the_right_password(client):
    client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": PASSWORD})

    assert_problem(log_in(client, "ada@example.com"), 403, "email_not_verified")
    # A wrong password says nothing about the account's state.
    assert_problem(log_in(client, "ada@example.com", "not the passphrase"), 401, "invalid_credentials")
    assert support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX) == []


def test_login_answers_the_token_pair_and_starts_a_session(client):
    client.sign_up_and_verify("ada@example.com")
    user_id = support.users()[0]["user_id"]
    before = int(datetime.now(UTC).timestamp())

    answer = log_in(client, "ADA@example.com", **{"User-Agent": "kuploy-cli/1.0"})

    assert answer.status == 200, answer.text
    tokens = answer.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900

    header, claims, _ = support.jwt_parts(tokens["access_token"])
    assert header["alg"] == "HS256"
    assert header["typ"] == "at+jwt"
    assert claims["sub"] == user_id
    assert claims["aud"] == "kuploy-api"
    assert claims["iss"]
    assert claims["jti"]
    assert before - 1 <= claims["iat"] <= before + 60
    assert claims["exp"] - claims["iat"] == 900

    # The refresh token is opaque, stored only as its SHA-256, beside the session.
    refresh = tokens["refresh_token"]
    assert refresh.count(".") == 0 and len(refresh) >= 32
    stored = support.raw_item(refresh_token_pk(hash_secret(refresh)), REFRESH_TOKEN_SK)
    assert stored is not None
    assert stored["user_id"] == user_id
    session = support.raw_item(user_pk(user_id), session_sk(stored["session_id"]))
    assert session is not None
    assert session["ip"] == "203.0.113.7"
    assert session["user_agent"] == "kuploy-cli/1.0"
    assert claims["sid"] == stored["session_id"]
    assert refresh not in repr(support.scan())
    assert tokens["access_token"] not in repr(support.scan())


def test_each_login_is_its_own_session(client):
    client.sign_up_and_verify("ada@example.com")
    first = client.log_in("ada@example.com")
    second = client.log_in("ada@example.com")
    assert first["refresh_token"] != second["refresh_token"]
    assert support.jwt_parts(first["access_token"])[1]["jti"] != support.jwt_parts(second["access_token"])[1]["jti"]
    assert len(support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX)) == 2


def test_passwords_are_nfkc_normalized_before_hashing(client):
    composed = "Café ｌｏｎｇ passphrase ２０２４"  # full-width letters and digits
    client.sign_up_and_verify("ada@example.com", password=composed)

    decomposed = unicodedata.normalize("NFD", "Café long passphrase 2024")
    assert decomposed != composed
    assert log_in(client, "ada@example.com", decomposed).status == 200
    assert log_in(client, "ada@example.com", composed).status == 200
    assert_problem(log_in(client, "ada@example.com", "Cafe long passphrase 2024"), 401, "invalid_credentials")


def test_long_passwords_are_never_truncated(client):
    password = "correct horse battery staple " * 8  # 232 characters
    client.sign_up_and_verify("ada@example.com", password=password)

    assert log_in(client, "ada@example.com", password).status == 200
    for prefix in (72, 128, len(password) - 1):
        assert_problem(log_in(client, "ada@example.com", password[:prefix]), 401, "invalid_credentials")


def test_a_hash_with_old_parameters_is_upgraded_at_login(client):
    weak = Argon2PasswordHasher(time_cost=1, memory_cost=8 * 1024)
    user = User(
        id=new_id("usr"),
        email="old@example.com",
        name="Old",
        password_hash=weak.hash(PASSWORD),
        email_verified=False,
        two_factor_enabled=False,
        created_at=datetime.now(UTC),
    )
    secret = new_secret()
    token = OneTimeToken(
        TokenKind.EMAIL_VERIFICATION,
        hash_secret(secret),
        user.id,
        datetime.now(UTC).replace(year=2100),
        password_hash=user.password_hash,
    )
    user = replace(user, pending_verification_hashes=frozenset({token.token_hash}))
    repository = DynamoUserRepository()
    repository.create(user, token)
    repository.verify_email(token, user.email)
    assert "m=8192,t=1" in support.users()[0]["password_hash"]

    assert log_in(client, "old@example.com").status == 200

    upgraded = support.users()[0]["password_hash"]
    assert upgraded.startswith("$argon2id$")
    assert f"m={MEMORY_COST_KIB},t={TIME_COST}" in upgraded
    # And the upgraded hash still verifies the same password.
    assert log_in(client, "old@example.com").status == 200
    assert_problem(log_in(client, "old@example.com", "not the passphrase"), 401, "invalid_credentials")


def test_login_makes_five_dynamodb_requests(client):
    client.sign_up_and_verify("ada@example.com")
    client.log_in("ada@example.com")  # warm: the signing key and the dummy hash are per container

    with support.count_dynamodb_requests() as requests:
        answer = log_in(client, "ada@example.com")

    assert answer.status == 200
    assert requests.by_hook == requests.by_moto, requests  # no client escaped the hooks
    # The email guard and the three counts in one consistent read; the attempt taken
    # before the password is checked; the user; the attempt given back with the sign-in's
    # audit event; the new session.
    assert requests.by_hook == [
        "BatchGetItem",
        "TransactWriteItems",
        "GetItem",
        "TransactWriteItems",
        "TransactWriteItems",
    ]


def test_a_refused_login_costs_the_same_requests_for_known_and_unknown_addresses(client, service_clock):
    """A wrong password and an unknown address read and write alike: the attempt, the
    account (or an id nobody has), and the audit event (or a write its condition refuses)."""
    client.sign_up_and_verify("ada@example.com")
    client.log_in("ada@example.com")

    with support.count_dynamodb_requests() as wrong_requests:
        wrong = log_in(client, "ada@example.com", "not the passphrase")
    with support.count_dynamodb_requests() as unknown_requests:
        unknown = log_in(client, "nobody@example.com")

    assert wrong.status == unknown.status == 401
    for requests in (wrong_requests, unknown_requests):
        assert requests.by_hook == requests.by_moto, requests
        assert requests.by_hook == ["BatchGetItem", "TransactWriteItems", "GetItem", "PutItem"], requests.by_hook
    # What the transactions wrote: one failure for each (address, client IP) pair, two for
    # the client IP; nothing on any trail for the unknown address.
    counters = [item for item in support.rate_counters() if item["pk"].startswith(support.LOGIN_COUNTERS)]
    hits = sorted((item["pk"].split("#")[1], int(item["hits"])) for item in counters)
    assert hits == [("login-ip", 2), ("login-pair", 1), ("login-pair", 1)], hits
    trails = {item["pk"] for item in support.items_with_prefix(AUDIT_PK_PREFIX)}
    assert all(pk.startswith(audit_pk("usr_")) and pk != audit_pk("usr_00000000000000000000000000") for pk in trails)


def test_a_success_after_a_mistyped_password_clears_the_counts(client):
    """A success clears the pair's and the account's failure counts, so earlier typos do
    not count towards a lockout, and gives back its own attempt to the address."""
    client.sign_up_and_verify("ada@example.com")
    client.log_in("ada@example.com")
    assert_problem(log_in(client, "ada@example.com", "not the passphrase"), 401, "invalid_credentials")

    answer = log_in(client, "ada@example.com")

    assert answer.status == 200
    pairs = [
        item
        for item in support.rate_counters()
        if item["pk"].startswith(rate_counter_pk_prefix(LOGIN_FAILURES_PER_ACCOUNT_AND_IP))
    ]
    assert pairs == []
    assert support.items_with_prefix(LOGIN_FAILURES_PK_PREFIX) == []
    per_ip = [
        int(item["hits"])
        for item in support.rate_counters()
        if item["pk"].startswith(rate_counter_pk_prefix(LOGIN_FAILURES_PER_IP))
    ]
    assert per_ip == [1]
