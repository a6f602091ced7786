"""Sign up, read the email, open the page, confirm, log in, use /me: all over real HTTP."""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    latest_verification_token,
    log_in,
    logged_in,
    reset_link,
    sign_up,
    signed_up_and_verified,
    strong_password,
    token_of,
    unique_email,
    verification_link,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

FORM = re.compile(r"<form[^>]*\bmethod=\"post\"[^>]*\baction=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S | re.I)
HIDDEN_TOKEN = re.compile(r"<input[^>]*\bname=\"token\"[^>]*\bvalue=\"([^\"]*)\"", re.I)
ME_FIELDS = {
    "id",
    "email",
    "name",
    "email_verified",
    "two_factor_enabled",
    "created_at",
    "organizations",
    "has_password",
    "identities",
}


def _assert_page_headers(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/html"), response.headers
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"


def _form_of(page: str) -> tuple[str, str]:
    """The confirm form's action and its hidden token, as a browser would read them."""
    form = FORM.search(page)
    assert form is not None, page
    token = HIDDEN_TOKEN.search(form.group(2))
    assert token is not None, page
    return html.unescape(form.group(1)), html.unescape(token.group(1))


def test_sign_up_verify_by_json_then_log_in_and_use_me(server: DevServer, client: httpx.Client):
    email, password = unique_email("Ada.Lovelace"), strong_password()
    sign_up(client, email, password, name="Ada")

    sent = wait_for_emails(client, email, 1)
    assert len(sent) == 1, sent
    message = sent[-1]
    assert message["to"] == email.lower()
    assert "confirm" in message["subject"].lower()
    assert message["html"] and message["text"]
    link = verification_link(message)
    assert link.startswith(f"{server.public_base_url}/verify-email?token="), link
    assert server.public_base_url == server.base_url
    assert html.escape(link, quote=True) in message["html"]
    token = token_of(link)
    assert len(token) >= 22  # at least 128 bits, URL-safe base64

    # Not verified yet.
    assert_problem(log_in(client, email, password), 403, "email_not_verified")

    # A mail scanner fetches the link with HEAD and GET: neither may use the token up.
    head = client.head(link)
    assert head.status_code < 500, head.text
    page = client.get(link)
    assert page.status_code == 200, page.text
    _assert_page_headers(page)
    action, form_token = _form_of(page.text)
    assert (action, form_token) == ("/verify-email", token)
    assert client.get(link).status_code == 200
    assert_problem(log_in(client, email, password), 403, "email_not_verified")

    confirmed = client.post("/auth/verify-email", json={"token": token})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"status": "verified", "password_set": True}
    assert confirmed.headers["cache-control"] == "no-store"
    assert_problem(client.post("/auth/verify-email", json={"token": token}), 400, "invalid_token")

    # Emails are compared case-insensitively.
    answer = log_in(client, email.upper(), password)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    assert answer.headers["cache-control"] == "no-store"

    me = client.get("/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200, me.text
    assert me.headers["cache-control"] == "no-store"
    body = me.json()
    assert set(body) == ME_FIELDS
    assert body["email"] == email.lower()
    assert body["name"] == "Ada"
    assert body["email_verified"] is True
    assert body["two_factor_enabled"] is False
    assert body["organizations"] == []
    assert body["id"].startswith("usr_")
    datetime.fromisoformat(body["created_at"].replace("Z", "+00:00"))

    renamed = client.patch("/me", json={"name": "Ada Lovelace"}, headers=bearer(tokens["access_token"]))
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**body, "name": "Ada Lovelace"}
    again = client.get("/me", headers=bearer(tokens["access_token"]))
    assert again.json()["name"] == "Ada Lovelace"


def test_verify_by_submitting_the_page_form(client: httpx.Client):
    email, password = unique_email("Grace"), strong_password()
    sign_up(client, email, password)
    link = verification_link(wait_for_emails(client, email, 1)[-1])

    page = client.get(link)
    assert page.status_code == 200, page.text
    action, token = _form_of(page.text)
    assert token == token_of(link)

    # What the browser sends when the person presses the button.
    submitted = client.post(action, data={"token": token})
    assert submitted.status_code == 200, submitted.text
    _assert_page_headers(submitted)
    assert "confirmed" in submitted.text.lower()

    answer = log_in(client, email.lower(), password)
    assert answer.status_code == 200, answer.text

    # Single use, whichever way it comes back.
    resubmitted = client.post(action, data={"token": token})
    assert resubmitted.status_code == 400, resubmitted.text
    assert resubmitted.headers["content-type"].startswith("text/html")
    assert_problem(client.post("/auth/verify-email", json={"token": token}), 400, "invalid_token")


def test_page_without_token_and_unknown_token(client: httpx.Client):
    missing = client.get("/verify-email")
    assert missing.status_code == 400, missing.text
    assert missing.headers["content-type"].startswith("text/html")

    unknown = client.post("/verify-email", data={"token": "x" * 43})
    assert unknown.status_code == 400, unknown.text
    assert unknown.headers["content-type"].startswith("text/html")
    assert_problem(client.post("/auth/verify-email", json={"token": "x" * 43}), 400, "invalid_token")


def test_a_form_post_that_is_not_utf8_is_4xx(client: httpx.Client):
    # A browser (or a bot) posting bytes that are not UTF-8 gets a 4xx, never a 5xx.
    garbled = client.post(
        "/verify-email", content=b"token=\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= garbled.status_code < 500, garbled.text


def test_emailed_link_uses_the_public_base_url_not_the_host_header(server: DevServer, client: httpx.Client):
    email = unique_email("Hedy")
    sign_up(
        client,
        email,
        strong_password(),
        headers={"Host": "evil.example.net", "X-Forwarded-Host": "evil.example.net"},
    )
    link = verification_link(wait_for_emails(client, email, 1)[-1])
    assert urlsplit(link).netloc == urlsplit(server.public_base_url).netloc, link
    assert "evil.example.net" not in link


def test_dev_emails_lists_newest_last(client: httpx.Client):
    first, second = unique_email("First"), unique_email("Second")
    sign_up(client, first, strong_password())
    sign_up(client, second, strong_password())
    everything = client.get("/_dev/emails").json()
    recipients = [email["to"] for email in everything]
    assert recipients.index(first.lower()) < recipients.index(second.lower())
    assert everything[-1]["to"] == second.lower()
    assert set(everything[-1]) == {"to", "subject", "text", "html", "sent_at"}


def test_sign_up_again_after_verification_sends_account_exists_and_keeps_the_password(client: httpx.Client):
    email, password = signed_up_and_verified(client)
    before = len(emails_to(client, email))

    sign_up(client, email.swapcase(), strong_password())
    sent = wait_for_emails(client, email, before + 1)
    assert len(sent) == before + 1
    notice = sent[-1]
    assert "already" in notice["subject"].lower()
    assert "/verify-email" not in notice["text"]

    assert log_in(client, email, password).status_code == 200


def test_signing_up_again_before_verifying_sends_a_new_link(client: httpx.Client):
    email, first_password, second_password = unique_email("Katherine"), strong_password(), strong_password()
    sign_up(client, email, first_password)
    sign_up(client, email.lower(), second_password)
    sent = wait_for_emails(client, email, 2)
    assert len(sent) == 2
    newest = token_of(verification_link(sent[-1]))
    assert newest != token_of(verification_link(sent[0]))

    assert client.post("/auth/verify-email", json={"token": newest}).status_code == 200
    # Whoever verifies gets the password chosen with that sign-up.
    assert log_in(client, email, second_password).status_code == 200
    assert_problem(log_in(client, email, first_password), 401, "invalid_credentials")


def test_an_older_link_cannot_change_the_password_once_the_address_is_verified(client: httpx.Client):
    """Someone signs up with another person's address; that person signs up too and
    confirms their own link. Pressing the older link afterwards must not hand the
    account the first sign-up's password."""
    email, squatter_password, owner_password = unique_email("Owner"), strong_password(), strong_password()
    sign_up(client, email, squatter_password)
    sign_up(client, email, owner_password)
    squatter_email, owner_email = wait_for_emails(client, email, 2)[-2:]

    owner_token = token_of(verification_link(owner_email))
    assert client.post("/auth/verify-email", json={"token": owner_token}).status_code == 200
    assert log_in(client, email, owner_password).status_code == 200

    late = client.post("/auth/verify-email", json={"token": token_of(verification_link(squatter_email))})
    assert_problem(late, 400, "invalid_token")

    assert_problem(log_in(client, email, squatter_password), 401, "invalid_credentials")
    assert log_in(client, email, owner_password).status_code == 200


def test_resend_verification(client: httpx.Client):
    unknown = unique_email("Nobody")
    answer = client.post("/auth/resend-verification", json={"email": unknown})
    assert answer.status_code == 202, answer.text
    assert emails_to(client, unknown) == []

    email, password = unique_email("Mary"), strong_password()
    sign_up(client, email, password)
    answer = client.post("/auth/resend-verification", json={"email": email.upper()})
    assert answer.status_code == 202, answer.text
    sent = wait_for_emails(client, email, 2)
    assert len(sent) == 2
    resent = latest_verification_token(client, email)
    assert resent != token_of(verification_link(sent[0]))
    assert "sets no password" in sent[-1]["text"]

    # The resend carried no password, so its link sets none; "forgot password" sets one.
    confirmed = client.post("/auth/verify-email", json={"token": resent})
    assert confirmed.json() == {"status": "verified", "password_set": False}
    assert_problem(log_in(client, email, password), 401, "invalid_credentials")
    assert client.post("/auth/password/forgot", json={"email": email}).status_code == 202
    reset = token_of(reset_link(wait_for_emails(client, email, 3)[-1]))
    chosen = strong_password()
    assert client.post("/auth/password/reset", json={"token": reset, "password": chosen}).status_code == 204
    assert log_in(client, email, chosen).status_code == 200

    # Verified accounts get nothing more, and the answer is still 202.
    sent_before = len(emails_to(client, email))
    answer = client.post("/auth/resend-verification", json={"email": email})
    assert answer.status_code == 202
    assert len(emails_to(client, email)) == sent_before


# Their own addresses: the takeover tests' logins must meet no limit another test spent.
TAKEOVER_IPS = {
    "attacker-after-victim": ("127.0.240.10", "127.0.240.66"),
    "attacker-before-victim": ("127.0.241.10", "127.0.241.66"),
}


@pytest.mark.parametrize("order", list(TAKEOVER_IPS))
def test_pre_registration_takeover_fails_in_either_order(server: DevServer, client: httpx.Client, order: str):
    """An attacker signs up with the victim's address, before or after the victim does.
    Both emails reach the victim, each naming the IP its sign-up came from; the victim
    confirms their own, and the account has the victim's password and never the
    attacker's, whose link is refused from then on."""
    victim_ip, attacker_ip = TAKEOVER_IPS[order]
    email, victims_password, attackers_password = unique_email("Victim"), strong_password(), strong_password()
    with server.client(source_ip=victim_ip) as victim, server.client(source_ip=attacker_ip) as attacker:
        if order == "attacker-before-victim":
            sign_up(attacker, email, attackers_password)
            sign_up(victim, email, victims_password)
        else:
            sign_up(victim, email, victims_password)
            sign_up(attacker, email, attackers_password)
        sent = wait_for_emails(client, email, 2)
        assert len(sent) == 2
        by_ip = {ip: [m for m in sent if ip in m["text"]] for ip in (victim_ip, attacker_ip)}
        assert [len(found) for found in by_ip.values()] == [1, 1], [m["text"] for m in sent]
        for ip, (message,) in by_ip.items():
            assert ip in html.unescape(message["html"])
            assert "ignore this email" in message["text"]
        victims_link = token_of(verification_link(by_ip[victim_ip][0]))
        attackers_link = token_of(verification_link(by_ip[attacker_ip][0]))

        confirmed = victim.post("/auth/verify-email", json={"token": victims_link})
        assert confirmed.json() == {"status": "verified", "password_set": True}, confirmed.text

        assert_problem(log_in(attacker, email, attackers_password), 401, "invalid_credentials")
        assert_problem(attacker.post("/auth/verify-email", json={"token": attackers_link}), 400, "invalid_token")
        assert_problem(log_in(attacker, email, attackers_password), 401, "invalid_credentials")
        answer = log_in(victim, email, victims_password)
        assert answer.status_code == 200, answer.text
        me = victim.get("/me", headers=bearer(answer.json()["access_token"]))
        assert me.json()["email_verified"] is True


def test_patch_me_cannot_set_server_owned_fields(client: httpx.Client):
    _, tokens = logged_in(client, name="Barbara")
    headers = bearer(tokens["access_token"])
    for body in ({"email_verified": False}, {"name": "X", "email": "x@example.com"}, {"name": "X", "id": "usr_x"}):
        assert_problem(client.patch("/me", json=body, headers=headers), 422, "validation_error")
    assert_problem(client.patch("/me", json={"name": 5}, headers=headers), 422, "validation_error")
    assert_problem(
        client.patch("/me", content=b"[1]", headers={**headers, "Content-Type": "application/json"}),
        400,
        "validation_error",
    )
    me = client.get("/me", headers=headers).json()
    assert me["name"] == "Barbara"
    assert me["email_verified"] is True
