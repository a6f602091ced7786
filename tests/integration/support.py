"""Helpers for the integration tests: the table as items, problem documents, JWTs, counters."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from kuploy_access.adapters.dynamodb.keys import (
    EMAIL_GUARD_PK_PREFIX,
    PROFILE_SK,
    RATE_COUNTER_PK_PREFIX,
    USER_PK_PREFIX,
    one_time_token_pk,
    rate_counter_pk_prefix,
)
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP, LOGIN_FAILURES_PER_IP
from kuploy_access.domain.one_time_tokens import TokenKind
from tests.integration.gateway_client import Answer

REGION = "us-east-1"
PASSWORD = "a sturdy passphrase"


# --- the table -------------------------------------------------------------------------


def table_name() -> str:
    return os.environ["TABLE_NAME"]


def scan() -> list[dict[str, Any]]:
    """Every item of the table, as plain values (strings, bools, numbers as strings)."""
    client = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name(), ConsistentRead=True):
        for item in page["Items"]:
            items.append({name: next(iter(value.values())) for name, value in item.items()})
    return items


def items_with_prefix(prefix: str) -> list[dict[str, Any]]:
    return [item for item in scan() if item["pk"].startswith(prefix)]


def users() -> list[dict[str, Any]]:
    return [item for item in scan() if item["pk"].startswith(USER_PK_PREFIX) and item["sk"] == PROFILE_SK]


def email_guards() -> list[dict[str, Any]]:
    return [item for item in scan() if item["pk"].startswith(EMAIL_GUARD_PK_PREFIX)]


def verification_tokens() -> list[dict[str, Any]]:
    return items_with_prefix(one_time_token_pk(TokenKind.EMAIL_VERIFICATION, ""))


def raw_item(pk: str, sk: str) -> dict[str, Any] | None:
    client = boto3.client("dynamodb", region_name=REGION)
    found = client.get_item(TableName=table_name(), Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
    item = found.get("Item")
    if item is None:
        return None
    return {name: next(iter(value.values())) for name, value in item.items()}


def delete_raw_item(pk: str, sk: str) -> None:
    boto3.client("dynamodb", region_name=REGION).delete_item(
        TableName=table_name(), Key={"pk": {"S": pk}, "sk": {"S": sk}}
    )


# --- answers ---------------------------------------------------------------------------


PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}


def assert_problem(answer: Answer, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem document with the stable code of API.md."""
    assert answer.status == status, (answer.status, answer.text)
    assert answer.headers.get("content-type", "").startswith("application/problem+json"), answer.headers
    assert answer.headers.get("cache-control") == "no-store", answer.headers
    body: dict[str, Any] = answer.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status, body
    assert body["code"] == code, body
    assert isinstance(body["type"], str) and body["type"], body
    assert isinstance(body["title"], str) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    if status == 401:
        assert answer.headers.get("www-authenticate", "").startswith("Bearer"), answer.headers
    return body


def assert_no_5xx(answer: Answer) -> None:
    assert answer.status < 500, (answer.status, answer.text)


# --- JWTs ------------------------------------------------------------------------------


def signing_key() -> bytes:
    """The HS256 key, read from (moto) Secrets Manager as the service reads it."""
    client = boto3.client("secretsmanager", region_name=REGION)
    value = client.get_secret_value(SecretId=os.environ["SIGNING_KEY_SECRET_ID"])["SecretString"]
    return str(value).encode("utf-8")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), signature


def forge_jwt(header: dict[str, Any], claims: dict[str, Any], key: bytes | None, algorithm: str = "HS256") -> str:
    """A compact JWS by hand, so nothing in a library can refuse to build a bad one."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[algorithm]
    signature = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def access_claims(
    user_id: str, *, now: datetime | None = None, lifetime: timedelta = timedelta(minutes=15)
) -> dict[str, object]:
    issued = int((now or datetime.now(UTC)).timestamp())
    return {
        "iss": "https://access.kuploy.dev",
        "aud": "kuploy-api",
        "sub": user_id,
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": "test-" + os.urandom(8).hex(),
        "sid": "ses_test",
    }


ACCESS_HEADER = {"alg": "HS256", "typ": "at+jwt"}


# --- counting DynamoDB requests ---------------------------------------------------------


@dataclass
class DynamoRequests:
    """DynamoDB requests, seen twice: by botocore hooks on the clients, and by moto."""

    by_hook: list[str] = field(default_factory=list)
    by_moto: list[str] = field(default_factory=list)


def _pynamodb_clients() -> list[Any]:
    """Every botocore client the repositories use: each model's, and each adapter's own
    connection (for transactions), found by walking the services the wiring builds."""
    from pynamodb.models import Model

    from kuploy_access.adapters.dynamodb import models
    from kuploy_access.adapters.dynamodb.transactions import table_connection

    clients = [table_connection().client]
    for model in vars(models).values():
        if isinstance(model, type) and issubclass(model, Model) and model is not Model:
            clients.append(model._get_connection().connection.client)
    seen: set[int] = set()

    def walk(thing: Any, depth: int) -> None:
        if id(thing) in seen or depth > 3:
            return
        seen.add(id(thing))
        connection = getattr(thing, "_connection", None)
        if connection is not None:
            clients.append(connection.client)
        for value in getattr(thing, "__dict__", {}).values():
            if type(value).__module__.startswith("kuploy_access."):
                walk(value, depth + 1)

    for factory in _wiring_factories():
        walk(factory(), 0)
    unique: dict[int, Any] = {id(client): client for client in clients}
    return list(unique.values())


SERVICE_FACTORIES = (
    "signup_service",
    "login_service",
    "account_service",
    "session_service",
    "password_service",
    "rate_limiter",
)


def _wiring_factories() -> list[Any]:
    from kuploy_access import wiring

    return [getattr(wiring, name) for name in SERVICE_FACTORIES]


def forget_containers() -> None:
    """Drop every per-container cache of the wiring, as a new Lambda container starts
    without them (and as a new moto world needs)."""
    from kuploy_access import wiring
    from kuploy_access.adapters.signing_key import forget_signing_keys

    for value in vars(wiring).values():
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == wiring.__name__:
            value.cache_clear()
    forget_signing_keys()
    # Only when a test loaded it: importing it would load Authlib for every test.
    oauth = sys.modules.get("kuploy_access.adapters.oauth")
    if oauth is not None:
        oauth.forget_client_secrets()


@contextmanager
def count_dynamodb_requests() -> Iterator[DynamoRequests]:
    """Register `before-call.dynamodb` on every botocore client the repositories use.

    moto's request handler is wrapped too, as a cross-check that no client was missed.
    """
    from moto.dynamodb.responses import DynamoHandler

    seen = DynamoRequests()

    def hook(model: Any, **_: Any) -> None:
        seen.by_hook.append(model.name)

    clients = _pynamodb_clients()
    for client in clients:
        client.meta.events.register("before-call.dynamodb", hook, unique_id="kuploy-test-counter")

    original = DynamoHandler.call_action

    def counting_call_action(self: Any) -> Any:
        seen.by_moto.append(str(self._get_action()))
        return original(self)

    DynamoHandler.call_action = counting_call_action  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DynamoHandler.call_action = original  # type: ignore[method-assign]
        for client in clients:
            client.meta.events.unregister("before-call.dynamodb", unique_id="kuploy-test-counter")


# --- a moto world shared by the tests of one module -------------------------------------


@contextmanager
def moto_world() -> Iterator[Any]:
    """What conftest's `aws` fixture does, for a module-scoped fixture: yields the outbox."""
    from devserver.embedded_aws import LOCAL_ENVIRONMENT, embedded_aws
    from devserver.template import api_spec

    environment = {name: os.environ.get(name, value) for name, value in LOCAL_ENVIRONMENT.items()}
    try:
        with embedded_aws(api_spec().table, environment) as outbox:
            yield outbox
    finally:
        forget_containers()


