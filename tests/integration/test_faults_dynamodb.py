"""DynamoDB under faults, through the handlers on moto: throttling and cancelled
transactions are retried a bounded number of times (adapters/retry_policy.py), then
answered 503 `service_unavailable` with Retry-After, never 500; what the table holds
afterwards is all or nothing, audit events included; the same request succeeds once the
fault is gone."""

from __future__ import annotations

import pytest

from kuploy_access.adapters.dynamodb.keys import member_sk, org_pk
from kuploy_access.adapters.retry_policy import AUTHORIZER_DYNAMODB, DYNAMODB, TRANSACTION_ATTEMPTS
from tests.integration.fault_fixtures import assert_unavailable, client, faults  # noqa: F401 - fixtures
from tests.integration.faults import dynamodb_error, transaction_cancelled
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import PASSWORD, create_org, invitation_token, invite, new_user
from tests.integration.support import email_guards, items_with_prefix, raw_item, users

THROTTLING = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded")
ADA = "ada@example.com"
GRACE = "grace@example.com"


def sign_up(client: GatewayClient, email: str = ADA):
    return client.request("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": "Ada"})


def audit_actions(org_id: str) -> list[str]:
    return sorted(item["action"] for item in items_with_prefix(f"AUDIT#{org_id}"))


# --- throttling -------------------------------------------------------------------------------


@pytest.mark.parametrize("code", THROTTLING)
def test_a_throttled_write_is_retried_and_the_answer_is_the_usual_one(client, faults, code):
    faults.add("dynamodb.TransactWriteItems", dynamodb_error(code), times=DYNAMODB.attempts - 1)

    answer = sign_up(client)

    assert answer.status == 202, answer.text
    assert faults.count("dynamodb.TransactWriteItems") == DYNAMODB.attempts
    assert [user["email"] for user in users()] == [ADA]
    assert len(email_guards()) == 1


def test_throttling_past_the_retries_is_a_503_and_nothing_is_written(client, faults):
    faults.add("dynamodb.TransactWriteItems", dynamodb_error("ProvisionedThroughputExceededException"))

    answer = sign_up(client)

    assert_unavailable(answer)
    # botocore's standard mode, 4 attempts in all: bounded, not botocore's legacy 10.
    assert faults.count("dynamodb.TransactWriteItems") == DYNAMODB.attempts
    assert users() == [] and email_guards() == []
    assert client.outbox.all() == []

    faults.clear()
    assert sign_up(client).status == 202
    assert [user["email"] for user in users()] == [ADA]


def test_a_throttled_read_is_a_503_not_a_500(client, faults):
    _, token = new_user(client, ADA)
    faults.add("dynamodb.GetItem", dynamodb_error("ProvisionedThroughputExceededException"))

    assert_unavailable(client.request("GET", "/me", token=token))

    faults.clear()
    assert client.request("GET", "/me", token=token).status == 200


def test_dynamodb_failing_with_500s_is_a_503(client, faults):
    faults.add("dynamodb.TransactWriteItems", dynamodb_error("InternalServerError", status=500))

    assert_unavailable(sign_up(client))
    assert users() == []


# --- cancelled transactions -------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_a_transaction_cancelled_by_a_conflict_is_tried_again(client, faults, reason):
    _, token = new_user(client, ADA)
    # botocore does not retry a cancellation: adapters/dynamodb/transactions.py does.
    faults.add("dynamodb.TransactWriteItems", transaction_cancelled(reason), times=TRANSACTION_ATTEMPTS - 1)
    faults.calls.clear()

    answer = client.request("POST", "/orgs", {"name": "Analytical Engines"}, token=token)

    assert answer.status == 201, answer.text
    org_id = answer.json()["id"]
    assert faults.count("dynamodb.TransactWriteItems") == TRANSACTION_ATTEMPTS
    assert raw_item(org_pk(org_id), "ORG") is not None
    assert "org.created" in audit_actions(org_id)


def test_an_accept_that_keeps_conflicting_is_a_503_and_leaves_no_half_membership(client, faults):
    ada_id, ada = new_user(client, ADA)
    org_id = create_org(client, ada)
    grace_id, grace = new_user(client, GRACE)
    invite(client, ada, org_id, GRACE)
    link = invitation_token(client, GRACE)
    before = audit_actions(org_id)
    faults.add("dynamodb.TransactWriteItems", transaction_cancelled("TransactionConflict"))
    faults.calls.clear()

    answer = client.request("POST", f"/invitations/{link}/accept", token=grace)

    assert_unavailable(answer)
    assert faults.count("dynamodb.TransactWriteItems") == TRANSACTION_ATTEMPTS
    # Not a member, the invitation still pending, and no event saying otherwise.
    assert raw_item(org_pk(org_id), member_sk(grace_id)) is None
    (pending,) = [item for item in items_with_prefix(org_pk(org_id)) if item["sk"].startswith("INVITATION#")]
    assert pending["status"] == "pending"
    assert audit_actions(org_id) == before

    faults.clear()
    accepted = client.request("POST", f"/invitations/{link}/accept", token=grace)
    assert accepted.status == 200, accepted.text
    assert raw_item(org_pk(org_id), member_sk(grace_id)) is not None
    assert audit_actions(org_id) == sorted([*before, "member.joined"])
    assert ada_id != grace_id


def test_a_condition_that_does_not_hold_is_an_answer_and_is_not_retried(client, faults):
    new_user(client, ADA)
    faults.calls.clear()

    # The address is taken: the sign-up's transaction is cancelled by its condition, once.
    answer = sign_up(client)

    assert answer.status == 202, answer.text
    assert faults.count("dynamodb.TransactWriteItems") <= 1
    assert len(users()) == 1


# --- the authorizer ---------------------------------------------------------------------------


def test_the_authorizer_fails_closed_when_the_key_table_is_throttled(client, faults):
    _, ada = new_user(client, ADA)
    org_id = create_org(client, ada)
    created = client.request("POST", f"/orgs/{org_id}/api-keys", {"description": "ci", "preset": "full"}, token=ada)
    assert created.status == 201, created.text
    key = created.json()["key"]
    faults.add("dynamodb.GetItem", dynamodb_error("ThrottlingException"))
    faults.calls.clear()

    answer = client.request("GET", f"/orgs/{org_id}", token=key)

    # Not let through, not told to sign in again, not a bare 500: come back later.
    assert_unavailable(answer)
    assert faults.count("dynamodb.GetItem") == AUTHORIZER_DYNAMODB.attempts

    faults.clear()
    assert client.request("GET", f"/orgs/{org_id}", token=key).status == 200
