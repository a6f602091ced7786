"""Look-alike addresses on moto, through the handlers: a sign-up whose address differs from
an existing account's only by confusables answers the usual 202 and creates nothing;
addresses that only casefold() would have merged (ß and ss) are two accounts."""

from __future__ import annotations

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    EMAIL_SKELETON_GUARD_PK_PREFIX,
    EMAIL_SKELETON_GUARD_SK,
    RATE_COUNTER_PK_PREFIX,
    email_skeleton_guard_pk,
)
from kuploy_access.domain.emails import email_skeleton
from tests.integration import support
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

LOOK_ALIKE = "p\u0430ypal@example.com"  # Cyrillic а


def table() -> list[dict]:
    return sorted(support.scan(), key=lambda item: (item["pk"], item["sk"]))


def sign_up(client, email: str, password: str = "another sturdy passphrase"):
    return client.request("POST", "/auth/signup", {"email": email, "password": password, "name": "Mallory"})


def test_a_look_alike_of_a_verified_address_answers_202_and_creates_no_account(client):
    client.sign_up_and_verify("paypal@example.com")
    # Only what a refused sign-up may leave: the look-alike's email budget counter.
    before = [item for item in table() if not item["pk"].startswith(RATE_COUNTER_PK_PREFIX)]
    emails_before = len(client.outbox.all())

    answer = sign_up(client, LOOK_ALIKE)
    assert answer.status == 202, answer.text
    assert answer.json() == {"status": "verification_sent"}

    assert [item for item in table() if not item["pk"].startswith(RATE_COUNTER_PK_PREFIX)] == before
    assert [user["email"] for user in support.users()] == ["paypal@example.com"]
    sent = client.outbox.all()[emails_before:]
    assert [email["to"] for email in sent] == [LOOK_ALIKE]
    assert "cannot be registered" in sent[0]["subject"]
    assert "/verify-email" not in sent[0]["text"]
    # Nobody can sign in as the look-alike; the owner still can.
    refused = client.request("POST", "/auth/login", {"email": LOOK_ALIKE, "password": "another sturdy passphrase"})
    assert refused.status == 401
    client.log_in("paypal@example.com")


def test_a_look_alike_signed_up_without_its_inbox_blocks_nobody(client):
    """A squatter signs up a look-alike of your address first (they cannot verify it
    without its inbox): you sign up and verify as usual; their link is refused then."""
    assert sign_up(client, LOOK_ALIKE).status == 202
    squatter = client.last_link(LOOK_ALIKE, "/verify-email")

    client.sign_up_and_verify("paypal@example.com")
    client.log_in("paypal@example.com")

    refused = client.request("POST", "/auth/verify-email", {"token": squatter})
    assert refused.status == 400 and "looks like" in refused.json()["detail"]


def test_each_account_holds_the_skeleton_of_its_address(client):
    client.sign_up_and_verify("Ada@Example.com")
    (user,) = support.users()
    guard = support.raw_item(email_skeleton_guard_pk(email_skeleton("ada@example.com")), EMAIL_SKELETON_GUARD_SK)
    assert guard is not None and guard["user_id"] == user["user_id"]


def test_sharp_s_and_ss_are_two_accounts(client):
    client.sign_up_and_verify("straße@example.com")
    client.sign_up_and_verify("strasse@example.com")
    assert sorted(user["email"] for user in support.users()) == ["strasse@example.com", "straße@example.com"]
    assert client.log_in("straße@example.com")["access_token"] != client.log_in("strasse@example.com")["access_token"]


def test_look_alikes_verified_at_once_make_one_verified_account(client):
    addresses = ["paypal@example.com", LOOK_ALIKE, "p\u0430yp\u0430l@example.com"]
    for address in addresses:
        assert sign_up(client, address).status == 202
    links = [client.last_link(address, "/verify-email") for address in addresses]

    outcomes = support.run_together(
        3, lambda i: client.request("POST", "/auth/verify-email", {"token": links[i]}).status
    )

    assert sorted(status for _, status in outcomes) == [200, 400, 400], outcomes
    assert len([user for user in support.users() if user["email_verified"]]) == 1
    assert len([item for item in support.scan() if item["pk"].startswith(EMAIL_SKELETON_GUARD_PK_PREFIX)]) == 1
