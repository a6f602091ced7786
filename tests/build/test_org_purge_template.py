"""The organization purge as SAM deploys it (issue 15, "Correct under retries"): the
table's stream, the filtered event source mapping with partial batch responses and an
on-failure queue, the alarm on that queue, and a role that reaches only what a purge
removes. Read from the transformed template, offline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_PK_PREFIX,
    INVITATION_LINK_PK_PREFIX,
    ORG_PK_PREFIX,
    org_api_keys_gsi1pk,
)
from tests.build.test_iam import dynamodb_actions, role_statements
from tests.build.test_template import _as_list, resources, transformed

pytestmark = pytest.mark.build

STREAM_ARN = {"Fn::GetAtt": ["Table", "StreamArn"]}


def purge_mapping() -> dict[str, Any]:
    mapping: dict[str, Any]
    (mapping,) = [
        m["Properties"]
        for m in resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": "OrgPurgeFunction"}
    ]
    return mapping


def test_the_table_streams_new_images_to_the_purge_only():
    table = resources("AWS::DynamoDB::Table")["Table"]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    readers = [
        m
        for m in resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"].get("EventSourceArn") == STREAM_ARN
    ]
    assert len(readers) == 1, readers


def test_the_mapping_hands_over_failed_records_alone_and_gives_up_into_a_queue():
    mapping = purge_mapping()
    assert mapping["EventSourceArn"] == STREAM_ARN
    # From the oldest record the stream holds (24 h): a mark written while the mapping
    # was absent (a first deploy, a replaced mapping) is still purged. A purge run again
    # removes nothing more.
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert 0 < mapping["MaximumRetryAttempts"] <= 10
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["OrgPurgeFailedQueue", "Arn"]}
    (pattern,) = [json.loads(f["Pattern"]) for f in mapping["FilterCriteria"]["Filters"]]
    assert pattern["dynamodb"]["Keys"] == {"sk": {"S": ["ORG"]}}
    assert pattern["dynamodb"]["NewImage"] == {"deleted_at": {"S": [{"exists": True}]}}


def test_a_purge_given_up_on_pages_through_the_alarm_topic():
    alarm = resources("AWS::CloudWatch::Alarm")["OrgPurgeFailedAlarm"]["Properties"]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["OrgPurgeFailedQueue", "QueueName"]}}]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    # The stack's alarm topic parameter (whatever the condition around it).
    assert '{"Ref": "AlarmTopicArn"}' in json.dumps(alarm["AlarmActions"]), alarm["AlarmActions"]
    assert "AlarmTopicArn" in transformed()["Parameters"]


def test_the_purge_reaches_only_what_a_purge_removes():
    allows = [s for s in role_statements("OrgPurgeFunction") if s["Effect"] == "Allow"]
    on_table = [s for s in allows if s["Resource"] == {"Fn::GetAtt": ["Table", "Arn"]}]
    by_keys: dict[tuple[str, ...], set[str]] = {}
    for statement in on_table:
        keys = tuple(statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])
        by_keys.setdefault(keys, set()).update(dynamodb_actions(statement))
    # What DynamoOrgPurge calls: the profile's read, hand-over and removal, the
    # partition's pages (ORG#); batch deletes of the keys' and the links' items too.
    assert by_keys == {
        (f"{ORG_PK_PREFIX}*",): {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
        (f"{ORG_PK_PREFIX}*", f"{API_KEY_PK_PREFIX}*", f"{INVITATION_LINK_PK_PREFIX}*"): {"dynamodb:BatchWriteItem"},
    }
    (on_index,) = [s for s in allows if s["Resource"] == {"Fn::Sub": "${Table.Arn}/index/gsi1"}]
    assert _as_list(on_index["Action"]) == ["dynamodb:Query"]
    assert on_index["Condition"]["ForAllValues:StringLike"] == {"dynamodb:LeadingKeys": [f"{org_api_keys_gsi1pk('')}*"]}
    stream_reads = {a for s in allows if s["Resource"] == STREAM_ARN for a in _as_list(s["Action"])}
    assert stream_reads == {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"}
    (send,) = [s for s in allows if "sqs:SendMessage" in _as_list(s["Action"])]
    assert send["Resource"] == {"Fn::GetAtt": ["OrgPurgeFailedQueue", "Arn"]}
    # Not SAM's AWSLambdaDynamoDBExecutionRole, which reads every table's stream.
    role_id = resources("AWS::Lambda::Function")["OrgPurgeFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    managed = transformed()["Resources"][role_id]["Properties"]["ManagedPolicyArns"]
    assert not any("DynamoDB" in arn for arn in managed if isinstance(arn, str)), managed


def test_organization_routes_answer_within_the_default_timeout_again():
    # The DELETE no longer purges in the request: OrganizationsFunction has the Globals'
    # Timeout like the other route functions.
    functions = resources("AWS::Lambda::Function")
    assert (
        functions["OrganizationsFunction"]["Properties"]["Timeout"]
        == functions["ResourcesFunction"]["Properties"]["Timeout"]
    )
    assert functions["OrganizationsFunction"]["Properties"]["Timeout"] <= 10
