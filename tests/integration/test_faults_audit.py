"""Account changes and their audit events under DynamoDB faults (issue 16: "never a lost
audit event"): each change below writes its event in its own TransactWriteItems, so
throttling past the retries answers 503 and leaves both or neither in the table, never
the change without its event; the same request succeeds once the fault is gone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pyotp
import pytest

from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, user_pk
from kuploy_access.adapters.retry_policy import DYNAMODB, is_unavailable
from tests.integration.fault_fixtures import assert_unavailable, client, faults  # noqa: F401 - fixtures
from tests.integration.faults import Faults, dynamodb_error
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import PASSWORD, new_user
from tests.integration.support import items_with_prefix, raw_item

ADA = "ada@example.com"
NEW_PASSWORD = "a brand new passphrase"
THROTTLED = dynamodb_error("ProvisionedThroughputExceededException")


def trail(user_id: str) -> list[str]:
    """The account's own audit trail: its actions, sorted."""
    return sorted(item["action"] for item in items_with_prefix(f"AUDIT#{user_id}"))


def password_hash(user_id: str) -> str:
    profile = raw_item(user_pk(user_id), PROFILE_SK)
    assert profile is not None
    return str(profile["password_hash"])


def throttle_the_write_of(faults: Faults, action: str) -> None:
    """Throttle, past all its retries, whatever DynamoDB write carries `action`'s event
    (its body holds the audit item): with the event written apart from its change, the
    change would stand and the event be lost. Every other call goes through."""
    faults.add("dynamodb", THROTTLED, body_has=f'"{action}"')
    faults.calls.clear()


def test_a_password_change_throttled_past_its_retries_leaves_neither_the_change_nor_its_event(client, faults):
    user_id, token = new_user(client, ADA)
    old_hash, before = password_hash(user_id), trail(user_id)
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    throttle_the_write_of(faults, "password.changed")

    assert_unavailable(client.request("POST", "/me/password", body, token=token))

    assert password_hash(user_id) == old_hash
    assert trail(user_id) == before
    # One write, retried by botocore and then given up: the change and its event in one.
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    faults.clear()
    assert client.request("POST", "/me/password", body, token=token).status == 204
    assert password_hash(user_id) != old_hash
    assert trail(user_id) == sorted([*before, "password.changed"])


def test_a_password_reset_throttled_past_its_retries_leaves_neither_the_reset_nor_its_event(client, faults):
    user_id, _ = new_user(client, ADA)
    assert client.request("POST", "/auth/password/forgot", {"email": ADA}).status == 202
    link = client.last_link(ADA, "/reset-password")
    old_hash, before = password_hash(user_id), trail(user_id)
    body = {"token": link, "password": NEW_PASSWORD}
    throttle_the_write_of(faults, "password.reset")

    assert_unavailable(client.request("POST", "/auth/password/reset", body))

    assert password_hash(user_id) == old_hash
    assert trail(user_id) == before
    # One write, retried by botocore and then given up: the change and its event in one.
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    # Nothing was written: the link still works, once.
    faults.clear()
    assert client.request("POST", "/auth/password/reset", body).status == 204
    assert password_hash(user_id) != old_hash
    assert trail(user_id) == sorted([*before, "password.reset"])


# --- two-factor authentication ---------------------------------------------------------------


def two_factor_on(user_id: str) -> bool:
    profile = raw_item(user_pk(user_id), PROFILE_SK)
    assert profile is not None
    return bool(profile.get("two_factor_enabled"))


def next_code(secret: str, clock: Any) -> str:
    """A code of a step no code was accepted for yet (the clock just past its boundary)."""
    clock.advance(timedelta(seconds=30 - clock.now().timestamp() % 30 + 1))
    return str(pyotp.TOTP(secret).at(int(clock.now().timestamp())))


def set_up(client: GatewayClient, token: str) -> str:
    answer = client.request("POST", "/me/2fa/setup", token=token)
    assert answer.status == 200, answer.text
    return str(answer.json()["secret"])


