"""Forgotten passwords, resets and changes through the handlers on moto (issue 3, "Passwords")."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from kuploy_access.adapters.dynamodb.keys import one_time_token_pk
from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind, hash_secret, new_secret
from kuploy_access.domain.rate_limits import RESET_EMAILS_PER_ADDRESS
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import PASSWORD, assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


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


BASE_URL = "https://access.test"
NEW_PASSWORD = "a brand new passphrase"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def forgot(client: GatewayClient, email: str, **headers: str):
    return client.request("POST", "/auth/password/forgot", {"email": email}, headers=headers or None)


def reset(client: GatewayClient, token: str, password: str = NEW_PASSWORD):
    return client.request("POST", "/auth/password/reset", {"token": token, "password": password})


def change(client: GatewayClient, access_token: str, current: str, new: str = NEW_PASSWORD):
    body = {"current_password": current, "new_password": new}
    return client.request("POST", "/me/password", body, token=access_token)


def log_in(client: GatewayClient, email: str, password: str):
    return client.request("POST", "/auth/login", {"email": email, "password": password})


def refresh(client: GatewayClient, token: str):
    return client.request("POST", "/auth/refresh", {"refresh_token": token})


def emails_to(client: GatewayClient, address: str) -> list[dict[str, str]]:
    return [email for email in client.outbox.all() if email["to"] == address]


def reset_tokens() -> list[dict[str, Any]]:
    return support.items_with_prefix(one_time_token_pk(TokenKind.PASSWORD_RESET, ""))


def user_id_of(email: str) -> str:
    return next(user["user_id"] for user in support.users() if user["email"] == email)


def reset_link(client: GatewayClient, email: str) -> str:
    assert forgot(client, email).status == 202
    return client.last_link(email, "/reset-password")


def assert_password_changed_email(client: GatewayClient, address: str) -> None:
    changed = [email for email in emails_to(client, address) if "password was changed" in email["subject"].lower()]
    assert len(changed) == 1, [email["subject"] for email in emails_to(client, address)]
    email = changed[0]
    assert "if this was not you" in email["text"].lower()
    assert "?token=" not in email["text"] + email["html"]
    assert email["html"].strip()


def assert_signed_out(client: GatewayClient, tokens: dict[str, Any]) -> None:
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "invalid_token")
    assert_problem(client.request("GET", "/me/sessions", token=tokens["access_token"]), 401, "invalid_token")


# --- forgot ------------------------------------------------------------------------------


def test_forgot_answers_202_alike_for_known_and_unknown_addresses(client):
    client.sign_up_and_verify("ada@example.com")
    sent_before = len(client.outbox.all())

    known = forgot(client, "Ada@Example.com")
    unknown = forgot(client, "nobody@example.com")

    for answer in (known, unknown):
        assert answer.status == 202, answer.text
        assert answer.headers["cache-control"] == "no-store"
    assert known.body == unknown.body
    assert tuple(sorted(known.headers.items())) == tuple(sorted(unknown.headers.items()))
    sent = client.outbox.all()[sent_before:]
    assert [email["to"] for email in sent] == ["ada@example.com"]
    # One token, for the known account only; nothing created for the unknown address.
    assert [token["user_id"] for token in reset_tokens()] == [user_id_of("ada@example.com")]
    assert [user["email"] for user in support.users()] == ["ada@example.com"]


def test_the_reset_email_links_to_the_page_on_the_public_base_url(client):
    client.sign_up_and_verify("ada@example.com")
    before = datetime.now(UTC)

    answer = forgot(
        client, "ada@example.com", Host="evil.example", **{"X-Forwarded-Host": "evil.example", "Forwarded": "host=evil"}
    )

    assert answer.status == 202
    email = emails_to(client, "ada@example.com")[-1]
    token = client.last_link("ada@example.com", "/reset-password")
    for part in (email["text"], html.unescape(email["html"])):
        assert "evil" not in part
        assert f"{BASE_URL}/reset-password?token={token}" in part
        links = re.findall(r"https?://[^\s\"'<>]+", part)
        assert links and all(link.startswith(BASE_URL + "/") for link in links), links
    assert "1 hour" in email["text"]
    assert len(token) >= 22  # >= 128 bits of base64url
    # Stored hashed, expiring in an hour.
    (item,) = reset_tokens()
    assert item["pk"] == one_time_token_pk(TokenKind.PASSWORD_RESET, hash_secret(token))
    assert token not in repr(support.scan())
    expires = datetime.fromisoformat(item["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - before < timedelta(minutes=61)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "not-an-email"}, 422, "invalid_email"),
        ({}, 422, "validation_error"),
        ({"email": 5}, 422, "validation_error"),
        ({"email": "ada@example.com", "extra": 1}, 422, "validation_error"),
    ],
)
def test_a_malformed_forgot_request_is_4xx(client, body, status, code):
    assert_problem(client.request("POST", "/auth/password/forgot", body), status, code)
    assert_problem(client.request("POST", "/auth/password/forgot", raw=b"[1]"), 400, "validation_error")
    assert client.outbox.all() == []


def test_a_fourth_forgot_request_in_an_hour_is_202_without_an_email(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    links = []
    for spelling in ("ada@example.com", "ADA@example.com", " Ada@Example.COM "):
        assert forgot(client, spelling).status == 202
        links.append(client.last_link("ada@example.com", "/reset-password"))
    assert len(set(links)) == RESET_EMAILS_PER_ADDRESS.limit == 3
    sent_before = len(client.outbox.all())

    fourth = forgot(client, "ada@example.com")

    assert fourth.status == 202
    assert fourth.body == forgot(client, "nobody@example.com").body
    assert client.outbox.all()[sent_before:] == []
    # The refused request did not replace the newest link, which still works.
    assert [token["pk"] for token in reset_tokens()] == [
        one_time_token_pk(TokenKind.PASSWORD_RESET, hash_secret(links[-1]))
    ]
    assert reset(client, links[-1]).status == 204
    # An hour later the address gets emails again.
    service_clock.advance(timedelta(hours=1))
    assert forgot(client, "ada@example.com").status == 202
    assert len(client.outbox.all()) == sent_before + 2  # the link and the "password was changed" email


# --- the page behind the link ------------------------------------------------------------


def test_get_and_head_of_the_page_change_nothing(client):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")
    before = support.scan()
    emails_before = len(client.outbox.all())

    for _ in range(2):  # scanners fetch more than once
        # HEAD has no route of its own (as for /verify-email): whatever it answers, no 5xx.
        assert client.request("HEAD", f"/reset-password?token={token}").status < 500
        page = client.request("GET", f"/reset-password?token={token}")
        assert page.status == 200, page.text
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["cache-control"] == "no-store"

    assert support.scan() == before
    assert len(client.outbox.all()) == emails_before
    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert reset(client, token).status == 204


def test_the_page_is_a_form_that_posts_the_token_and_a_new_password(client):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")

    page = client.request("GET", f"/reset-password?token={token}")

    assert re.search(r'<form[^>]*method="post"[^>]*action="/reset-password"', page.text), page.text
    assert f'name="token" value="{token}"' in page.text
    assert re.search(r'<input[^>]*type="password"[^>]*name="password"', page.text)
    assert "<script" not in page.text
    assert token not in page.headers.get("location", "")


def test_the_page_escapes_the_token_and_says_when_it_is_missing(client):
    hostile = '"><script>alert(1)</script>'
    page = client.request("GET", f"/reset-password?token={quote(hostile)}")
    assert page.status < 500
    assert "<script>" not in page.text
    empty = client.request("GET", "/reset-password")
    assert 400 <= empty.status < 500
    assert empty.headers["content-type"].startswith("text/html")
    assert empty.headers["referrer-policy"] == "no-referrer"


def test_the_form_post_sets_the_password_and_signs_everyone_out(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    token = reset_link(client, "ada@example.com")
    form = f"token={quote(token)}&password={quote(NEW_PASSWORD)}".encode()

    answer = client.request("POST", "/reset-password", raw=form, headers=FORM)

    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert NEW_PASSWORD not in answer.text
    assert_problem(log_in(client, "ada@example.com", PASSWORD), 401, "invalid_credentials")
    assert log_in(client, "ada@example.com", NEW_PASSWORD).status == 200
    assert_signed_out(client, tokens)
    assert_password_changed_email(client, "ada@example.com")
    # Used up: the same form again is an HTML 400.
    again = client.request("POST", "/reset-password", raw=form, headers=FORM)
    assert again.status == 400
    assert again.headers["content-type"].startswith("text/html")


def test_the_form_post_with_a_weak_password_keeps_the_link_usable(client):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")

    answer = client.request(
        "POST", "/reset-password", raw=f"token={quote(token)}&password=short".encode(), headers=FORM
    )

    assert answer.status == 422, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert f'name="token" value="{token}"' in answer.text  # the form again, to try another
    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert reset(client, token).status == 204


# --- reset -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [("short", "password_too_short"), ("", "password_too_short"), ("password1", "password_too_common")],
)
def test_a_weak_new_password_is_422_and_the_token_still_works(client, password, code):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")

    assert_problem(reset(client, token, password), 422, code)

    assert len(reset_tokens()) == 1
    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert reset(client, token).status == 204


def test_a_reset_sets_the_password_and_ends_every_session(client):
    client.sign_up_and_verify("ada@example.com")
    laptop = client.log_in("ada@example.com")
    phone = client.log_in("ada@example.com")
    rotated = refresh(client, phone["refresh_token"]).json()
    token = reset_link(client, "ada@example.com")

    answer = reset(client, token)

    assert answer.status == 204, answer.text
    assert answer.body == b""
    for tokens in (laptop, rotated):
        assert_signed_out(client, tokens)
    assert_problem(log_in(client, "ada@example.com", PASSWORD), 401, "invalid_credentials")
    assert log_in(client, "ada@example.com", NEW_PASSWORD).status == 200
    assert_password_changed_email(client, "ada@example.com")
    assert NEW_PASSWORD not in repr(support.scan())
    assert reset_tokens() == []


def test_a_reset_token_is_single_use(client):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")
    assert reset(client, token).status == 204

    assert_problem(reset(client, token, "yet another passphrase"), 400, "invalid_token")

    assert log_in(client, "ada@example.com", NEW_PASSWORD).status == 200


def test_only_the_newest_reset_link_works(client):
    client.sign_up_and_verify("ada@example.com")
    older = reset_link(client, "ada@example.com")
    newer = reset_link(client, "ada@example.com")

    assert_problem(reset(client, older), 400, "invalid_token")

    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert reset(client, newer).status == 204


def test_a_password_change_ends_a_pending_reset_link(client):
    """A link still in the inbox must not undo the password the person just chose."""
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    token = reset_link(client, "ada@example.com")
    assert change(client, tokens["access_token"], PASSWORD, "the chosen passphrase").status == 204

    assert_problem(reset(client, token), 400, "invalid_token")

    assert log_in(client, "ada@example.com", "the chosen passphrase").status == 200


def test_an_expired_reset_token_is_400_token_expired(client):
    client.sign_up_and_verify("ada@example.com")
    secret = new_secret()
    DynamoTokenRepository().put(
        OneTimeToken(
            kind=TokenKind.PASSWORD_RESET,
            token_hash=hash_secret(secret),
            user_id=user_id_of("ada@example.com"),
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )

    assert_problem(reset(client, secret), 400, "token_expired")

    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert_problem(log_in(client, "ada@example.com", NEW_PASSWORD), 401, "invalid_credentials")


def test_a_reset_link_expires_after_an_hour(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    token = reset_link(client, "ada@example.com")
    service_clock.advance(timedelta(hours=1, seconds=1))

    assert_problem(reset(client, token), 400, "token_expired")
    assert log_in(client, "ada@example.com", PASSWORD).status == 200


def test_an_email_verification_token_is_not_a_reset_token(client):
    assert client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": PASSWORD}).status == 202
    verification = client.last_link("ada@example.com", "/verify-email")

    assert_problem(reset(client, verification), 400, "invalid_token")

    # The verification link is untouched and the password unchanged.
    assert client.request("POST", "/auth/verify-email", {"token": verification}).status == 200
    assert log_in(client, "ada@example.com", PASSWORD).status == 200


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "a" * 512])
def test_an_unknown_reset_token_is_400_invalid_token(client, token):
    client.sign_up_and_verify("ada@example.com")
    assert_problem(reset(client, token), 400, "invalid_token")
    assert log_in(client, "ada@example.com", PASSWORD).status == 200


def test_a_reset_proves_the_address_of_an_unverified_account(client):
    assert client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": PASSWORD}).status == 202
    assert_problem(log_in(client, "ada@example.com", PASSWORD), 403, "email_not_verified")
    token = reset_link(client, "ada@example.com")

    assert reset(client, token).status == 204

    assert log_in(client, "ada@example.com", NEW_PASSWORD).status == 200


# --- change (signed in) ------------------------------------------------------------------


def test_a_wrong_current_password_is_403_and_changes_nothing(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    other = client.log_in("ada@example.com")

    assert_problem(change(client, tokens["access_token"], "not the passphrase"), 403, "invalid_credentials")

    assert log_in(client, "ada@example.com", PASSWORD).status == 200
    assert refresh(client, other["refresh_token"]).status == 200
    assert emails_to(client, "ada@example.com")[-1]["subject"].lower().find("password was changed") == -1


@pytest.mark.parametrize(
    ("new", "code"), [("short", "password_too_short"), ("12345678", "password_too_common")], ids=["short", "common"]
)
def test_a_weak_new_password_is_422(client, new, code):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")

    assert_problem(change(client, tokens["access_token"], PASSWORD, new), 422, code)

    assert log_in(client, "ada@example.com", PASSWORD).status == 200


def test_a_change_ends_the_other_sessions_and_keeps_the_callers(client):
    client.sign_up_and_verify("ada@example.com")
    mine = client.log_in("ada@example.com")
    other = client.log_in("ada@example.com")

    answer = change(client, mine["access_token"], PASSWORD)

    assert answer.status == 204, answer.text
    assert answer.body == b""
    assert_signed_out(client, other)
    listed = client.request("GET", "/me/sessions", token=mine["access_token"])
    assert [item["id"] for item in listed.json()["items"]] == [support.jwt_parts(mine["access_token"])[1]["sid"]]
    assert refresh(client, mine["refresh_token"]).status == 200
    assert_problem(log_in(client, "ada@example.com", PASSWORD), 401, "invalid_credentials")
    assert log_in(client, "ada@example.com", NEW_PASSWORD).status == 200
    assert_password_changed_email(client, "ada@example.com")


@pytest.mark.parametrize(
    "body",
    [{}, {"current_password": PASSWORD}, {"new_password": NEW_PASSWORD}, {"current_password": 1, "new_password": "x"}],
)
def test_a_malformed_change_is_422(client, body):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    answer = client.request("POST", "/me/password", body, token=tokens["access_token"])
    assert_problem(answer, 422, "validation_error")


def test_a_revoked_session_cannot_change_the_password_with_its_unexpired_access_token(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    assert client.request("POST", "/auth/logout", {"refresh_token": tokens["refresh_token"]}).status == 204
    assert support.jwt_parts(tokens["access_token"])[1]["exp"] > datetime.now(UTC).timestamp() + 60

    assert_problem(change(client, tokens["access_token"], PASSWORD), 401, "invalid_token")
    assert_problem(client.request("GET", "/me/sessions", token=tokens["access_token"]), 401, "invalid_token")

    assert log_in(client, "ada@example.com", PASSWORD).status == 200


def test_the_change_route_needs_a_token(client):
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert_problem(
        client.request("POST", "/me/password", body, headers={"Authorization": "Bearer nope"}), 401, "invalid_token"
    )


def test_guessing_the_current_password_is_throttled(client, service_clock):
    """Throttling everywhere a secret is guessed: a stolen session must not become an
    unlimited oracle for the password (and then a way to change it)."""
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    for attempt in range(5):
        answer = change(client, tokens["access_token"], f"guess number {attempt}")
        assert_problem(answer, 403, "invalid_credentials")

    answer = change(client, tokens["access_token"], "guess number 6")

    assert_problem(answer, 429, "rate_limited")
    assert 0 < int(answer.headers["retry-after"]) <= 900
