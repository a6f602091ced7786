"""Look-alike addresses on moto, through the handlers: a sign-up whose address differs from
an existing account's only by confusables answers the usual 202 and creates nothing;
addresses that only casefold() would have merged (ß and ss) are two accounts."""

from __future__ import annotations

import pytest

from kuploy_access.domain.emails import email_skeleton
from tests.integration import support
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import PASSWORD

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

LOOK_ALIKE = "p\u0430ypal@example.com"  # Cyrillic а


def table() -> list[dict]:
    return sorted(support.scan(), key=lambda item: (item["pk"], item["sk"]))


def sign_up(client, email: str, password: str = "another sturdy passphrase"):
    return client.request("POST", "/auth/signup", {"email": email, "password": password, "name": "Mallory"})


@pytest.mark.parametrize("verified", [False, True])
def test_a_look_alike_sign_up_answers_202_and_creates_no_account(client, verified):
    if verified:
        client.sign_up_and_verify("paypal@example.com")
    else:
        assert sign_up(client, "paypal@example.com", PASSWORD).status == 202
    # Only what a refused sign-up may leave: the look-alike's email budget counter.
    before = [item for item in table() if not item["pk"].startswith("RATE#")]
    emails_before = len(client.outbox.all())

    answer = sign_up(client, LOOK_ALIKE)
    assert answer.status == 202, answer.text
    assert answer.json() == {"status": "verification_sent"}

    assert [item for item in table() if not item["pk"].startswith("RATE#")] == before
    assert [user["email"] for user in support.users()] == ["paypal@example.com"]
    sent = client.outbox.all()[emails_before:]
    assert [email["to"] for email in sent] == [LOOK_ALIKE]
    assert "cannot be registered" in sent[0]["subject"]
    assert "/verify-email" not in sent[0]["text"]
    # Nobody can sign in as the look-alike; the owner still can.
    refused = client.request("POST", "/auth/login", {"email": LOOK_ALIKE, "password": "another sturdy passphrase"})
    assert refused.status == 401
    if verified:
        client.log_in("paypal@example.com")


def test_each_account_holds_the_skeleton_of_its_address(client):
    client.sign_up_and_verify("Ada@Example.com")
    (user,) = support.users()
    guard = support.raw_item(f"EMAILSKELETON#{email_skeleton('ada@example.com')}", "EMAILSKELETON")
    assert guard is not None and guard["user_id"] == user["user_id"]


def test_sharp_s_and_ss_are_two_accounts(client):
    client.sign_up_and_verify("straße@example.com")
    client.sign_up_and_verify("strasse@example.com")
    assert sorted(user["email"] for user in support.users()) == ["strasse@example.com", "straße@example.com"]
    assert client.log_in("straße@example.com")["access_token"] != client.log_in("strasse@example.com")["access_token"]


def test_two_look_alike_sign_ups_at_once_make_one_account(client):
    outcomes = support.run_together(
        6, lambda i: sign_up(client, ["paypal@example.com", LOOK_ALIKE, "p\u0430yp\u0430l@example.com"][i % 3]).status
    )
    assert outcomes == [("ok", 202)] * 6
    assert len(support.users()) == 1
    assert len([item for item in support.scan() if item["pk"].startswith("EMAILSKELETON#")]) == 1