def enrolled(client: GatewayClient, clock: Any) -> tuple[str, str, str]:
    """A signed-in account with 2FA on: (user_id, access token, TOTP secret)."""
    user_id, token = new_user(client, ADA)
    secret = set_up(client, token)
    answer = client.request("POST", "/me/2fa/enable", {"code": next_code(secret, clock)}, token=token)
    assert answer.status == 200, answer.text
    return user_id, token, secret


def test_enabling_2fa_throttled_past_its_retries_leaves_neither_the_change_nor_its_event(client, faults, service_clock):
    user_id, token = new_user(client, ADA)
    secret = set_up(client, token)
    before = trail(user_id)
    throttle_the_write_of(faults, "two_factor.enabled")

    code = next_code(secret, service_clock)
    assert_unavailable(client.request("POST", "/me/2fa/enable", {"code": code}, token=token))

    assert not two_factor_on(user_id)
    assert trail(user_id) == before
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    faults.clear()
    assert client.request("POST", "/me/2fa/enable", {"code": code}, token=token).status == 200
    assert two_factor_on(user_id)
    assert trail(user_id) == sorted([*before, "two_factor.enabled"])


def test_disabling_2fa_throttled_past_its_retries_leaves_neither_the_change_nor_its_event(
    client, faults, service_clock
):
    user_id, token, secret = enrolled(client, service_clock)
    before = trail(user_id)
    throttle_the_write_of(faults, "two_factor.disabled")

    body = {"password": PASSWORD, "code": next_code(secret, service_clock)}
    assert_unavailable(client.request("POST", "/me/2fa/disable", body, token=token))

    assert two_factor_on(user_id)
    assert trail(user_id) == before
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    faults.clear()
    assert client.request("POST", "/me/2fa/disable", body, token=token).status == 204
    assert not two_factor_on(user_id)
    assert trail(user_id) == sorted([*before, "two_factor.disabled"])


def test_new_recovery_codes_throttled_past_their_retries_leave_neither_the_codes_nor_their_event(
    client, faults, service_clock
):
    user_id, token, secret = enrolled(client, service_clock)
    codes_before = raw_item(user_pk(user_id), PROFILE_SK)["recovery_code_hashes"]  # type: ignore[index]
    before = trail(user_id)
    throttle_the_write_of(faults, "two_factor.recovery_codes_replaced")

    body = {"code": next_code(secret, service_clock)}
    assert_unavailable(client.request("POST", "/me/2fa/recovery-codes", body, token=token))

    assert raw_item(user_pk(user_id), PROFILE_SK)["recovery_code_hashes"] == codes_before  # type: ignore[index]
    assert trail(user_id) == before
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    faults.clear()
    assert client.request("POST", "/me/2fa/recovery-codes", body, token=token).status == 200
    assert raw_item(user_pk(user_id), PROFILE_SK)["recovery_code_hashes"] != codes_before  # type: ignore[index]
    assert trail(user_id) == sorted([*before, "two_factor.recovery_codes_replaced"])


def test_the_operator_reset_throttled_past_its_retries_leaves_neither_the_reset_nor_its_event(
    client, faults, service_clock
):
    from kuploy_access import wiring

    user_id, _, _ = enrolled(client, service_clock)
    before = trail(user_id)
    throttle_the_write_of(faults, "two_factor.reset_by_operator")

    # The operator's command, not an HTTP answer: it fails as the API would answer 503.
    with pytest.raises(Exception) as failed:
        wiring.admin_service().reset_two_factor(ADA, "ops")
    assert is_unavailable(failed.value)

    assert two_factor_on(user_id)
    assert trail(user_id) == before
    assert faults.faulted == ["dynamodb.TransactWriteItems"] * DYNAMODB.attempts

    faults.clear()
    wiring.admin_service().reset_two_factor(ADA, "ops")
    assert not two_factor_on(user_id)
    assert trail(user_id) == sorted([*before, "two_factor.reset_by_operator"])
