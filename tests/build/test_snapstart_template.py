"""SnapStart in template.yaml: the authorizer and the login function run published versions
under the alias "live", which API Gateway calls (the authorizer's ARN included), with
SnapStart behind the SnapStart parameter (off by default, README "Cold starts"); and a new
layer publishes new versions, so that an alias never keeps an old layer."""

from __future__ import annotations

import json

import pytest

from devserver.template import load_template
from tests.build.test_template import authorizers, http_api_body, resources, transform_template, transformed

pytestmark = pytest.mark.build

SNAPSTART_FUNCTIONS = ("AuthorizerFunction", "LoginFunction")
ALIAS = "live"


def _alias_id(function: str) -> str:
    return f"{function}Alias{ALIAS}"


def _published_versions(layer_location: str, parameters: dict[str, str] | None = None) -> list[str]:
    document = transform_template(layer_location, parameters)
    return sorted(lid for lid, r in document["Resources"].items() if r["Type"] == "AWS::Lambda::Version")


def test_snapstart_is_a_parameter_off_by_default():
    parameter = load_template()["Parameters"]["SnapStart"]
    assert parameter["Default"] == "None"
    assert set(parameter["AllowedValues"]) == {"None", "PublishedVersions"}


@pytest.mark.parametrize("function", SNAPSTART_FUNCTIONS)
def test_the_function_publishes_versions_under_an_alias_with_snapstart(function: str):
    source = load_template()["Resources"][function]["Properties"]
    assert source["AutoPublishAlias"] == ALIAS
    assert source["AutoPublishAliasAllProperties"] is True
    deployed = resources("AWS::Lambda::Function")[function]["Properties"]
    assert deployed["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    alias = resources("AWS::Lambda::Alias")[_alias_id(function)]["Properties"]
    assert alias["Name"] == ALIAS
    assert alias["FunctionName"] == {"Ref": function}
    version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
    assert transformed()["Resources"][version_id]["Type"] == "AWS::Lambda::Version"


def test_api_gateway_calls_the_authorizer_through_its_alias():
    (authorizer,) = authorizers().values()
    uri = json.dumps(authorizer["authorizerUri"])
    assert _alias_id("AuthorizerFunction") in uri, uri
    permissions = [
        p["Properties"]
        for p in resources("AWS::Lambda::Permission").values()
        if "authorizers" in json.dumps(p["Properties"]["SourceArn"])
    ]
    assert permissions, "no permission for API Gateway to call the authorizer"
    assert all(p["FunctionName"] == {"Ref": _alias_id("AuthorizerFunction")} for p in permissions)


def test_every_login_route_calls_the_alias():
    login_routes = {
        f"{method.upper()} {path}": operation["x-amazon-apigateway-integration"]
        for path, methods in http_api_body()["paths"].items()
        for method, operation in methods.items()
        if not method.startswith("x-") and "LoginFunction" in json.dumps(operation["x-amazon-apigateway-integration"])
    }
    assert "POST /auth/login" in login_routes
    for route, integration in login_routes.items():
        assert _alias_id("LoginFunction") in json.dumps(integration["uri"]), route
    for logical_id, permission in resources("AWS::Lambda::Permission").items():
        if logical_id.startswith("LoginFunction"):
            assert permission["Properties"]["FunctionName"] == {"Ref": _alias_id("LoginFunction")}, logical_id


def test_a_new_layer_publishes_new_versions():
    """The functions pin the layer by version: an alias left on an old version would keep
    running the old kuploy_access after a deploy."""
    assert load_template()["Resources"]["SharedLayer"]["Properties"]["PublishLambdaVersion"] is True
    first = _published_versions("s3://packaged-artifacts/SharedLayer-1.zip")
    second = _published_versions("s3://packaged-artifacts/SharedLayer-2.zip")
    for function in SNAPSTART_FUNCTIONS:
        assert [v for v in first if v.startswith(function)] != [v for v in second if v.startswith(function)]
