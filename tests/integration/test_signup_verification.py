"""Sign-up, the verification email, its link and page, resend — through the handlers on moto."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind, hash_secret, new_secret
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


BASE_URL = "https://access.test"


@pytest.fixture
def client(aws):
    return GatewayClient(aws)


def sign_up(client: GatewayClient, email: str, password: str = PASSWORD, **headers: str):
    return client.request("POST", "/auth/signup", {"email": email, "password": password}, headers=headers or None)


def emails_to(client: GatewayClient, address: str) -> list[dict[str, str]]:
    return [email for email in client.outbox.all() if email["to"] == address]


def user_item(email: str) -> dict:
    matching = [user for user in support.users() if user["email"] == email]
    assert len(matching) == 1, support.users()
    return matching[0]


# --- sign-up answers -------------------------------------------------------------------


def test_sign_up_answers_the_same_for_new_unverified_and_verified_addresses(client):
    new = sign_up(client, "new@example.com")
    sign_up(client, "pending@example.com")
    client.sign_up_and_verify("done@example.com")

    again_unverified = sign_up(client, "pending@example.com", "another sturdy passphrase")
    again_verified = sign_up(client, "done@example.com", "another sturdy passphrase")

    answers = [new, again_unverified, again_verified]
    assert {answer.status for answer in answers} == {202}
    assert {answer.body for answer in answers} == {b'{"status":"verification_sent"}'}
    assert len({tuple(sorted(answer.headers.items())) for answer in answers}) == 1
    # Still one account each.
    assert sorted(user["email"] for user in support.users()) == [
        "done@example.com",
        "new@example.com",
        "pending@example.com",
    ]


def test_a_verified_address_gets_an_account_exists_email_and_keeps_its_password(client):
    client.sign_up_and_verify("done@example.com")
    before = user_item("done@example.com")
    sent_before = len(client.outbox.all())

    assert sign_up(client, "Done@Example.com", "an intruder passphrase").status == 202

    new_emails = client.outbox.all()[sent_before:]
    assert len(new_emails) == 1
    email = new_emails[0]
    assert email["to"] == "done@example.com"
    assert "already" in email["subject"].lower()
    assert "/verify-email" not in email["text"]
    assert "?token=" not in email["text"] + email["html"]
    assert email["html"].strip()
    # Nothing about the account changed, and no token was issued.
    assert user_item("done@example.com") == before
    assert support.verification_tokens() == []
    assert client.request("POST", "/auth/login", {"email": "done@example.com", "password": PASSWORD}).status == 200
    intruder = client.request(
        "POST", "/auth/login", {"email": "done@example.com", "password": "an intruder passphrase"}
    )
    assert_problem(intruder, 401, "invalid_credentials")


def test_an_unverified_address_gets_a_new_verification_email(client):
    sign_up(client, "pending@example.com")
    first = client.last_link("pending@example.com", "/verify-email")

    assert sign_up(client, "PENDING@example.com", "another sturdy passphrase").status == 202

    verification_emails = emails_to(client, "pending@example.com")
    assert len(verification_emails) == 2
    second = client.last_link("pending@example.com", "/verify-email")
    assert second != first
    assert len(support.users()) == 1
    # Only the newest link works (the older one may have been someone else's sign-up),
    # and it verifies with the password chosen at that sign-up.
    assert_problem(client.request("POST", "/auth/verify-email", {"token": first}), 400, "invalid_token")
    assert user_item("pending@example.com")["email_verified"] is False
    assert client.request("POST", "/auth/verify-email", {"token": second}).status == 200
    assert client.request("POST", "/auth/login", {"email": "pending@example.com", "password": PASSWORD}).status == 401
    answer = client.request(
        "POST", "/auth/login", {"email": "pending@example.com", "password": "another sturdy passphrase"}
    )
    assert answer.status == 200


def test_emails_are_compared_case_insensitively(client):
    assert sign_up(client, "  Grace.Hopper@Example.COM ").status == 202
    assert sign_up(client, "grace.hopper@example.com").status == 202
    assert sign_up(client, "GRACE.HOPPER@EXAMPLE.COM").status == 202

    assert len(support.users()) == 1
    assert [guard["pk"] for guard in support.email_guards()] == ["EMAIL#grace.hopper@example.com"]
    assert user_item("grace.hopper@example.com")["email"] == "grace.hopper@example.com"
    assert {email["to"] for email in client.outbox.all()} == {"grace.hopper@example.com"}

    token = client.last_link("grace.hopper@example.com", "/verify-email")
    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 200
    for spelling in ("grace.hopper@example.com", "Grace.Hopper@EXAMPLE.com", "GRACE.HOPPER@EXAMPLE.COM"):
        answer = client.request("POST", "/auth/login", {"email": spelling, "password": PASSWORD})
        assert answer.status == 200, (spelling, answer.text)


def test_the_password_is_stored_as_an_argon2id_hash(client):
    sign_up(client, "ada@example.com")
    stored = user_item("ada@example.com")["password_hash"]
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in repr(support.scan())


def test_the_name_is_cleaned_and_optional(client):
    assert client.request("POST", "/auth/signup", {"email": "a@example.com", "password": PASSWORD}).status == 202
    body = {"email": "b@example.com", "password": PASSWORD, "name": "  Ada\u0000 \u200bLovelace\n "}
    assert client.request("POST", "/auth/signup", body).status == 202
    assert (
        client.request("POST", "/auth/signup", {"email": "c@example.com", "password": PASSWORD, "name": None}).status
        == 202
    )
    assert user_item("a@example.com")["name"] == ""
    assert user_item("b@example.com")["name"] == "Ada Lovelace"
    assert user_item("c@example.com")["name"] == ""


# --- the verification email ------------------------------------------------------------


HOSTILE_HOST_HEADERS = [
    {"Host": "evil.example"},
    {"Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http"},
    {"Host": "evil.example", "Forwarded": "host=evil.example;proto=http"},
]


def test_emailed_links_use_the_public_base_url_not_the_host_header(client):
    # One verified account per header set: each address gets at most 3 sign-up emails an hour.
    for index in range(len(HOSTILE_HOST_HEADERS)):
        client.sign_up_and_verify(f"done{index}@example.com")
    sent_before = len(client.outbox.all())
    for index, headers in enumerate(HOSTILE_HOST_HEADERS):
        sign_up(client, f"ada{index}@example.com", **headers)
        client.request("POST", "/auth/resend-verification", {"email": f"ada{index}@example.com"}, headers=headers)
        sign_up(client, f"done{index}@example.com", **headers)  # the "account exists" email

    sent = client.outbox.all()[sent_before:]
    assert len(sent) == 3 * len(HOSTILE_HOST_HEADERS)
    for email in sent:
        for part in (email["text"], email["html"]):
            assert "evil.example" not in part
            links = re.findall(r"https?://[^\s\"'<>]+", html.unescape(part))
            assert all(link.startswith(BASE_URL + "/") for link in links), links
    verifications = [email for email in sent if email["to"].startswith("ada")]
    assert len(verifications) == 2 * len(HOSTILE_HOST_HEADERS)
    for email in verifications:
        assert f"{BASE_URL}/verify-email?token=" in email["text"]
        assert f"{BASE_URL}/verify-email?token=" in html.unescape(email["html"])


def test_the_verification_email_says_what_the_link_does_and_when_it_expires(client):
    before = datetime.now(UTC)
    sign_up(client, "ada@example.com")
    email = client.outbox.all()[-1]
    token = client.last_link("ada@example.com", "/verify-email")

    assert email["to"] == "ada@example.com"
    assert email["text"].strip() and email["html"].strip()
    assert token in email["text"]
    assert token in html.unescape(email["html"])
    assert "24 hours" in email["text"]
    expiry = (before + timedelta(hours=24)).strftime("%Y-%m-%d")
    assert expiry in email["text"]
    assert len(token) >= 22  # >= 128 bits of base64url
    # Stored hashed: the item's key is the SHA-256 of the secret, never the secret.
    keys = [item["pk"] for item in support.verification_tokens()]
    assert keys == [f"TOKEN#email_verification#{hash_secret(token)}"]
    assert token not in repr(support.scan())


# --- verification ----------------------------------------------------------------------


def test_verification_is_single_use(client):
    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")
    assert_problem(
        client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}),
        403,
        "email_not_verified",
    )

    first = client.request("POST", "/auth/verify-email", {"token": token})
    assert first.status == 200
    assert first.json() == {"status": "verified"}
    assert first.headers["cache-control"] == "no-store"
    assert user_item("ada@example.com")["email_verified"] is True

    assert_problem(client.request("POST", "/auth/verify-email", {"token": token}), 400, "invalid_token")
    assert client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status == 200


def test_unknown_or_malformed_tokens_are_400_invalid_token(client):
    sign_up(client, "ada@example.com")
    real = client.last_link("ada@example.com", "/verify-email")
    for token in ["", "x", "not-a-real-token-" * 2, "A" * 43, "a" * 512, real[:-1], real + "A", real.upper()]:
        assert_problem(client.request("POST", "/auth/verify-email", {"token": token}), 400, "invalid_token")
    assert user_item("ada@example.com")["email_verified"] is False
    # None of them used up the real link.
    assert client.request("POST", "/auth/verify-email", {"token": real}).status == 200


def test_an_expired_token_is_400_token_expired_and_then_gone(client):
    sign_up(client, "ada@example.com")
    user_id = user_item("ada@example.com")["user_id"]
    secret = new_secret()
    DynamoTokenRepository().put(
        OneTimeToken(
            kind=TokenKind.EMAIL_VERIFICATION,
            token_hash=hash_secret(secret),
            user_id=user_id,
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    )

    assert_problem(client.request("POST", "/auth/verify-email", {"token": secret}), 400, "token_expired")
    assert user_item("ada@example.com")["email_verified"] is False
    assert_problem(client.request("POST", "/auth/verify-email", {"token": secret}), 400, "invalid_token")
    assert_problem(
        client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}),
        403,
        "email_not_verified",
    )


def test_a_token_expires_24_hours_after_sign_up(client, monkeypatch):
    from kuploy_access.adapters import clock

    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")
    later = datetime.now(UTC) + timedelta(hours=24, seconds=1)
    monkeypatch.setattr(clock.SystemClock, "now", lambda self: later)

    assert_problem(client.request("POST", "/auth/verify-email", {"token": token}), 400, "token_expired")
    assert user_item("ada@example.com")["email_verified"] is False


def test_a_token_still_works_just_before_24_hours(client, monkeypatch):
    from kuploy_access.adapters import clock

    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")
    later = datetime.now(UTC) + timedelta(hours=23, minutes=59)
    monkeypatch.setattr(clock.SystemClock, "now", lambda self: later)

    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 200


def test_a_token_of_another_kind_does_not_verify(client):
    sign_up(client, "ada@example.com")
    user_id = user_item("ada@example.com")["user_id"]
    secret = new_secret()
    DynamoTokenRepository().put(
        OneTimeToken(
            kind=TokenKind.PASSWORD_RESET,
            token_hash=hash_secret(secret),
            user_id=user_id,
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )
    )

    assert_problem(client.request("POST", "/auth/verify-email", {"token": secret}), 400, "invalid_token")
    assert user_item("ada@example.com")["email_verified"] is False
    # The reset token itself was left alone.
    assert DynamoTokenRepository().get(TokenKind.PASSWORD_RESET, hash_secret(secret)) is not None


def test_an_older_link_clicked_after_verification_does_not_change_the_password(client):
    """Someone else signed up first with this address and their password; the owner then
    signed up with their own and verified. The first email's link, clicked later (it is
    still in the owner's inbox, valid for 24 h), must not hand the account to the password
    chosen at that first sign-up."""
    sign_up(client, "owner@example.com", "squatter passphrase one")
    squatters_link = client.last_link("owner@example.com", "/verify-email")
    sign_up(client, "owner@example.com", "owner passphrase two")
    owners_link = client.last_link("owner@example.com", "/verify-email")
    assert client.request("POST", "/auth/verify-email", {"token": owners_link}).status == 200
    assert (
        client.request("POST", "/auth/login", {"email": "owner@example.com", "password": "owner passphrase two"}).status
        == 200
    )

    late = client.request("POST", "/auth/verify-email", {"token": squatters_link})
    assert late.status < 500

    owner = client.request("POST", "/auth/login", {"email": "owner@example.com", "password": "owner passphrase two"})
    assert owner.status == 200, "the owner's password stopped working"
    squatter = client.request(
        "POST", "/auth/login", {"email": "owner@example.com", "password": "squatter passphrase one"}
    )
    assert_problem(squatter, 401, "invalid_credentials")


# --- resend ----------------------------------------------------------------------------


def test_resend_verification_always_answers_202_and_mails_only_unverified_accounts(client):
    client.sign_up_and_verify("done@example.com")
    sign_up(client, "pending@example.com")
    sent_before = len(client.outbox.all())

    answers = [
        client.request("POST", "/auth/resend-verification", {"email": address})
        for address in ("nobody@example.com", "done@example.com", "Pending@Example.com")
    ]

    assert {answer.status for answer in answers} == {202}
    assert len({answer.body for answer in answers}) == 1
    assert all(answer.headers["cache-control"] == "no-store" for answer in answers)
    new_emails = client.outbox.all()[sent_before:]
    assert [email["to"] for email in new_emails] == ["pending@example.com"]
    assert "/verify-email?token=" in new_emails[0]["text"]
    # The resent link works.
    token = client.last_link("pending@example.com", "/verify-email")
    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 200
    assert client.request("POST", "/auth/login", {"email": "pending@example.com", "password": PASSWORD}).status == 200
    # Nothing was created for the unknown address.
    assert sorted(user["email"] for user in support.users()) == ["done@example.com", "pending@example.com"]


def test_resend_after_a_second_sign_up_verifies_with_the_latest_password(client):
    """The person who signs up, then asks for the email again and clicks it, signs in
    with the password they chose, not with one chosen at an earlier sign-up of the same
    address (perhaps by someone else)."""
    sign_up(client, "owner@example.com", "squatter passphrase one")
    sign_up(client, "owner@example.com", "owner passphrase two")
    assert client.request("POST", "/auth/resend-verification", {"email": "owner@example.com"}).status == 202
    token = client.last_link("owner@example.com", "/verify-email")

    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 200

    owner = client.request("POST", "/auth/login", {"email": "owner@example.com", "password": "owner passphrase two"})
    assert owner.status == 200, "the password chosen at the latest sign-up does not work"
    squatter = client.request(
        "POST", "/auth/login", {"email": "owner@example.com", "password": "squatter passphrase one"}
    )
    assert_problem(squatter, 401, "invalid_credentials")


# --- the page behind the link ----------------------------------------------------------


def test_get_and_head_of_the_link_do_not_consume_the_token(client):
    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")

    for _ in range(2):  # scanners fetch more than once
        head = client.request("HEAD", f"/verify-email?token={token}")
        assert head.status < 500
        page = client.request("GET", f"/verify-email?token={token}")
        assert page.status == 200
    assert user_item("ada@example.com")["email_verified"] is False
    assert len(support.verification_tokens()) == 1

    assert client.request("POST", "/auth/verify-email", {"token": token}).status == 200
    assert user_item("ada@example.com")["email_verified"] is True


def test_the_page_is_a_form_that_posts_the_token_with_security_headers(client):
    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")

    page = client.request("GET", f"/verify-email?token={token}")

    assert page.status == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["referrer-policy"] == "no-referrer"
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src" not in csp or "'unsafe-inline'" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert re.search(r'<form[^>]*method="post"[^>]*action="/verify-email"', page.text)
    assert f'name="token" value="{token}"' in page.text


def test_the_form_post_verifies_and_answers_html(client):
    sign_up(client, "ada@example.com")
    token = client.last_link("ada@example.com", "/verify-email")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    answer = client.request("POST", "/verify-email", raw=f"token={quote(token)}".encode(), headers=form)

    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "confirmed" in answer.text.lower()
    assert user_item("ada@example.com")["email_verified"] is True

    again = client.request("POST", "/verify-email", raw=f"token={quote(token)}".encode(), headers=form)
    assert again.status == 400
    assert again.headers["content-type"].startswith("text/html")
    assert "<script" not in again.text
