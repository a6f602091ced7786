"""Sign-up, the verification email, its link and page, resend — through the handlers on moto."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from kuploy_access.adapters.dynamodb.keys import RATE_COUNTER_PK_PREFIX, email_guard_pk, one_time_token_pk
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
    # Both links work until one verifies the address, each with the password chosen at
    # its own sign-up; then the other one is refused.
    assert client.request("POST", "/auth/verify-email", {"token": first}).status == 200
    assert_problem(client.request("POST", "/auth/verify-email", {"token": second}), 400, "invalid_token")
    assert client.request("POST", "/auth/login", {"email": "pending@example.com", "password": PASSWORD}).status == 200
    answer = client.request(
        "POST", "/auth/login", {"email": "pending@example.com", "password": "another sturdy passphrase"}
    )
    assert_problem(answer, 401, "invalid_credentials")


def test_emails_are_compared_case_insensitively(client):
    assert sign_up(client, "  Grace.Hopper@Example.COM ").status == 202
    assert sign_up(client, "grace.hopper@example.com").status == 202
    assert sign_up(client, "GRACE.HOPPER@EXAMPLE.COM").status == 202

    assert len(support.users()) == 1
    assert [guard["pk"] for guard in support.email_guards()] == [email_guard_pk("grace.hopper@example.com")]
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
    assert keys == [one_time_token_pk(TokenKind.EMAIL_VERIFICATION, hash_secret(token))]
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
    assert first.json() == {"status": "verified", "password_set": True}
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
    assert_problem(late, 400, "invalid_token")

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
    assert "sets no password" in new_emails[0]["text"]
    # The resent link works, and sets no password (the request carried none).
    token = client.last_link("pending@example.com", "/verify-email")
    verified = client.request("POST", "/auth/verify-email", {"token": token})
    assert verified.json() == {"status": "verified", "password_set": False}
    login = client.request("POST", "/auth/login", {"email": "pending@example.com", "password": PASSWORD})
    assert_problem(login, 401, "invalid_credentials")
    # Nothing was created for the unknown address.
    assert sorted(user["email"] for user in support.users()) == ["done@example.com", "pending@example.com"]


def test_a_resent_link_after_two_sign_ups_sets_no_password_and_forgot_password_sets_one(client):
    """The person who signs up, then asks for the email again and clicks the resent link,
    gets an account without a password: the request for it carried none, and neither
    sign-up's password (one may be someone else's) may ride on it."""
    sign_up(client, "owner@example.com", "squatter passphrase one")
    sign_up(client, "owner@example.com", "owner passphrase two")
    assert client.request("POST", "/auth/resend-verification", {"email": "owner@example.com"}).status == 202
    token = client.last_link("owner@example.com", "/verify-email")

    verified = client.request("POST", "/auth/verify-email", {"token": token})
    assert verified.json() == {"status": "verified", "password_set": False}

    for password in ("squatter passphrase one", "owner passphrase two"):
        refused = client.request("POST", "/auth/login", {"email": "owner@example.com", "password": password})
        assert_problem(refused, 401, "invalid_credentials")
    assert client.request("POST", "/auth/password/forgot", {"email": "owner@example.com"}).status == 202
    reset = client.last_link("owner@example.com", "/reset-password")
    answer = client.request("POST", "/auth/password/reset", {"token": reset, "password": "owner passphrase three"})
    assert answer.status == 204, answer.text
    assert (
        client.request(
            "POST", "/auth/login", {"email": "owner@example.com", "password": "owner passphrase three"}
        ).status
        == 200
    )


# --- pre-registration takeover ---------------------------------------------------------

VICTIM_IP, ATTACKER_IP = "198.51.100.20", "203.0.113.66"
VICTIM_PASSWORD, ATTACKER_PASSWORD = "the victim's own passphrase", "the attacker's passphrase"
BROWSERS = {VICTIM_IP: "Mozilla/5.0 (Macintosh) Safari/605.1.15", ATTACKER_IP: "python-requests/2.32.3"}


def _link_naming(client: GatewayClient, address: str, ip: str) -> str:
    """The token of the one verification email that names `ip` as the sign-up's address."""
    found = [email for email in emails_to(client, address) if ip in email["text"]]
    assert len(found) == 1, [email["text"] for email in emails_to(client, address)]
    assert BROWSERS[ip] in found[0]["text"]
    match = re.search(r"/verify-email\?token=([A-Za-z0-9_\-]+)", found[0]["text"])
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize("attacker_first", [False, True], ids=["attacker-after-victim", "attacker-before-victim"])
def test_the_victims_link_gives_the_victims_password_whatever_the_order(client, attacker_first):
    address = "victim@example.com"
    sign_ups = [(VICTIM_IP, VICTIM_PASSWORD), (ATTACKER_IP, ATTACKER_PASSWORD)]
    for ip, password in reversed(sign_ups) if attacker_first else sign_ups:
        answer = client.request(
            "POST",
            "/auth/signup",
            {"email": address, "password": password},
            source_ip=ip,
            headers={"User-Agent": BROWSERS[ip]},
        )
        assert answer.status == 202
    # Each link is stored with its sign-up's argon2 hash and origin, never the password.
    tokens = support.verification_tokens()
    assert len(tokens) == 2
    assert all(token["password_hash"].startswith("$argon2id$") for token in tokens)
    assert {token["ip"] for token in tokens} == {VICTIM_IP, ATTACKER_IP}
    assert VICTIM_PASSWORD not in repr(support.scan()) and ATTACKER_PASSWORD not in repr(support.scan())
    victims_link, attackers_link = _link_naming(client, address, VICTIM_IP), _link_naming(client, address, ATTACKER_IP)

    verified = client.request("POST", "/auth/verify-email", {"token": victims_link})
    assert verified.json() == {"status": "verified", "password_set": True}

    def log_in(password: str) -> Any:
        return client.request("POST", "/auth/login", {"email": address, "password": password})

    assert log_in(VICTIM_PASSWORD).status == 200
    assert_problem(log_in(ATTACKER_PASSWORD), 401, "invalid_credentials")
    assert_problem(client.request("POST", "/auth/verify-email", {"token": attackers_link}), 400, "invalid_token")
    assert_problem(log_in(ATTACKER_PASSWORD), 401, "invalid_credentials")
    assert log_in(VICTIM_PASSWORD).status == 200
    # The attacker's pending link is gone, and so is the account's list of them.
    assert support.verification_tokens() == []
    assert "pending_verification_hashes" not in user_item(address)


