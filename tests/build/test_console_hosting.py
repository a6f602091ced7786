"""The console's hosting as SAM deploys it (offline transform, test_template.py): the
distribution's API origin names the HTTP API that SAM generates, and the bucket it
reads is the console bucket. tests/unit/test_console_deployment.py checks the rest."""

from __future__ import annotations

import pytest

from tests.build.test_template import resources, transformed

pytestmark = pytest.mark.build


def test_the_distribution_forwards_to_the_generated_http_api():
    (api_id,) = resources("AWS::ApiGatewayV2::Api")
    (distribution,) = resources("AWS::CloudFront::Distribution").values()
    origins = {origin["Id"]: origin for origin in distribution["Properties"]["DistributionConfig"]["Origins"]}
    api_domain = "${" + api_id + "}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    assert origins["api"]["DomainName"] == {"Fn::Sub": api_domain}
    assert origins["console"]["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}


def test_every_function_gets_the_secret_the_distribution_sends():
    """The edge's secret reaches every Lambda function (Globals) as the same dynamic
    reference the API origin's header resolves, so both sides hold one value."""
    reference = {"Fn::Sub": "{{resolve:secretsmanager:${EdgeOriginSecret}:SecretString}}"}
    (distribution,) = resources("AWS::CloudFront::Distribution").values()
    (api,) = [o for o in distribution["Properties"]["DistributionConfig"]["Origins"] if o["Id"] == "api"]
    assert api["OriginCustomHeaders"] == [{"HeaderName": "X-Kuploy-Edge", "HeaderValue": reference}]
    functions = resources("AWS::Lambda::Function")
    assert functions
    for logical_id, function in functions.items():
        assert function["Properties"]["Environment"]["Variables"]["EDGE_ORIGIN_SECRET"] == reference, logical_id


def test_the_console_resources_survive_the_transform():
    kinds = {resource["Type"] for resource in transformed()["Resources"].values()}
    assert {
        "AWS::S3::Bucket",
        "AWS::S3::BucketPolicy",
        "AWS::CloudFront::OriginAccessControl",
        "AWS::CloudFront::ResponseHeadersPolicy",
        "AWS::CloudFront::Distribution",
        "AWS::CloudFront::Function",
    } <= kinds
    assert {"ConsoleUrl", "ConsoleBucketName", "ConsoleDistributionId"} <= set(transformed()["Outputs"])
