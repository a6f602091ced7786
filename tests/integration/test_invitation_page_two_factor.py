"""The invitation page signs in and accepts in one step; for an account with 2FA the
second factor is part of that step, or the page would be a way around 2FA."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pyotp
import pytest

from kuploy_access.adapters.dynamodb.keys import member_sk, org_pk
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import PASSWORD, create_org, invitation_token, invite, new_user
from tests.integration.support import raw_item

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def setting(aws, service_clock, cheap_password_hashing):
    client = GatewayClient(aws)
    _, owner = new_user(client, "olive@example.com", "Olive")
    org_id = create_org(client, owner)
    grace_id, grace = new_user(client, "grace@example.com", "Grace")
    secret = client.request("POST", "/me/2fa/setup", token=grace).json()["secret"]
    totp = pyotp.TOTP(secret)
    enabled = client.request("POST", "/me/2fa/enable", {"code": totp.at(service_clock.now())}, token=grace)
    assert enabled.status == 200, enabled.text
    invite(client, owner, org_id, "grace@example.com")
    link = invitation_token(client, "grace@example.com")
    service_clock.advance(timedelta(seconds=30))  # the enabling code's step is spent
    return client, org_id, grace_id, totp, link, service_clock


def _submit(client: GatewayClient, link: str, **fields: str):
    body = urlencode({"action": "accept", "email": "grace@example.com", "password": PASSWORD, **fields})
    return client.request("POST", f"/invitations/{link}", raw=body.encode(), headers=FORM)


def test_the_password_alone_does_not_accept_for_an_account_with_two_factor(setting):
    client, org_id, grace_id, _, link, _ = setting
    answer = _submit(client, link)
    assert answer.status == 400
    assert "code" in answer.text.lower()
    assert raw_item(org_pk(org_id), member_sk(grace_id)) is None


def test_a_wrong_code_does_not_accept(setting):
    client, org_id, grace_id, totp, link, clock = setting
    wrong = f"{(int(totp.at(clock.now())) + 1) % 1_000_000:06d}"
    assert _submit(client, link, code=wrong).status == 400
    assert raw_item(org_pk(org_id), member_sk(grace_id)) is None


def test_password_and_current_code_accept(setting):
    client, org_id, grace_id, totp, link, clock = setting
    answer = _submit(client, link, code=totp.at(clock.now()))
    assert answer.status == 200, answer.text
    assert raw_item(org_pk(org_id), member_sk(grace_id))["role"] == "member"  # type: ignore[index]


def test_the_code_used_on_the_page_cannot_sign_in_again(setting):
    client, _, _, totp, link, clock = setting
    code = totp.at(clock.now())
    assert _submit(client, link, code=code).status == 200
    challenge = client.request("POST", "/auth/login", {"email": "grace@example.com", "password": PASSWORD}).json()
    second = client.request("POST", "/auth/login/2fa", {"mfa_token": challenge["mfa_token"], "code": code})
    assert second.status == 401
    assert second.json()["code"] == "invalid_code"