def test_verification_ends_every_session_and_reset_link_from_before(client):
    from kuploy_access import wiring
    from kuploy_access.services.sessions import ClientInfo

    sign_up(client, "ada@example.com")
    link = client.last_link("ada@example.com", "/verify-email")
    user_id = user_item("ada@example.com")["user_id"]
    # However a session came to exist before the address was verified, it must not survive.
    early = wiring.session_service().start(user_id, ClientInfo(ip=ATTACKER_IP, user_agent="early"))
    assert client.request("POST", "/auth/password/forgot", {"email": "ada@example.com"}).status == 202
    reset = client.last_link("ada@example.com", "/reset-password")

    assert client.request("POST", "/auth/verify-email", {"token": link}).status == 200

    assert wiring.session_service().live_sessions(user_id, 50, None).items == []
    refreshed = client.request("POST", "/auth/refresh", {"refresh_token": early.refresh_token})
    assert_problem(refreshed, 401, "invalid_token")
    answer = client.request("POST", "/auth/password/reset", {"token": reset, "password": "a reset passphrase"})
    assert_problem(answer, 400, "invalid_token")
    assert client.request("POST", "/auth/login", {"email": "ada@example.com", "password": PASSWORD}).status == 200


def test_verifying_costs_two_reads_a_transaction_a_query_and_an_update(client):
    sign_up(client, "ada@example.com")
    only = client.last_link("ada@example.com", "/verify-email")
    with support.count_dynamodb_requests() as requests:
        assert client.request("POST", "/auth/verify-email", {"token": only}).status == 200
    # The link, the account (its address names the look it claims), the transaction, the
    # sessions to end, the pending links to forget.
    assert requests.by_hook == ["GetItem", "GetItem", "TransactWriteItems", "Query", "UpdateItem"]
    assert requests.by_moto == requests.by_hook

    sign_up(client, "grace@example.com")
    sign_up(client, "grace@example.com", "another sturdy passphrase")
    first = client.last_link("grace@example.com", "/verify-email")
    with support.count_dynamodb_requests() as requests:
        assert client.request("POST", "/auth/verify-email", {"token": first}).status == 200
    # With other links pending, one BatchWriteItem deletes them.
    assert requests.by_hook == ["GetItem", "GetItem", "TransactWriteItems", "Query", "UpdateItem", "BatchWriteItem"]


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


# --- always-202 answers cost the same for every address (README, "Timing") -------------


def _calls(client: GatewayClient, path: str, email: str) -> list[str]:
    with support.count_dynamodb_requests() as requests:
        assert client.request("POST", path, {"email": email}).status == 202
    assert requests.by_moto == requests.by_hook
    return requests.by_hook


def test_resend_and_forgot_make_the_same_dynamodb_calls_for_every_kind_of_address(client):
    sign_up(client, "pending@example.com")
    client.sign_up_and_verify("verified@example.com")
    before = {(item["pk"], item["sk"]) for item in support.scan() if not item["pk"].startswith(RATE_COUNTER_PK_PREFIX)}
    emails_before = len(client.outbox.all())

    resend = {
        kind: _calls(client, "/auth/resend-verification", f"{kind}@example.com")
        for kind in ("verified", "nobody", "pending")
    }
    forgot = {kind: _calls(client, "/auth/password/forgot", f"{kind}@example.com") for kind in ("nobody", "verified")}

    assert resend["pending"] == ["GetItem", "GetItem", "UpdateItem", "TransactWriteItems"], resend
    assert resend["verified"] == resend["nobody"] == resend["pending"], resend
    assert forgot["nobody"] == forgot["verified"] == ["GetItem", "GetItem", "UpdateItem", "TransactWriteItems"]
    # Only the pending account's resend and the verified account's reset changed anything.
    after = {(item["pk"], item["sk"]) for item in support.scan() if not item["pk"].startswith(RATE_COUNTER_PK_PREFIX)}
    assert {pk.split("#")[1] for pk, _ in after - before} == {"email_verification", "password_reset"}
    assert [email["to"] for email in client.outbox.all()[emails_before:]] == [
        "pending@example.com",
        "verified@example.com",
    ]
