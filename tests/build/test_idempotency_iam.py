"""What the functions behind the create routes need for Idempotency-Key, as SAM deploys
them: Powertools' calls on the table (a conditional PutItem, GetItem, UpdateItem,
DeleteItem), the secret the answers' sealing key is derived from, and a timeout within
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


@pytest.mark.parametrize("function_id", sorted(create_functions()))
def test_a_create_function_may_read_the_secret_that_seals_answers(function_id: str):
    # SAM's AWSSecretsManagerGetSecretValuePolicy, as the transform writes it: the stack's
    # own TOTP key, or the one ExistingTotpKeySecretArn names (test_deploy_template.py).
    in_use = {"Fn::If": ["CreatesTotpKeySecret", {"Ref": "TotpKeySecret"}, {"Ref": "ExistingTotpKeySecretArn"}]}
    totp_key = {"Fn::Sub": ["${secretArn}", {"secretArn": in_use}]}
    assert allowed(function_id, "secretsmanager:GetSecretValue", totp_key), function_id


@pytest.mark.parametrize("function_id", sorted(create_functions()))
def test_a_create_function_stops_before_its_claim_is_released(function_id: str):
    """A claim outlives the request that made it: a retry after IN_PROGRESS_LOCK may run
    the request again, which must then be over."""
    function = resources("AWS::Lambda::Function")[function_id]["Properties"]
    timeout = function["Timeout"]  # the transform has applied the template's Globals
    assert timeout < IN_PROGRESS_LOCK.total_seconds(), (function_id, timeout)
