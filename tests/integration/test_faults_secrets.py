"""Secrets Manager, or the KMS key behind a secret, unavailable to a new container: the
service fails closed. No token is issued (503, not 500, and no session is written), none
is accepted (the authorizer denies: 503, never a pass), and a second step never passes
without the TOTP key. Once the secret is readable again, everything works as before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT
from kuploy_access.adapters.dynamodb.keys import (
    PROFILE_SK,
    REFRESH_TOKEN_PK_PREFIX,
    SESSION_SK_PREFIX,
    audit_pk,
    user_pk,
)
from kuploy_access.adapters.retry_policy import SECRETS_MANAGER
from tests.integration.fault_fixtures import assert_unavailable, client, faults  # noqa: F401 - fixtures
from tests.integration.faults import (
    Answer,
    json_service_error,
    read_timeout,
)
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import PASSWORD, new_user
from tests.integration.support import forget_containers, items_with_prefix, raw_item, scan

ADA = "ada@example.com"
SIGNING_KEY_ID = LOCAL_ENVIRONMENT["SIGNING_KEY_SECRET_ID"]
TOTP_KEY_ID = LOCAL_ENVIRONMENT["TOTP_KEY_SECRET_ID"]
KEY_FETCH = "secrets-manager.GetSecretValue"

# How Secrets Manager says no: throttled, its KMS key disabled or unreachable
# (DecryptionFailure, KMSInvalidStateException... reach us as Secrets Manager's errors),
# or no answer in time. Its 5xx and refused connections are classified alike
# (tests/unit/test_retry_policy.py).
OUTAGES: dict[str, Answer] = {
    "throttled": json_service_error("ThrottlingException"),
    "kms_key_unusable": json_service_error("DecryptionFailure"),
    "timing_out": read_timeout,
}


def new_container() -> None:
    """What a cold start holds: no key read yet."""
    forget_containers()


def sessions() -> list[dict[str, Any]]:
    return [item for item in scan() if item["sk"].startswith(SESSION_SK_PREFIX)] + items_with_prefix(
        REFRESH_TOKEN_PK_PREFIX
    )


def log_in(client: GatewayClient):
    return client.request("POST", "/auth/login", {"email": ADA, "password": PASSWORD})


@pytest.mark.parametrize("outage", OUTAGES)
def test_no_token_is_issued_without_the_signing_key(client, faults, outage):
    user_id, _ = new_user(client, ADA)
    before = sessions()
    trail = items_with_prefix(audit_pk(user_id))
    new_container()
    faults.add(KEY_FETCH, OUTAGES[outage], body_has=SIGNING_KEY_ID)
    faults.calls.clear()

    answer = log_in(client)

    assert_unavailable(answer)
    assert "access_token" not in answer.text
    # Asked again within bounds (standard mode; a KMS key refused is an answer, not a
    # blip, and is not asked again), and nothing was written for the sign-in.
    expected = 1 if outage == "kms_key_unusable" else SECRETS_MANAGER.attempts
    assert faults.count(KEY_FETCH) == expected
    assert sessions() == before
    # Nor recorded as a sign-in: the key is read before the password is.
    assert items_with_prefix(audit_pk(user_id)) == trail

    faults.clear()
    assert log_in(client).status == 200


def test_a_refresh_without_the_signing_key_leaves_the_refresh_token_as_it_was(client, faults):
    client.sign_up_and_verify(ADA, PASSWORD)
    refresh_token = client.log_in(ADA, PASSWORD)["refresh_token"]
    before = sessions()
    new_container()
    faults.add(KEY_FETCH, json_service_error("ThrottlingException"), body_has=SIGNING_KEY_ID)

    answer = client.request("POST", "/auth/refresh", {"refresh_token": refresh_token})

    assert_unavailable(answer)
    # Not rotated: the client, which never got a new one, retries with this one, and
    # that is not taken for a stolen token's reuse (which would end the session).
    assert sessions() == before

    faults.clear()
    refreshed = client.request("POST", "/auth/refresh", {"refresh_token": refresh_token})
    assert refreshed.status == 200, refreshed.text
    assert client.request("GET", "/me", token=refreshed.json()["access_token"]).status == 200


@pytest.mark.parametrize("outage", ["kms_key_unusable", "timing_out"])
def test_no_token_is_accepted_without_the_signing_key(client, faults, outage):
    _, token = new_user(client, ADA)
    new_container()
    faults.add(KEY_FETCH, OUTAGES[outage], body_has=SIGNING_KEY_ID)

    answer = client.request("GET", "/me", token=token)

    # Denied, as a 503: not let through unchecked, not a 401 that would send the
    # client to sign in again, not the bare 500 of a crashed authorizer.
    assert_unavailable(answer)
    assert ADA not in answer.text

    faults.clear()
    assert client.request("GET", "/me", token=token).status == 200


def test_a_second_step_never_passes_without_the_totp_key(client, faults, service_clock):
    user_id, token = new_user(client, ADA)
    setup = client.request("POST", "/me/2fa/setup", token=token)
    assert setup.status == 200, setup.text
    secret = parse_qs(urlsplit(setup.json()["otpauth_uri"]).query)["secret"][0]
    service_clock.advance(timedelta(seconds=30 - service_clock.now().timestamp() % 30 + 1))
    totp = pyotp.TOTP(secret)
    enabled = client.request("POST", "/me/2fa/enable", {"code": totp.at(service_clock.now())}, token=token)
    assert enabled.status == 200, enabled.text
    service_clock.advance(timedelta(seconds=30))
    started = log_in(client)
    assert started.status == 200 and started.json()["mfa_required"] is True
    mfa_token = started.json()["mfa_token"]
    before = sessions()
    stored = raw_item(user_pk(user_id), PROFILE_SK)
    new_container()
    faults.add(KEY_FETCH, json_service_error("DecryptionFailure"), body_has=TOTP_KEY_ID)

    code = totp.at(service_clock.now())
    answer = client.request("POST", "/auth/login/2fa", {"mfa_token": mfa_token, "code": code})

    assert_unavailable(answer)
    assert "access_token" not in answer.text
    assert sessions() == before
    # The step was not spent: the user's record is as it was.
    assert raw_item(user_pk(user_id), PROFILE_SK) == stored

    faults.clear()
    passed = client.request("POST", "/auth/login/2fa", {"mfa_token": mfa_token, "code": code})
    assert passed.status == 200, passed.text
    assert "access_token" in passed.json()
