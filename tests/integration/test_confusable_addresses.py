"""Look-alike addresses on moto, through the handlers: a sign-up whose address differs from
an existing account's only by confusables answers the usual 202 and creates nothing;
addresses that only casefold() would have merged (ß and ss) are two accounts."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    EMAIL_SKELETON_GUARD_PK_PREFIX,
    EMAIL_SKELETON_GUARD_SK,
    RATE_COUNTER_PK_PREFIX,
    email_skeleton_guard_pk,
)
from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
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


# --- a password reset verifies the address too ------------------------------------------------

NEW_PASSWORD = "a brand new passphrase"


def reset_link(client, email: str) -> str:
    assert client.request("POST", "/auth/password/forgot", {"email": email}).status == 202
    return client.last_link(email, "/reset-password")


def reset(client, token: str):
    return client.request("POST", "/auth/password/reset", {"token": token, "password": NEW_PASSWORD})


def verified_addresses() -> list[str]:
    return sorted(user["email"] for user in support.users() if user["email_verified"])


def look_holders() -> list[str]:
    """The user id each skeleton guard names."""
    return [item["user_id"] for item in support.scan() if item["pk"].startswith(EMAIL_SKELETON_GUARD_PK_PREFIX)]


def user_id_of(email: str) -> str:
    (user,) = [user for user in support.users() if user["email"] == email]
    return str(user["user_id"])


def test_a_reset_instead_of_the_verification_link_claims_the_look(client):
    """The owner signs up, ignores the verification email and uses "forgot password":
    the reset verifies the address and holds its look, so a look-alike is refused."""
    assert sign_up(client, "paypal@example.com").status == 202

    assert reset(client, reset_link(client, "paypal@example.com")).status == 204

    client.log_in("paypal@example.com", NEW_PASSWORD)
    assert look_holders() == [user_id_of("paypal@example.com")]
    emails_before = len(client.outbox.all())
    assert sign_up(client, LOOK_ALIKE).status == 202
    assert [user["email"] for user in support.users()] == ["paypal@example.com"]
    (sent,) = client.outbox.all()[emails_before:]
    assert sent["to"] == LOOK_ALIKE and "cannot be registered" in sent["subject"]


def test_a_reset_cannot_verify_a_look_alike_of_a_verified_address(client):
    """Both signed up; paypal@ verified first. The look-alike's reset link answers as its
    verification link does (400, "looks like") and changes nothing: the look-alike stays
    pending and cannot sign in, with the old password or the new one."""
    assert sign_up(client, LOOK_ALIKE).status == 202
    client.sign_up_and_verify("paypal@example.com")
    link = reset_link(client, LOOK_ALIKE)
    before = table()
    emails_before = len(client.outbox.all())

    refused = reset(client, link)

    assert refused.status == 400, refused.text
    assert refused.json()["code"] == "invalid_token" and "looks like" in refused.json()["detail"]
    page = client.request(
        "POST",
        "/reset-password",
        raw=f"token={link}&password={NEW_PASSWORD.replace(' ', '+')}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
    )
    assert page.status == 400 and "looks like" in page.text
    assert table() == before
    assert len(client.outbox.all()) == emails_before  # no "password changed" either
    assert verified_addresses() == ["paypal@example.com"]
    assert look_holders() == [user_id_of("paypal@example.com")]
    for password in (NEW_PASSWORD, "another sturdy passphrase"):
        answer = client.request("POST", "/auth/login", {"email": LOOK_ALIKE, "password": password})
        assert answer.status in (401, 403), answer.text
    client.log_in("paypal@example.com")


def test_an_account_verified_without_its_look_still_resets_its_password(client):
    """An account verified before the rule holds no look, and a look-alike verified
    since holds it: a reset of the older account works as ever (nobody is locked out of
    an account they have) and leaves the look where it is."""
    client.sign_up_and_verify("paypal@example.com")
    support.delete_raw_item(email_skeleton_guard_pk(email_skeleton("paypal@example.com")), EMAIL_SKELETON_GUARD_SK)
    client.sign_up_and_verify(LOOK_ALIKE)

    assert reset(client, reset_link(client, "paypal@example.com")).status == 204

    client.log_in("paypal@example.com", NEW_PASSWORD)
    assert look_holders() == [user_id_of(LOOK_ALIKE)]


def test_a_reset_and_a_look_alike_s_verification_at_once_verify_one_account(client, monkeypatch):
    """Both accounts pending; one's reset and the other's verification have read
    everything before either writes (the barrier): one wins, the other answers 400."""
    assert sign_up(client, "paypal@example.com").status == 202
    assert sign_up(client, LOOK_ALIKE).status == 202
    resetting = reset_link(client, "paypal@example.com")
    verifying = client.last_link(LOOK_ALIKE, "/verify-email")
    barrier = threading.Barrier(2, timeout=support.TIMEOUT)
    for method in ("reset_password", "verify_email"):
        original = getattr(DynamoUserRepository, method)

        def waiting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            barrier.wait()
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoUserRepository, method, waiting)

    outcomes = support.run_together(
        2,
        lambda i: (
            (
                reset(client, resetting)
                if i == 0
                else client.request("POST", "/auth/verify-email", {"token": verifying})
            ).status
        ),
    )
    monkeypatch.undo()

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    reset_status, verify_status = (status for _, status in outcomes)
    assert sorted([reset_status, verify_status]) in ([200, 400], [204, 400]), outcomes
    winner = "paypal@example.com" if reset_status == 204 else LOOK_ALIKE
    assert verified_addresses() == [winner]
    assert look_holders() == [user_id_of(winner)]
