"""Bad input through the handlers: always a 4xx problem document, never a write, never a 5xx.

None of these requests may change anything, so they share one moto world (module
scope, for speed); each test starts from an empty table and checks it stays empty.
The one write a well-formed request may leave is a rate-limit counter (a refused
login, an email that a limit guards): tests that send such requests say so, and
then the table may hold those counters and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from kuploy_access.adapters.dynamodb.keys import LOGIN_FAILURES_PK_PREFIX, RATE_COUNTER_PK_PREFIX
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import PASSWORD, PROBLEM_FIELDS, assert_no_5xx, assert_problem

JSON_BODY_ROUTES = ["/auth/signup", "/auth/verify-email", "/auth/resend-verification", "/auth/login"]

VALID_BODIES: dict[str, dict[str, Any]] = {
    "/auth/signup": {"email": "ada@example.com", "password": PASSWORD},
    "/auth/verify-email": {"token": "x" * 43},
    "/auth/resend-verification": {"email": "ada@example.com"},
    "/auth/login": {"email": "ada@example.com", "password": PASSWORD},
}

NOT_AN_OBJECT = [b"[1]", b'"x"', b"null", b"{", b"", b"1", b"true", b"[]", b"{]", b'{"email": "a@example.com",}']


class Client(GatewayClient):
    emails_before = 0
    counters_allowed = False

    def assert_nothing_changed(self) -> None:
        items = support.scan()
        if self.counters_allowed:
            # Only the counters of the limits, each with its TTL; no account, token or session.
            counters = (RATE_COUNTER_PK_PREFIX, LOGIN_FAILURES_PK_PREFIX)
            items = [item for item in items if not (item["pk"].startswith(counters) and item.get("expires_at_epoch"))]
        assert items == [], items
        assert self.outbox.all()[self.emails_before :] == []


@pytest.fixture(scope="module")
def world() -> Iterator[Client]:
    with support.moto_world() as outbox:
        yield Client(outbox)


@pytest.fixture
def client(world) -> Iterator[Client]:
    support.wipe_table()
    world.emails_before = len(world.outbox.all())
    world.counters_allowed = False
    yield world
    world.assert_nothing_changed()


@pytest.mark.parametrize("route", JSON_BODY_ROUTES)
@pytest.mark.parametrize("raw", NOT_AN_OBJECT, ids=repr)
def test_a_body_that_is_not_a_json_object_is_400(client, route, raw):
    answer = client.request("POST", route, raw=raw)
    assert_problem(answer, 400, "validation_error")


@pytest.mark.parametrize("route", JSON_BODY_ROUTES)
def test_a_json_object_declared_as_a_form_is_still_read_as_json(client, route):
    """`curl -d '{...}'` declares a form; the body is JSON all the same."""
    answer = client.request("POST", route, raw=b"{}", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_problem(answer, 422, "validation_error")


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("/auth/signup", {"password": PASSWORD}),
        ("/auth/signup", {"email": "ada@example.com"}),
        ("/auth/signup", {}),
        ("/auth/signup", {"email": 1, "password": PASSWORD}),
        ("/auth/signup", {"email": ["ada@example.com"], "password": PASSWORD}),
        ("/auth/signup", {"email": "ada@example.com", "password": None}),
        ("/auth/signup", {"email": "ada@example.com", "password": 12345678}),
        ("/auth/signup", {"email": "ada@example.com", "password": PASSWORD, "name": {"first": "Ada"}}),
        ("/auth/signup", {"email": "ada@example.com", "password": PASSWORD, "name": "n" * 201}),
        ("/auth/signup", {"email": "ada@example.com", "password": "p" * 1025}),
        ("/auth/verify-email", {}),
        ("/auth/verify-email", {"token": 5}),
        ("/auth/resend-verification", {}),
        ("/auth/resend-verification", {"email": True}),
        ("/auth/login", {"email": "ada@example.com"}),
        ("/auth/login", {"email": "ada@example.com", "password": ["x"]}),
    ],
    ids=repr,
)
def test_a_missing_or_mistyped_field_is_422(client, route, body):
    answer = client.request("POST", route, body)
    problem = assert_problem(answer, 422, "validation_error")
    # The problem document names the field but never echoes what was sent.
    assert problem.get("errors"), problem
    for value in body.values():
        if isinstance(value, str) and len(value) > 3:
            assert value not in answer.text


@pytest.mark.parametrize(
    "email",
    ["not-an-email", "ada@", "@example.com", "ada@@example.com", "ada example@example.com", "a" * 250 + "@x.io"],
)
@pytest.mark.parametrize("route", ["/auth/signup", "/auth/resend-verification"])
def test_an_invalid_email_is_422_invalid_email(client, route, email):
    answer = client.request(
        "POST", route, {"email": email, "password": PASSWORD} if route == "/auth/signup" else {"email": email}
    )
    assert_problem(answer, 422, "invalid_email")


@pytest.mark.parametrize("password", ["", "short", "7 chars", "e\u0301" * 4])
def test_a_short_password_is_422_password_too_short(client, password):
    """Measured in characters after NFKC: four decomposed é are four characters."""
    answer = client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": password})
    assert_problem(answer, 422, "password_too_short")


@pytest.mark.parametrize("password", ["password1", "PASSWORD1", "Password123", "qwertyuiop", "iloveyou", "12345678"])
def test_a_common_password_is_422_password_too_common(client, password):
    answer = client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": password})
    assert_problem(answer, 422, "password_too_common")


def test_a_password_over_256_characters_is_422_and_not_echoed(client):
    too_long = "Zq8!" * 64 + "x"
    answer = client.request("POST", "/auth/signup", {"email": "over@example.com", "password": too_long})
    assert_problem(answer, 422, "validation_error")
    assert too_long not in answer.text


@pytest.mark.parametrize("route", JSON_BODY_ROUTES)
def test_a_body_over_64_kib_is_413(client, route):
    body = json.dumps(VALID_BODIES[route] | {"padding": "x" * (64 * 1024)}).encode()
    answer = client.request("POST", route, raw=body)
    assert_problem(answer, 413, "payload_too_large")


def test_the_limit_counts_bytes_not_characters(client):
    # 30,000 three-byte characters: under 64 Ki characters, over 64 KiB.
    body = json.dumps({"email": "ada@example.com", "password": PASSWORD, "name": "€" * 30000}, ensure_ascii=False)
    assert len(body) < 64 * 1024 < len(body.encode())
    assert_problem(client.request("POST", "/auth/signup", raw=body.encode()), 413, "payload_too_large")


def test_an_oversized_body_on_a_protected_route_is_refused_too(client):
    answer = client.request("PATCH", "/me", raw=b'{"name": "' + b"x" * (64 * 1024) + b'"}')
    assert answer.status in (401, 413), answer.status
    assert answer.json().keys() >= PROBLEM_FIELDS


@pytest.mark.parametrize(
    "extra",
    [
        {"email_verified": True},
        {"id": "usr_chosenbytheclient0000000"},
        {"user_id": "usr_chosenbytheclient0000000"},
        {"role": "owner"},
        {"two_factor_enabled": True},
        {"created_at": "2000-01-01T00:00:00Z"},
        {"password_hash": "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
    ],
    ids=lambda extra: next(iter(extra)),
)
def test_server_owned_fields_are_refused_and_nothing_is_created(client, extra):
    body = {"email": "ada@example.com", "password": PASSWORD, "name": "Ada"} | extra
    answer = client.request("POST", "/auth/signup", body)
    assert_problem(answer, 422, "validation_error")


def test_an_unsupported_content_type_is_4xx(client):
    answer = client.request(
        "POST",
        "/auth/signup",
        raw=b"<signup><email>ada@example.com</email></signup>",
        headers={"Content-Type": "application/xml"},
    )
    assert 400 <= answer.status < 500, answer.status
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json().keys() >= PROBLEM_FIELDS


# Found by Schemathesis (tests/e2e/test_fuzz_e2e.py): a declared multipart body the
# resolver's parser cannot split answered 500.
BROKEN_MULTIPART = {
    "no boundary": "multipart/form-data",
    "a boundary the body lacks": "multipart/form-data; boundary=xyz",
    "an empty boundary": "multipart/form-data; boundary=",
    "an empty quoted boundary": 'multipart/form-data; boundary=""',
    "a boundary spelt Boundary": "multipart/form-data; Boundary=xyz",
}


@pytest.mark.parametrize("route", JSON_BODY_ROUTES)
@pytest.mark.parametrize("name", sorted(BROKEN_MULTIPART))
def test_a_multipart_body_that_cannot_be_read_is_4xx(client, route, name):
    answer = client.request(
        "POST", route, raw=json.dumps(VALID_BODIES[route]).encode(), headers={"Content-Type": BROKEN_MULTIPART[name]}
    )
    assert_no_5xx(answer)
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    assert answer.json().keys() >= PROBLEM_FIELDS


HOSTILE_BODIES = {
    "deeply nested array": b"[" * 30000 + b"]" * 30000,
    "deeply nested object": b'{"a":' * 10000 + b"1" + b"}" * 10000,
    "integer of 5000 digits": b'{"email": ' + b"1" * 5000 + b', "password": "a sturdy passphrase"}',
    "invalid UTF-8": b'{"email": "\xff\xfe@example.com", "password": "a sturdy passphrase"}',
    "UTF-16 with BOM": '{"email": "ada@example.com"}'.encode("utf-16"),
    "lone surrogate in password": b'{"email": "ada@example.com", "password": "\\ud800 sturdy passphrase"}',
    "lone surrogate in email": b'{"email": "\\udfffada@example.com", "password": "a sturdy passphrase"}',
    "lone surrogate in token": b'{"token": "\\ud800\\ud800"}',
    "NUL in email": b'{"email": "ada\\u0000@example.com", "password": "a sturdy passphrase"}',
    "NaN": b'{"email": NaN, "password": "a sturdy passphrase"}',
    "Infinity": b'{"email": "ada@example.com", "password": Infinity}',
    "huge float": b'{"email": 1e999999, "password": "a sturdy passphrase"}',
    "trailing garbage": b'{"email": "ada@example.com", "password": "a sturdy passphrase"} x',
    "two documents": b"{}{}",
    "only whitespace": b"   \n\t ",
    "binary": bytes(range(256)),
}


@pytest.mark.parametrize("route", JSON_BODY_ROUTES)
@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_hostile_bodies_get_a_4xx_problem_never_a_5xx(client, route, name):
    """API.md: bad input of any kind answers 4xx with a problem document; a 5xx is a bug."""
    answer = client.request("POST", route, raw=HOSTILE_BODIES[name])
    assert_no_5xx(answer)
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    assert answer.json().keys() >= PROBLEM_FIELDS
    if route == "/auth/login" and answer.status == 401:
        # Login takes any string as an address (the answer says nothing about accounts):
        # this one reached the password check, and a refused login counts as a failure.
        assert_problem(answer, 401, "invalid_credentials")
        client.counters_allowed = True


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/auth/signup", {"email": "ada@example.com"}),
        ("POST", "/auth/resend-verification", {"email": "ada@example.com"}),
        ("POST", "/auth/verify-email", {"token": "unknown"}),
        ("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}),
        ("GET", "/me", None),
        ("PATCH", "/me", {"name": "x"}),
    ],
)
def test_api_answers_carry_cache_control_no_store(client, method, path, body):
    # Well-formed requests: a refused login and an email request count against their limits.
    client.counters_allowed = path in ("/auth/login", "/auth/resend-verification")
    answer = client.request(method, path, body)
    assert answer.headers.get("cache-control") == "no-store", (answer.status, answer.headers)
    assert answer.headers.get("x-content-type-options") == "nosniff"


def test_an_unknown_route_is_404(client):
    assert client.request("GET", "/auth/nothing-here").status == 404


# --- the page behind the emailed link, with tokens that verify nothing ---


def test_the_page_escapes_the_token_it_reflects(client):
    hostile = '"><script>alert(1)</script><input value="'
    page = client.request("GET", f"/verify-email?token={quote(hostile)}")
    assert page.status < 500
    assert "<script>" not in page.text
    assert page.headers["content-security-policy"]


def test_the_page_without_a_token_says_so_and_is_not_a_5xx(client):
    page = client.request("GET", "/verify-email")
    assert 400 <= page.status < 500
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("raw", [b"", b"token=", b"token=nope", b"other=1", b"token=%ZZ", b"token=a&token=b"])
def test_the_form_post_with_a_bad_token_answers_an_html_4xx(client, raw):
    answer = client.request(
        "POST", "/verify-email", raw=raw, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_the_form_post_with_a_body_that_is_not_utf8_is_4xx(client):
    answer = client.request(
        "POST", "/verify-email", raw=b"token=\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= answer.status < 500, (answer.status, answer.text)
