"""The functions' IAM policies as SAM deploys them (issue 11, "Smaller holes"): the
authorizer may read API-key items and write their usage mark, nothing else; no function
may update or delete an audit event. Read from the transformed template, offline."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from kuploy_access.adapters.api_key_lookup import KeyLookup
from kuploy_access.adapters.dynamodb.keys import API_KEY_PK_PREFIX, AUDIT_PK_PREFIX
from tests.build.test_template import _as_list, resources, transformed

pytestmark = pytest.mark.build

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}
AUDIT_DENY = {"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
# How changes write their audit events: these must stay allowed.
AUDIT_WRITES = {"dynamodb:PutItem", "dynamodb:ConditionCheckItem"}


def role_statements(function_id: str) -> list[dict[str, Any]]:
    """Every statement of a function's role: inline policies and the template's own
    managed policies (AWS-managed ones are checked by test_template.py)."""
    function = resources("AWS::Lambda::Function")[function_id]
    role = transformed()["Resources"][function["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        statements += _as_list(policy["PolicyDocument"]["Statement"])
    for arn in role["Properties"].get("ManagedPolicyArns", []):
        if isinstance(arn, dict):
            managed = transformed()["Resources"][arn["Ref"]]
            statements += _as_list(managed["Properties"]["PolicyDocument"]["Statement"])
    return statements


def dynamodb_actions(statement: dict[str, Any]) -> set[str]:
    return {a for a in _as_list(statement["Action"]) if a.startswith("dynamodb:")}


def names_in_mark_used() -> set[str]:
    """The attribute names KeyLookup.mark_used sends: its key and both expressions."""
    sent: dict[str, Any] = {}

    class Client:
        class exceptions:  # noqa: N801 - botocore's shape
            class ConditionalCheckFailedException(Exception):
                pass

        def update_item(self, **request: Any) -> None:
            sent.update(request)

    lookup = KeyLookup("table", "us-east-1")
    lookup.__dict__["_client"] = Client()  # the cached_property's slot
    assert lookup.mark_used("a" * 64, datetime(2026, 1, 1, tzinfo=UTC), "203.0.113.9")
    assert "ReturnValues" not in sent and "ExpressionAttributeNames" not in sent, sent
    expressions = f"{sent['UpdateExpression']} {sent['ConditionExpression']}"
    words = set(re.findall(r"(?<![:#\w])[A-Za-z_]\w*", expressions))
    keywords = {"SET", "REMOVE", "ADD", "DELETE", "AND", "OR", "NOT", "attribute_exists", "attribute_not_exists"}
    return set(sent["Key"]) | (words - keywords)


# --- the authorizer --------------------------------------------------------------------------------


def test_the_authorizer_reads_and_marks_only_api_key_items():
    allows = [s for s in role_statements("AuthorizerFunction") if s["Effect"] == "Allow" and dynamodb_actions(s)]
    assert set().union(*(dynamodb_actions(s) for s in allows)) == {"dynamodb:GetItem", "dynamodb:UpdateItem"}
    for statement in allows:
        assert statement["Resource"] == TABLE_ARN, statement  # the table, not its index
        assert statement["Condition"]["ForAllValues:StringLike"] == {
            "dynamodb:LeadingKeys": [f"{API_KEY_PK_PREFIX}*"]
        }, statement


def test_the_authorizer_s_update_touches_only_the_usage_mark():
    updates = [s for s in role_statements("AuthorizerFunction") if "dynamodb:UpdateItem" in dynamodb_actions(s)]
    allowed = [s for s in updates if s["Effect"] == "Allow"]
    assert len(allowed) == 1, allowed
    update = allowed[0]
    assert dynamodb_actions(update) == {"dynamodb:UpdateItem"}, update  # no other action under these conditions
    condition = update["Condition"]
    attributes = set(condition["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    # Exactly what the code sends: the key attributes (IAM counts them) and the mark.
    assert attributes == names_in_mark_used() == {"pk", "sk", "last_used_at", "last_used_ip"}
    # ForAllValues holds for an empty set: the request must name the mark too.
    assert condition["ForAnyValue:StringEquals"] == {"dynamodb:Attributes": ["last_used_at"]}
    # Nothing read back through the write.
    assert condition["StringEqualsIfExists"]["dynamodb:ReturnValues"] == "NONE"


# --- the audit trail ------------------------------------------------------------------------------


def _is_audit_deny(statement: dict[str, Any]) -> bool:
    return (
        statement["Effect"] == "Deny"
        and dynamodb_actions(statement) >= AUDIT_DENY
        and TABLE_ARN in _as_list(statement["Resource"])
        and statement.get("Condition") == {"ForAnyValue:StringLike": {"dynamodb:LeadingKeys": [f"{AUDIT_PK_PREFIX}*"]}}
    )


def test_no_function_may_update_or_delete_an_audit_item():
    checked = []
    for function_id in resources("AWS::Lambda::Function"):
        statements = role_statements(function_id)
        if not any(s["Effect"] == "Allow" and dynamodb_actions(s) for s in statements):
            continue  # no access to the table at all (the OpenAPI document)
        assert any(_is_audit_deny(s) for s in statements), f"{function_id} may rewrite or delete audit events"
        checked.append(function_id)
    assert {"AuthorizerFunction", "OrganizationsFunction", "TwoFactorFunction"} <= set(checked), checked


def test_changes_still_write_their_audit_events():
    """Every change puts its event (alone or in its transaction): the Deny leaves Put alone."""
    for function_id in resources("AWS::Lambda::Function"):
        for statement in role_statements(function_id):
            if statement["Effect"] == "Deny":
                assert not dynamodb_actions(statement) & AUDIT_WRITES, (function_id, statement)
