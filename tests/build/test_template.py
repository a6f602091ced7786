"""template.yaml: cfn-lint clean, and what SAM turns it into (offline, no AWS account).

The transform runs samtranslator from the SAM CLI's own environment (.venv-sam) with
a managed-policy loader that refuses to be asked: the template names no managed
policy by name, so no IAM call is needed, and none is made.
"""

from __future__ import annotations

import json
import re
import subprocess
from functools import cache
from typing import Any

import pytest

from devserver.template import api_spec
from tests.build.helpers import ROOT, SAM, SAM_PYTHON, TEMPLATE, sam_environment

pytestmark = pytest.mark.build

AUTHORIZER = "KuployAuthorizer"

# API.md, "Public routes (no token)", plus the pages behind emailed links. Any route
# not listed here must go through the authorizer; a new public route is added here
# on purpose, never by accident.
PUBLIC_ROUTES = {
    "POST /auth/signup",
    "POST /auth/verify-email",
    "POST /auth/resend-verification",
    "POST /auth/login",
    "POST /auth/login/2fa",
    "POST /auth/refresh",
    "POST /auth/logout",
    "POST /auth/password/forgot",
    "POST /auth/password/reset",
    "GET /auth/providers",
    "GET /auth/oauth/{provider}/start",
    "GET /auth/oauth/{provider}/callback",
    "POST /auth/oauth/exchange",
    "GET /invitations/{token}",
    "POST /invitations/{token}",  # the page's sign-in / sign-up forms
    "GET /openapi.json",
    "GET /verify-email",
    "POST /verify-email",
    "GET /reset-password",
    "POST /reset-password",
    "POST /auth/unlock",
    "GET /unlock",
    "POST /unlock",
}

# Managed policies SAM attaches by itself: logs (basic execution) and X-Ray (Tracing: Active).
EXPECTED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}

_TRANSFORM = r"""
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

class RefusingPolicyLoader:
    def load(self):
        raise RuntimeError("the transform asked IAM for managed policies; name them by ARN instead")

layer_location, parameters = sys.argv[2], json.loads(sys.argv[3])
with open(sys.argv[1], encoding="utf-8") as handle:
    document = yaml_parse(handle.read())
# What `sam package` does: local code directories become S3 locations.
for logical_id, resource in document["Resources"].items():
    properties = resource.get("Properties") or {}
    for key in ("CodeUri", "ContentUri"):
        if isinstance(properties.get(key), str):
            properties[key] = layer_location if key == "ContentUri" and layer_location else f"s3://packaged-artifacts/{logical_id}.zip"
output = transform(document, {"AWS::Region": "us-east-1", **parameters}, RefusingPolicyLoader())
json.dump(output, sys.stdout)
"""


def transform_template(layer_location: str = "", parameters: dict[str, str] | None = None) -> dict[str, Any]:
    """SAM's transform of template.yaml, as `sam deploy` would send it (`layer_location`: the
    layer's packaged address, when a test compares two; `parameters`: overrides)."""
    env = sam_environment()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        env.pop(name, None)
    env |= {"AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSFORM, str(TEMPLATE), layer_location, json.dumps(parameters or {})],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@cache
def transformed() -> dict[str, Any]:
    return transform_template()


def resources(kind: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in transformed()["Resources"].items() if r["Type"] == kind}


def http_api_body() -> dict[str, Any]:
    apis = resources("AWS::ApiGatewayV2::Api")
    assert len(apis) == 1, sorted(apis)
    body: dict[str, Any] = next(iter(apis.values()))["Properties"]["Body"]
    return body


def authorizers() -> dict[str, dict[str, Any]]:
    """Every Lambda authorizer, as an AWS::ApiGatewayV2::Authorizer or inside the API's OpenAPI body."""
    found: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources("AWS::ApiGatewayV2::Authorizer").items():
        props = resource["Properties"]
        found[logical_id] = {
            "identitySource": props.get("IdentitySource"),
            "authorizerResultTtlInSeconds": props.get("AuthorizerResultTtlInSeconds"),
            "enableSimpleResponses": props.get("EnableSimpleResponses"),
            "authorizerPayloadFormatVersion": props.get("AuthorizerPayloadFormatVersion"),
        }
    schemes = http_api_body().get("components", {}).get("securitySchemes", {})
    for name, scheme in schemes.items():
        if "x-amazon-apigateway-authorizer" in scheme:
            found[name] = scheme["x-amazon-apigateway-authorizer"]
    return found


def routes() -> dict[str, list[str]]:
    """Route key -> the security schemes that guard it ([] for none)."""
    found: dict[str, list[str]] = {}
    for path, methods in http_api_body().get("paths", {}).items():
        for method, operation in methods.items():
            if method.startswith("x-"):
                continue
            security = operation.get("security", [])
            found[f"{method.upper()} {path}"] = sorted(name for entry in security for name in entry)
    for resource in resources("AWS::ApiGatewayV2::Route").values():
        props = resource["Properties"]
        found[props["RouteKey"]] = [AUTHORIZER] if props.get("AuthorizationType") == "CUSTOM" else ["NONE"]
    return found


def test_sam_validate_lint_passes_without_warnings():
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(TEMPLATE)],
        cwd=ROOT,
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output, output
    # cfn-lint reports warnings as W<number> (and informational findings as I<number>).
    assert not re.search(r"\b[WEI]\d{4}\b", output), output
    assert "warning" not in output.lower(), output


