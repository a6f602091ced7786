"""What a deploy of template.yaml leaves behind, read from SAM's transform (offline,
test_template.py): state that outlives the stack, the secrets a re-created stack can
reuse, names derived from the stack, the SES configuration set, the optional API
domain, log groups, access logs and alarms.

Conditions are resolved here as CloudFormation would for given parameter values
(`deployed(...)`), so a test can see what a stack with ExistingSigningKeySecretArn set,
or with its own alarm topic, is made of.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from tests.build.test_template import _as_list, resources, transformed
from tools.deploy import evaluate

pytestmark = pytest.mark.build

FUNCTION = "AWS::Lambda::Function"
ALARM = "AWS::CloudWatch::Alarm"
EXISTING = {
    "ExistingSigningKeySecretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:SigningKeySecret-AbCdEf",
    "ExistingTotpKeySecretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:TotpKeySecret-GhIjKl",
}
PAGER = "arn:aws:sns:us-east-1:111122223333:oncall"
# Everything a stack keeps: the table, the secrets that make its items readable (the
# signing key, the TOTP key), every other secret, and the SES identity another stage may
# send from.
STATEFUL_TYPES = {"AWS::DynamoDB::Table", "AWS::SecretsManager::Secret", "AWS::SES::EmailIdentity"}


# --- the template as deployed with given parameter values ---------------------------------


def _parameter_values(given: dict[str, str]) -> dict[str, str]:
    document = transformed()
    values = {name: str(spec.get("Default", "")) for name, spec in document["Parameters"].items()}
    values |= {"AWS::StackName": "kuploy-access-test", "AWS::Region": "us-east-1"}
    return values | given


def _resolve(node: Any, conditions: dict[str, bool]) -> Any:
    """Fn::If replaced by its chosen branch (AWS::NoValue dropped), all the way down."""
    if isinstance(node, list):
        return [item for item in (_resolve(item, conditions) for item in node) if item is not _NO_VALUE]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Fn::If"}:
        condition, when_true, when_false = node["Fn::If"]
        return _resolve(when_true if conditions[condition] else when_false, conditions)
    if node == {"Ref": "AWS::NoValue"}:
        return _NO_VALUE
    resolved = {key: _resolve(value, conditions) for key, value in node.items()}
    return {key: value for key, value in resolved.items() if value is not _NO_VALUE}


_NO_VALUE = object()


@cache
def _deployed(given: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    document = transformed()
    values = _parameter_values(dict(given))
    definitions = document.get("Conditions", {})
    conditions = {name: bool(evaluate(expression, values, definitions)) for name, expression in definitions.items()}
    kept: dict[str, Any] = {}
    for section in ("Resources", "Outputs"):
        kept[section] = {
            logical_id: _resolve(entry, conditions)
            for logical_id, entry in document.get(section, {}).items()
            if conditions.get(entry.get("Condition", ""), True)
        }
    return kept


def deployed(**given: str) -> dict[str, Any]:
    """The resources and outputs a stack with these parameter values holds, conditions resolved."""
    return _deployed(tuple(sorted(given.items())))


def of_type(document: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in document["Resources"].items() if r["Type"] == kind}


def references(node: Any) -> Iterator[str]:
    """Every logical id or parameter a node names: Ref, Fn::GetAtt and Fn::Sub's ${...}."""
    if isinstance(node, list):
        for item in node:
            yield from references(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref":
                yield value
            elif key == "Fn::GetAtt":
                yield value[0] if isinstance(value, list) else value.split(".")[0]
            elif key == "Fn::Sub":
                text, variables = (value, {}) if isinstance(value, str) else value
                local = set(variables)
                yield from (name for name in re.findall(r"\$\{([^}!.]+)", text) if name not in local)
                yield from references(variables)
            else:
                yield from references(value)


def role_statements(document: dict[str, Any], function_id: str) -> list[dict[str, Any]]:
    role = document["Resources"][document["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0]]
    statements: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        statements += _as_list(policy["PolicyDocument"]["Statement"])
    return statements


def secret_resources(document: dict[str, Any], function_id: str) -> list[Any]:
    found = []
    for statement in role_statements(document, function_id):
        if "secretsmanager:GetSecretValue" in _as_list(statement["Action"]):
            resource = statement["Resource"]
            # SAM's policy template wraps the ARN in Fn::Sub ["${secretArn}", {secretArn: ...}].
            if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), list):
                resource = resource["Fn::Sub"][1]["secretArn"]
            found.append(resource)
    return found


def environment(document: dict[str, Any], function_id: str) -> dict[str, Any]:
    variables: dict[str, Any] = document["Resources"][function_id]["Properties"]["Environment"]["Variables"]
    return variables


# --- state outlives the stack, and a new stack can take it back -----------------------------


def test_every_store_of_state_is_kept_like_the_table():
    table = transformed()["Resources"]["Table"]
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
    stateful = {lid: r for lid, r in transformed()["Resources"].items() if r["Type"] in STATEFUL_TYPES}
    assert {"Table", "SigningKeySecret", "TotpKeySecret", "EdgeOriginSecret", "SenderIdentity"} <= set(stateful)
    for logical_id, resource in stateful.items():
        policies = (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy"))
        assert policies == (table["DeletionPolicy"], table["UpdateReplacePolicy"]), logical_id


def test_no_key_of_the_stack_s_own_is_left_unretained():
    """A KMS key of the stack's own would seal state too; there is none (AWS-managed keys)."""
    assert not resources("AWS::KMS::Key")


def test_by_default_the_stack_makes_its_secrets_and_every_function_reads_them():
    stack = deployed()
    assert {"SigningKeySecret", "TotpKeySecret"} <= set(stack["Resources"])
    for function_id in of_type(stack, FUNCTION):
        variables = environment(stack, function_id)
        assert variables["SIGNING_KEY_SECRET_ID"] == {"Ref": "SigningKeySecret"}, function_id
        assert variables["TOTP_KEY_SECRET_ID"] == {"Ref": "TotpKeySecret"}, function_id
    assert {"Ref": "TotpKeySecret"} in secret_resources(stack, "LoginFunction")
    assert {"Ref": "SigningKeySecret"} in secret_resources(stack, "AuthorizerFunction")


def test_with_existing_secrets_named_nothing_refers_to_a_created_one():
    stack = deployed(**EXISTING)
    assert not {"SigningKeySecret", "TotpKeySecret"} & set(stack["Resources"])
    named = set(references(stack))
    assert not {"SigningKeySecret", "TotpKeySecret"} & named
    # The edge's secret is still the stack's own (see template.yaml).
    assert "EdgeOriginSecret" in stack["Resources"]
    for function_id in of_type(stack, FUNCTION):
        variables = environment(stack, function_id)
        assert variables["SIGNING_KEY_SECRET_ID"] == {"Ref": "ExistingSigningKeySecretArn"}, function_id
        assert variables["TOTP_KEY_SECRET_ID"] == {"Ref": "ExistingTotpKeySecretArn"}, function_id


def test_with_existing_secrets_each_function_may_read_exactly_those_it_read_before():
    created = {"SigningKeySecret": "ExistingSigningKeySecretArn", "TotpKeySecret": "ExistingTotpKeySecretArn"}
    before, after = deployed(), deployed(**EXISTING)
    for function_id in of_type(before, FUNCTION):
        expected = [
            {"Ref": created[r["Ref"]]} if isinstance(r, dict) and r.get("Ref") in created else r
            for r in secret_resources(before, function_id)
        ]
        assert secret_resources(after, function_id) == expected, function_id
    assert {"Ref": "ExistingTotpKeySecretArn"} in secret_resources(after, "LoginFunction")


def test_the_outputs_name_the_secrets_in_use():
    assert deployed()["Outputs"]["TotpKeySecretArn"]["Value"] == {"Ref": "TotpKeySecret"}
    assert deployed(**EXISTING)["Outputs"]["TotpKeySecretArn"]["Value"] == {"Ref": "ExistingTotpKeySecretArn"}
    assert deployed(**EXISTING)["Outputs"]["SigningKeySecretArn"]["Value"] == {"Ref": "ExistingSigningKeySecretArn"}


# --- two stages side by side: every physical name from the stack ----------------------------

# Names scoped to their parent resource, not to the account and region: they may be literal.
SCOPED_NAMES = {
    "PolicyName",  # an inline policy, within its role
    "AttributeName",  # a table's key attribute
    "IndexName",  # an index, within its table
    "MetricName",  # a CloudWatch metric
    "DimensionName",  # a metric's dimension
    "HeaderName",  # an HTTP header
    "StageName",  # the API's stage, within its API
}
SCOPED_NAME_PARENTS = {"Dimensions", "EventDestination"}  # an alarm's dimension; a set's destination


def _names(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.endswith("Name"):
                yield (*path, key), value
            yield from _names(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _names(value, (*path, index))


def _is_scoped(path: tuple[Any, ...]) -> bool:
    if path[-1] in SCOPED_NAMES:
        return True
    parents = [step for step in path[:-1] if isinstance(step, str)]
    return path[-1] == "Name" and bool(parents) and parents[-1] in SCOPED_NAME_PARENTS


def _derived_from_the_stack(value: Any) -> bool:
    """A name from the stack's name, from a resource's own generated name, or an
    operator-given parameter (a domain)."""
    if not isinstance(value, dict):
        return False
    if "Fn::Sub" in value or "Fn::Join" in value:
        named = set(references(value)) | ({"AWS::StackName"} if "AWS::StackName" in json.dumps(value) else set())
        return "AWS::StackName" in named or bool(named & set(transformed()["Resources"]))
    return set(value) <= {"Ref", "Fn::GetAtt"}


# Named within their function, as a version is numbered within it (SAM's AutoPublishAlias).
SCOPED_RESOURCE_TYPES = {"AWS::Lambda::Alias"}


def test_every_physical_name_derives_from_the_stack():
    literal = []
    for logical_id, resource in transformed()["Resources"].items():
        if resource["Type"] in SCOPED_RESOURCE_TYPES:
            continue
        for path, value in _names(resource.get("Properties") or {}):
            if not _is_scoped(path) and not _derived_from_the_stack(value):
                literal.append((logical_id, *path, value))
    assert literal == []


def test_the_layer_is_named_after_the_stack():
    (layer,) = resources("AWS::Lambda::LayerVersion").values()
    assert layer["Properties"]["LayerName"] == {"Fn::Sub": "${AWS::StackName}-shared"}


def test_the_oauth_client_secrets_are_read_under_the_stack_s_own_prefix():
    document = transformed()
    oauth_secrets = [
        resource
        for resource in secret_resources(deployed(), "OAuthFunction")
        if isinstance(resource, dict) and "Fn::Sub" in resource
    ]
    assert oauth_secrets == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
            ":secret:${AWS::StackName}/oauth/*"
        }
    ]
    for name in ("GitHubClientSecretName", "GoogleClientSecretName", "GitLabClientSecretName"):
        pattern = document["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, "kuploy-access-prod/oauth/github"), name
        assert re.fullmatch(pattern, ""), name
        assert not re.fullmatch(pattern, "other/github"), name


def test_an_existing_key_secret_is_one_secret_never_a_wildcard():
    # The ARN becomes GetSecretValue's Resource: a `*` would grant every secret.
    parameters = transformed()["Parameters"]
    for name in ("ExistingSigningKeySecretArn", "ExistingTotpKeySecretArn"):
        pattern = parameters[name]["AllowedPattern"]
        assert re.fullmatch(pattern, ""), name
        assert re.fullmatch(pattern, "arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/SigningKey-AbCdEf"), (
            name
        )
        for wildcard in ("*", "prod/*", "Signing?ey-AbCdEf", "a b"):
            arn = f"arn:aws:secretsmanager:eu-west-1:111122223333:secret:{wildcard}"
            assert not re.fullmatch(pattern, arn), (name, wildcard)


# --- SES -----------------------------------------------------------------------------------


def test_the_sender_identity_is_made_only_when_asked():
    parameter = transformed()["Parameters"]["CreateSenderIdentity"]
    assert parameter["Default"] == "false"
    assert "SenderIdentity" not in deployed()["Resources"]
    address = deployed(CreateSenderIdentity="address", SenderEmail="no-reply@access.test")
    assert address["Resources"]["SenderIdentity"]["Properties"]["EmailIdentity"] == {"Ref": "SenderEmail"}
    domain = deployed(CreateSenderIdentity="domain")["Resources"]["SenderIdentity"]["Properties"]
    assert domain["EmailIdentity"] == {"Fn::Select": [1, {"Fn::Split": ["@", {"Ref": "SenderEmail"}]}]}
    assert domain["DkimSigningAttributes"] == {"NextSigningKeyLength": "RSA_2048_BIT"}
    assert "SenderDkimRecords" in deployed(CreateSenderIdentity="domain")["Outputs"]


def test_the_configuration_set_counts_bounces_complaints_and_rejects():
    (config_set_id, config_set) = next(iter(resources("AWS::SES::ConfigurationSet").items()))
    assert config_set["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    (destination,) = resources("AWS::SES::ConfigurationSetEventDestination").values()
    assert destination["Properties"]["ConfigurationSetName"] == {"Ref": config_set_id}
    events = destination["Properties"]["EventDestination"]
    assert events["Enabled"] is True
    assert {"bounce", "complaint", "reject", "renderingFailure", "deliveryDelay"} <= set(events["MatchingEventTypes"])
    assert events["CloudWatchDestination"]["DimensionConfigurations"]


def test_every_function_sends_with_the_configuration_set_it_may_use():
    (config_set_id,) = resources("AWS::SES::ConfigurationSet")
    config_set_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${"
        + config_set_id
        + "}"
    }
    senders = []
    stack = deployed()
    for function_id in of_type(stack, FUNCTION):
        assert environment(stack, function_id)["SES_CONFIGURATION_SET"] == {"Ref": config_set_id}, function_id
        for statement in role_statements(stack, function_id):
            if "ses:SendEmail" in _as_list(statement["Action"]):
                senders.append(function_id)
                allowed = _as_list(statement["Resource"])
                assert config_set_arn in allowed, function_id
                assert {
                    "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderEmail}"
                } in allowed, function_id
    assert {"SignUpFunction", "LoginFunction", "PasswordsFunction", "InvitationsFunction"} <= set(senders)


# --- the API's own domain ------------------------------------------------------------------


def test_the_api_domain_exists_only_with_its_certificate():
    assert not {"ApiDomain", "ApiDomainMapping"} & set(deployed()["Resources"])
    assert "ApiCustomUrl" not in deployed()["Outputs"]
    stack = deployed(
        ApiDomainName="api.access.test",
        ApiCertificateArn="arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-0000-0000-0000-000000000000",
    )
    domain = stack["Resources"]["ApiDomain"]["Properties"]
    assert domain["DomainName"] == {"Ref": "ApiDomainName"}
    assert domain["DomainNameConfigurations"] == [
        {"CertificateArn": {"Ref": "ApiCertificateArn"}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}
    ]
    mapping = stack["Resources"]["ApiDomainMapping"]["Properties"]
    (api_id,) = resources("AWS::ApiGatewayV2::Api")
    (stage_id,) = resources("AWS::ApiGatewayV2::Stage")
    assert mapping == {"DomainName": {"Ref": "ApiDomain"}, "ApiId": {"Ref": api_id}, "Stage": {"Ref": stage_id}}
    assert {"ApiCustomUrl", "ApiDomainTarget"} <= set(stack["Outputs"])


def test_a_domain_without_its_certificate_is_refused_by_a_rule():
    rules = transformed()["Rules"]["ApiDomainAndCertificateTogether"]["Assertions"]
    cert = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-0000-0000-0000-000000000000"

    def holds(**given: str) -> bool:
        return all(evaluate(rule["Assert"], _parameter_values(given)) for rule in rules)

    assert holds()
    assert holds(ApiDomainName="api.access.test", ApiCertificateArn=cert)
    assert not holds(ApiDomainName="api.access.test")
    assert not holds(ApiCertificateArn=cert)


# --- logs ----------------------------------------------------------------------------------


def test_every_function_logs_to_a_group_of_its_own_kept_log_retention_days():
    stack = deployed()
    groups = of_type(stack, "AWS::Logs::LogGroup")
    used = []
    for function_id, function in of_type(stack, FUNCTION).items():
        logging = function["Properties"]["LoggingConfig"]
        assert set(logging) == {"LogGroup"}, (function_id, logging)  # the text format: template.yaml says why
        group_id = logging["LogGroup"]["Ref"]
        assert groups[group_id]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function_id
        used.append(group_id)
    assert len(used) == len(set(used)), used


def test_every_log_group_has_the_retention_parameter():
    groups = resources("AWS::Logs::LogGroup")
    assert groups
    for logical_id, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical_id


ACCESS_LOG_FIELDS = {
    "requestId",
    "sourceIp",
    "routeKey",
    "status",
    "responseLength",
    "integrationLatency",
    "integrationError",
    "authorizerError",
}


def test_the_api_writes_json_access_logs_to_a_kept_group():
    (stage,) = resources("AWS::ApiGatewayV2::Stage").values()
    settings = stage["Properties"]["AccessLogSettings"]
    group_id = settings["DestinationArn"]["Fn::GetAtt"][0]
    group = transformed()["Resources"][group_id]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    line = settings["Format"]
    assert "\n" not in line
    record = json.loads(re.sub(r"\$context\.[\w.]+", "x", line))
    assert set(record) >= ACCESS_LOG_FIELDS, sorted(record)
    # Paths carry invitation tokens; the route key names the route without them.
    assert "$context.path" not in line and "$context.routeKey" in line


# --- alarms --------------------------------------------------------------------------------


def test_every_alarm_notifies_the_topic_going_off_and_back():
    own = deployed()
    assert "AlarmTopic" in own["Resources"]
    paged = deployed(AlarmTopicArn=PAGER)
    assert "AlarmTopic" not in paged["Resources"]
    for stack, topic in ((own, {"Ref": "AlarmTopic"}), (paged, {"Ref": "AlarmTopicArn"})):
        alarms = of_type(stack, ALARM)
        assert alarms
        for logical_id, alarm in alarms.items():
            assert alarm["Properties"]["AlarmActions"] == [topic], logical_id
            assert alarm["Properties"]["OKActions"] == [topic], logical_id


def test_an_alarm_email_is_subscribed_only_to_the_stack_s_own_topic():
    assert "AlarmEmailSubscription" not in deployed()["Resources"]
    assert "AlarmEmailSubscription" in deployed(AlarmEmail="oncall@access.test")["Resources"]
    assert "AlarmEmailSubscription" not in deployed(AlarmEmail="oncall@access.test", AlarmTopicArn=PAGER)["Resources"]


def _metric(alarm: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    props = alarm["Properties"]
    if "Metrics" in props:
        (query,) = props["Metrics"]
        return "query", query["Expression"], {}
    dimensions = {d["Name"]: d["Value"] for d in props.get("Dimensions", [])}
    return props["Namespace"], props["MetricName"], dimensions


def _alarms_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        dimensions
        for (ns, name, dimensions) in map(_metric, resources(ALARM).values())
        if (ns, name) == (namespace, metric)
    ]


def _queries() -> list[Any]:
    return [expression for (ns, expression, _) in map(_metric, resources(ALARM).values()) if ns == "query"]


def test_the_alarms_watch_what_the_operator_is_paged_for():
    (api_id,) = resources("AWS::ApiGatewayV2::Api")
    assert _alarms_on("AWS/ApiGateway", "5xx") == [{"ApiId": {"Ref": api_id}}]
    assert _alarms_on("AWS/Lambda", "Errors") == [{"FunctionName": {"Ref": "AuthorizerFunction"}}]
    throttled = [d["FunctionName"]["Ref"] for d in _alarms_on("AWS/Lambda", "Throttles")]
    assert sorted(throttled) == sorted(resources(FUNCTION)), "every function has a Throttles alarm"
    assert _alarms_on("AWS/SES", "Reputation.BounceRate") == [{}]
    assert _alarms_on("AWS/SES", "Reputation.ComplaintRate") == [{}]
    queries = [q["Fn::Sub"] for q in _queries()]
    assert "SELECT SUM(SystemErrors) FROM \"AWS/DynamoDB\" WHERE TableName = '${Table}'" in queries
    assert "SELECT SUM(EmailsFailed) FROM \"Kuploy/Access\" WHERE service = '${AWS::StackName}'" in queries
    assert "SELECT SUM(OrgPurgeFailures) FROM \"Kuploy/Access\" WHERE service = '${AWS::StackName}'" in queries


def test_the_code_s_metrics_carry_the_stack_as_the_service_the_alarm_reads():
    """EMF metrics carry Powertools' `service` dimension, from POWERTOOLS_SERVICE_NAME: the
    stack's name, so the alarm above reads this stage's EmailsFailed, not another's."""
    stack = deployed()
    for function_id in of_type(stack, FUNCTION):
        variables = environment(stack, function_id)
        assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}, function_id
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Kuploy/Access", function_id


def test_every_alarm_is_named_after_the_stack_and_says_what_to_check():
    names = []
    for logical_id, alarm in resources(ALARM).items():
        props = alarm["Properties"]
        assert props["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), logical_id
        assert len(props.get("AlarmDescription", "")) > 40, logical_id
        assert props["TreatMissingData"] == "notBreaching", logical_id
        names.append(props["AlarmName"]["Fn::Sub"])
    assert len(names) == len(set(names)), names


# The metric names issue 15 fixes for the code and the alarms alike (namespace Kuploy/Access).
CODE_METRICS = {
    "Logins",
    "LoginFailures",
    "SecondStepFailures",
    "Lockouts",
    "RateLimited",
    "RefreshTokenReuse",
    "AuthorizerRefusals",
    "ApiKeyUses",
    "EmailsSent",
    "EmailsFailed",
    "OrgPurgeItems",
    "OrgPurgeFailures",
    "IdempotentReplays",
}


def test_the_alarms_read_only_metrics_the_code_publishes():
    named = {
        found for query in _queries() for found in re.findall(r'SUM\((\w+)\) FROM "Kuploy/Access"', query["Fn::Sub"])
    }
    assert named == {"EmailsFailed", "OrgPurgeFailures"}
    assert named <= CODE_METRICS


def test_the_purge_failures_alarm_pages_only_for_repeated_failures():
    # One failed run is retried by the stream's mapping, and one given up on is paged by
    # OrgPurgeFailedAlarm (its queue): this alarm is for a purge that keeps failing.
    props = resources(ALARM)["OrgPurgeFailuresAlarm"]["Properties"]
    (metric,) = props["Metrics"]
    assert props["Threshold"] >= 3 and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert metric["Period"] * props["EvaluationPeriods"] >= 900
