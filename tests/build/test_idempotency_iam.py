"""What the functions behind the create routes need for Idempotency-Key, as SAM deploys
them: Powertools' calls on the table (a conditional PutItem, GetItem, UpdateItem,
DeleteItem), the secret of their own the answers' sealing key is derived from (and not
the TOTP key, which opens every user's second factor), and a timeout within
the claim's lock (domain/idempotency.py, IN_PROGRESS_LOCK)."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.template import api_spec
from kuploy_access.domain.idempotency import IN_PROGRESS_LOCK
from tests.build.test_iam import TABLE_ARN, _is_audit_deny, role_statements
from tests.build.test_template import _as_list, resources
from tests.unit.test_idempotency import CREATE_ROUTES

pytestmark = pytest.mark.build

POWERTOOLS_CALLS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}


def create_functions() -> set[str]:
    """The functions that serve the create routes of API.md (the eight of the unit test)."""
    return {
        route.function.logical_id for route in api_spec().routes if (route.method.lower(), route.path) in CREATE_ROUTES
    }


def allowed(function_id: str, action: str, resource: Any) -> bool:
    return any(
        s["Effect"] == "Allow" and action in _as_list(s["Action"]) and resource in _as_list(s["Resource"])
        for s in role_statements(function_id)
    )


def test_the_create_routes_are_served_by_four_functions():
    four = {"OrganizationsFunction", "InvitationsFunction", "ApiKeysFunction", "ResourcesFunction"}
    assert create_functions() == four


@pytest.mark.parametrize("function_id", sorted(create_functions()))
def test_a_create_function_may_keep_answers_in_the_table(function_id: str):
    for action in POWERTOOLS_CALLS:
        assert allowed(function_id, action, TABLE_ARN), (function_id, action)
    # ...and still may not rewrite an audit event.
    assert any(_is_audit_deny(s) for s in role_statements(function_id))


def readers_of(secret: Any) -> set[str]:
    """The functions whose role may read `secret` (as SAM's AWSSecretsManagerGetSecretValuePolicy
    writes its ARN: Fn::Sub ["${secretArn}", {secretArn: ...}])."""
    arn = {"Fn::Sub": ["${secretArn}", {"secretArn": secret}]}
    return {
        function_id
        for function_id in resources("AWS::Lambda::Function")
        if allowed(function_id, "secretsmanager:GetSecretValue", arn)
    }


def test_the_answers_are_sealed_with_a_secret_of_their_own_readable_only_by_the_four():
    assert readers_of({"Ref": "IdempotencyKeySecret"}) == create_functions()


def test_the_totp_key_stays_with_the_functions_that_read_it_before_idempotency():
    """Sealed TOTP seeds open only where a second factor is checked: signing in, 2FA, and the
    invitation page (which signs in); the create functions never read them."""
    in_use = {"Fn::If": ["CreatesTotpKeySecret", {"Ref": "TotpKeySecret"}, {"Ref": "ExistingTotpKeySecretArn"}]}
    assert readers_of(in_use) == {"LoginFunction", "TwoFactorFunction", "InvitationsFunction"}


def test_only_the_four_are_told_the_idempotency_secret():
    told = {
        function_id
        for function_id, function in resources("AWS::Lambda::Function").items()
        if "IDEMPOTENCY_KEY_SECRET_ID" in ((function["Properties"].get("Environment") or {}).get("Variables") or {})
    }
    assert told == create_functions()
    for function_id in told:
        variables = resources("AWS::Lambda::Function")[function_id]["Properties"]["Environment"]["Variables"]
        assert variables["IDEMPOTENCY_KEY_SECRET_ID"] == {"Ref": "IdempotencyKeySecret"}, function_id


def test_the_idempotency_secret_is_generated_and_kept_like_the_others():
    secret = resources("AWS::SecretsManager::Secret")["IdempotencyKeySecret"]
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 64


@pytest.mark.parametrize("function_id", sorted(create_functions()))
def test_a_create_function_stops_before_its_claim_is_released(function_id: str):
    """A claim outlives the request that made it: a retry after IN_PROGRESS_LOCK may run
    the request again, which must then be over."""
    function = resources("AWS::Lambda::Function")[function_id]["Properties"]
    timeout = function["Timeout"]  # the transform has applied the template's Globals
    assert timeout < IN_PROGRESS_LOCK.total_seconds(), (function_id, timeout)