def test_the_authorizer_is_always_called():
    """No identity source and no cache: API Gateway calls the authorizer for every protected request.

    An identity source would make API Gateway answer a request without the header
    itself (fixed 401 {"message":"Unauthorized"}), and a cache would replay one
    verdict for other requests; the 401 problem documents of API.md need neither.
    """
    found = authorizers()
    assert set(found) == {AUTHORIZER}, found
    config = found[AUTHORIZER]
    assert not config.get("identitySource"), config
    # Explicitly 0: an absent TTL means API Gateway's default cache (300 s).
    assert config.get("authorizerResultTtlInSeconds") == 0, config
    assert config.get("enableSimpleResponses") is True, config
    assert config.get("authorizerPayloadFormatVersion") == "2.0", config
    assert config.get("type") in (None, "request"), config


def test_every_route_but_the_public_ones_goes_through_the_authorizer():
    found = routes()
    assert found, "the HTTP API has no routes"
    for route_key, security in sorted(found.items()):
        if route_key in PUBLIC_ROUTES:
            assert AUTHORIZER not in security, f"{route_key} is public in API.md but guarded: {security}"
        else:
            assert security == [AUTHORIZER], f"{route_key} is not behind {AUTHORIZER}: {security}"


def test_the_local_server_sees_the_same_routes_and_guards():
    """devserver reads template.yaml itself; it must agree with what SAM deploys."""
    api = api_spec()
    local = {route.route_key: route.protected for route in api.routes}
    deployed = {key: security == [AUTHORIZER] for key, security in routes().items()}
    assert local == deployed
    assert api.authorizer is not None
    assert api.authorizer.identity_headers == ()


def test_functions_run_python313_on_arm64_with_the_layer():
    functions = resources("AWS::Lambda::Function")
    layers = resources("AWS::Lambda::LayerVersion")
    assert len(layers) == 1, sorted(layers)
    layer_id, layer = next(iter(layers.items()))
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"]
    assert {"AuthorizerFunction", "SignUpFunction", "LoginFunction", "AccountFunction"} <= set(functions)
    for logical_id, function in functions.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.13", logical_id
        assert props["Architectures"] == ["arm64"], logical_id
        assert {"Ref": layer_id} in props.get("Layers", []), logical_id


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        found = policy["PolicyDocument"]["Statement"]
        statements.extend(found if isinstance(found, list) else [found])
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_each_function_has_its_own_scoped_role():
    roles = resources("AWS::IAM::Role")
    for logical_id, function in resources("AWS::Lambda::Function").items():
        role_ref = function["Properties"]["Role"]
        assert isinstance(role_ref, dict) and "Fn::GetAtt" in role_ref, f"{logical_id} uses a shared/external role"
        role = roles[role_ref["Fn::GetAtt"][0]]
        managed = role["Properties"].get("ManagedPolicyArns", [])
        # The template's own managed policies only deny (see test_iam.py).
        ours = [arn for arn in managed if isinstance(arn, dict)]
        assert {arn for arn in managed if isinstance(arn, str)} <= EXPECTED_MANAGED_POLICIES, (logical_id, managed)
        for reference in ours:
            policy = transformed()["Resources"][reference["Ref"]]
            assert policy["Type"] == "AWS::IAM::ManagedPolicy", (logical_id, reference)
            assert {s["Effect"] for s in _as_list(policy["Properties"]["PolicyDocument"]["Statement"])} == {"Deny"}
        for statement in _statements(role):
            assert statement.get("Effect") == "Allow", (logical_id, statement)
            assert "NotAction" not in statement and "NotResource" not in statement, (logical_id, statement)
            actions = _as_list(statement["Action"])
            assert all(isinstance(a, str) and "*" not in a for a in actions), (logical_id, actions)
            assert "*" not in _as_list(statement["Resource"]), (logical_id, statement)


def test_the_authorizer_cannot_put_or_delete_anything():
    """Its one write, the usage mark, is an UpdateItem under conditions (test_iam.py)."""
    roles = resources("AWS::IAM::Role")
    role_id = resources("AWS::Lambda::Function")["AuthorizerFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    actions = {a for s in _statements(roles[role_id]) for a in _as_list(s["Action"])}
    writes = {
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PartiQLUpdate",
        "dynamodb:PartiQLInsert",
        "dynamodb:PartiQLDelete",
    }
    assert not actions & writes, actions
