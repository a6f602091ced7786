"""SES refusing or timing out, through the handlers on moto: the person sees the usual
answer (202; an invitation's `email_delivery: "failed"`), the table holds the same
unconsumed token it would hold had the email gone out, and asking again delivers a link
that works."""

from __future__ import annotations

import pytest

from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, invitation_sk, org_pk, user_pk
from kuploy_access.adapters.retry_policy import SES
from tests.integration.fault_fixtures import client, faults  # noqa: F401 - fixtures
from tests.integration.faults import Answer, read_timeout, rest_json_error, unreachable
from tests.integration.org_support import PASSWORD, create_org, invitation_token, new_user
from tests.integration.support import raw_item, users, verification_tokens

ADA = "ada@example.com"
GRACE = "grace@example.com"
SEND = "sesv2.SendEmail"
REPLACEMENT_PASSPHRASE = "another sturdy passphrase"

OUTAGES: dict[str, Answer] = {
    "rejected": rest_json_error("MessageRejected"),
    "throttled": rest_json_error("TooManyRequestsException", status=429),
    "timing_out": read_timeout,
    "unreachable": unreachable,
}


def user_item(email: str) -> dict:
    (user,) = [user for user in users() if user["email"] == email]
    return user


@pytest.mark.parametrize("outage", OUTAGES)
def test_sign_up_answers_as_usual_when_ses_fails_and_a_resend_delivers_a_working_link(client, faults, outage):
    faults.add(SEND, OUTAGES[outage])

    answer = client.request("POST", "/auth/signup", {"email": ADA, "password": PASSWORD, "name": "Ada"})

    assert answer.status == 202, answer.text
    # Tried within bounds: SES's throttling once more, a refusal once.
    assert 1 <= faults.count(SEND) <= SES.attempts
    user = user_item(ADA)
    assert user["email_verified"] is False
    (pending,) = verification_tokens()
    assert pending["user_id"] == user["user_id"]

    faults.clear()
    sent_before = len(client.outbox.all())
    assert client.request("POST", "/auth/resend-verification", {"email": ADA}).status == 202
    assert len(client.outbox.all()) == sent_before + 1
    link = client.last_link(ADA, "/verify-email")
    verified = client.request("POST", "/auth/verify-email", {"token": link})
    assert verified.status == 200, verified.text
    assert user_item(ADA)["email_verified"] is True


def test_a_second_sign_up_after_a_lost_email_gives_the_account_its_password(client, faults):
    faults.add(SEND, read_timeout, times=SES.attempts)
    assert client.request("POST", "/auth/signup", {"email": ADA, "password": PASSWORD, "name": "Ada"}).status == 202

    # The person, with no email, signs up again: this link is delivered and sets the password.
    assert client.request("POST", "/auth/signup", {"email": ADA, "password": PASSWORD, "name": "Ada"}).status == 202
    verified = client.request("POST", "/auth/verify-email", {"token": client.last_link(ADA, "/verify-email")})
    assert verified.status == 200, verified.text
    assert verified.json()["password_set"] is True
    assert client.log_in(ADA, PASSWORD)["access_token"]
    assert len(users()) == 1


@pytest.mark.parametrize("outage", ["timing_out"])
def test_a_reset_email_that_fails_leaves_the_password_and_a_new_request_delivers_a_working_link(client, faults, outage):
    user_id, _ = new_user(client, ADA)
    stored = raw_item(user_pk(user_id), PROFILE_SK)
    assert stored is not None
    faults.add(SEND, OUTAGES[outage])

    answer = client.request("POST", "/auth/password/forgot", {"email": ADA})

    assert answer.status == 202, answer.text
    after = raw_item(user_pk(user_id), PROFILE_SK)
    assert after is not None
    # A reset token is pending, as if the email had gone; the password is untouched and
    # still signs in.
    assert after.get("reset_token_hash")
    assert after["password_hash"] == stored["password_hash"]
    assert client.log_in(ADA, PASSWORD)["access_token"]

    faults.clear()
    assert client.request("POST", "/auth/password/forgot", {"email": ADA}).status == 202
    token = client.last_link(ADA, "/reset-password")
    reset = client.request("POST", "/auth/password/reset", {"token": token, "password": REPLACEMENT_PASSPHRASE})
    assert reset.status == 204, reset.text
    assert client.log_in(ADA, REPLACEMENT_PASSPHRASE)["access_token"]


@pytest.mark.parametrize("outage", ["rejected"])
def test_an_invitation_whose_email_fails_exists_and_a_resend_delivers_a_link_that_joins(client, faults, outage):
    _, ada = new_user(client, ADA)
    org_id = create_org(client, ada)
    grace_id, grace = new_user(client, GRACE)
    faults.add(SEND, OUTAGES[outage])

    answer = client.request("POST", f"/orgs/{org_id}/invitations", {"email": GRACE, "role": "member"}, token=ada)

    assert answer.status == 201, answer.text
    invitation = answer.json()
    assert invitation["email_delivery"] == "failed"
    stored = raw_item(org_pk(org_id), invitation_sk(invitation["id"]))
    assert stored is not None and stored["status"] == "pending"

    faults.clear()
    resent = client.request("POST", f"/orgs/{org_id}/invitations/{invitation['id']}/resend", token=ada)
    assert resent.status == 202, resent.text
    accepted = client.request("POST", f"/invitations/{invitation_token(client, GRACE)}/accept", token=grace)
    assert accepted.status == 200, accepted.text
    assert accepted.json() == {"org_id": org_id, "role": "member"}
    assert grace_id