def wipe_table() -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    for item in scan():
        client.delete_item(TableName=table_name(), Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}})


class OutboxSince:
    """The emails sent since this view was made, so that tests can share one moto world."""

    def __init__(self, outbox: Any) -> None:
        self._outbox = outbox
        self._start = len(outbox.all())
        self.listeners = outbox.listeners

    def all(self) -> list[dict[str, str]]:
        return list(self._outbox.all()[self._start :])


# --- the services' clock ----------------------------------------------------------------

# Every rate limit's window (15 minutes, 1 hour) is a multiple of this one, aligned to
# the epoch, so a window boundary of any limit is also a boundary of this one.
RATE_WINDOW_SECONDS = 15 * 60


class ServiceClock:
    """`SystemClock.now` of every service, as real time plus an offset the test moves.

    The authorizer keeps the real clock; offsets stay small or in the future, so the
    access tokens the services issue stay valid for it.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta

    def clear_of_window_edges(self, margin: timedelta = timedelta(minutes=2)) -> None:
        """Step into the next window when this one ends within `margin`, so that a test's
        requests all count in one window whenever it runs."""
        seconds = self.now().timestamp()
        left = RATE_WINDOW_SECONDS - seconds % RATE_WINDOW_SECONDS
        if left < margin.total_seconds():
            self.advance(timedelta(seconds=left + 1))

    def clear_of_window_start(self, margin: timedelta = timedelta(minutes=2)) -> None:
        """Step forward until this window began at least `margin` ago, for a test that moves
        the clock back and must stay in the window it started in."""
        since = self.now().timestamp() % RATE_WINDOW_SECONDS
        if since < margin.total_seconds():
            self.advance(timedelta(seconds=margin.total_seconds() - since + 1))


@contextmanager
def service_clock() -> Iterator[ServiceClock]:
    from kuploy_access.adapters import clock

    original = clock.SystemClock.now
    controlled = ServiceClock()
    controlled.clear_of_window_edges()
    clock.SystemClock.now = lambda self: controlled.now()  # type: ignore[method-assign]
    try:
        yield controlled
    finally:
        clock.SystemClock.now = original  # type: ignore[method-assign]


def rate_counters() -> list[dict[str, Any]]:
    return items_with_prefix(RATE_COUNTER_PK_PREFIX)


# The login limits' window counters (per address and IP, per IP), for `startswith`.
LOGIN_COUNTERS = (
    rate_counter_pk_prefix(LOGIN_FAILURES_PER_ACCOUNT_AND_IP),
    rate_counter_pk_prefix(LOGIN_FAILURES_PER_IP),
)


# --- threads released at once -----------------------------------------------------------

TIMEOUT = 30


def run_together(count: int, target: Callable[[int], Any]) -> list[tuple[str, Any]]:
    """Run `target(i)` on `count` threads released at once; answer each outcome."""
    start = threading.Barrier(count, timeout=TIMEOUT)
    outcomes: list[tuple[str, Any]] = [("missing", None)] * count

    def work(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = ("ok", target(index))
        except BaseException as error:
            outcomes[index] = ("error", error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread hung"
    return outcomes


def meet_before(monkeypatch: pytest.MonkeyPatch, cls: type, method: str, parties: int) -> threading.Barrier:
    """Make every thread that calls cls.method wait for the others first."""
    barrier = threading.Barrier(parties, timeout=TIMEOUT)
    original = getattr(cls, method)

    def waiting(self: Any, *args: Any, **kwargs: Any) -> Any:
        barrier.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, waiting)
    return barrier
