"""The console's hosting in template.yaml: a private bucket behind CloudFront, on the same
site as the API, with the headers the local server sends (CONSOLE_HEADERS).

Routing is checked the way CloudFront routes: the first cache behaviour whose path
pattern matches (in order; `*` any characters, `/` included, `?` one), else the
default. Every route of the HTTP API must reach the API, and the console's files the
bucket, so a new route under a new prefix fails here until the distribution names it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import pytest

from devserver.template import api_spec, load_template
from kuploy_access.config import EDGE_ORIGIN_SECRET
from kuploy_access.domain.client_address import EDGE_HEADER, VIEWER_ADDRESS_HEADER
from kuploy_access.http.console_headers import CONSOLE_HEADERS

CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
EDGE_SECRET_REFERENCE = {"Fn::Sub": "{{resolve:secretsmanager:${EdgeOriginSecret}:SecretString}}"}
VIEWER_ADDRESS_ASSOCIATION = {
    "EventType": "viewer-request",
    "FunctionARN": {"Fn::GetAtt": ["ViewerAddressFunction", "FunctionARN"]},
}
DISTRIBUTION_ARN = "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${ConsoleDistribution}"
ALL_METHODS = {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}

CONSOLE_PATHS = [
    "/",
    "/index.html",
    "/assets/app.js",
    "/assets/console.css",
    "/assets/lib/api.js",
    "/assets/pages/team.js",
    "/favicon.ico",
]


@cache
def template() -> dict[str, Any]:
    return load_template()


def resource(logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = template()["Resources"][logical_id]
    return found


def distribution() -> dict[str, Any]:
    config: dict[str, Any] = resource("ConsoleDistribution")["Properties"]["DistributionConfig"]
    return config


def origins() -> dict[str, dict[str, Any]]:
    return {origin["Id"]: origin for origin in distribution()["Origins"]}


def origin_kind(origin_id: str) -> str:
    """'bucket' or 'api', from what the origin points at (not from its name)."""
    origin = origins()[origin_id]
    if origin["DomainName"] == {"Fn::GetAtt": ["ConsoleBucket", "RegionalDomainName"]}:
        return "bucket"
    if origin["DomainName"] == {"Fn::Sub": "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}:
        return "api"
    raise AssertionError(f"origin {origin_id} points at {origin['DomainName']}")


def _pattern(path_pattern: str) -> re.Pattern[str]:
    """CloudFront's path patterns: case-sensitive, `*` any run of characters, `?` one."""
    translated = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in path_pattern)
    return re.compile(translated)


def behaviour_for(path: str) -> dict[str, Any]:
    """The behaviour CloudFront applies to a request for `path`."""
    for behaviour in distribution().get("CacheBehaviors", []):
        if _pattern(behaviour["PathPattern"]).fullmatch(path):
            found: dict[str, Any] = behaviour
            return found
    default: dict[str, Any] = distribution()["DefaultCacheBehavior"]
    return default


def sample_path(route_path: str) -> str:
    """A request path for a route: each {parameter} becomes a value."""
    return re.sub(r"\{[^}]+\}", "k_1-x", route_path)


ROUTES = sorted({route.path for route in api_spec().routes})


def test_the_template_declares_routes():
    assert len(ROUTES) > 40, ROUTES


@pytest.mark.parametrize("route_path", ROUTES)
def test_every_route_of_the_api_reaches_the_api_through_one_behaviour(route_path: str):
    path = sample_path(route_path)
    matching = [b for b in distribution()["CacheBehaviors"] if _pattern(b["PathPattern"]).fullmatch(path)]
    assert len(matching) == 1, (route_path, [b["PathPattern"] for b in matching])
    assert behaviour_for(path) is matching[0]
    assert origin_kind(matching[0]["TargetOriginId"]) == "api", route_path


@pytest.mark.parametrize("path", CONSOLE_PATHS)
def test_the_console_files_come_from_the_bucket(path: str):
    behaviour = behaviour_for(path)
    assert behaviour is distribution()["DefaultCacheBehavior"], (path, behaviour.get("PathPattern"))
    assert origin_kind(behaviour["TargetOriginId"]) == "bucket"


def test_every_api_behaviour_serves_some_route():
    """No behaviour takes paths away from the console without a route behind it."""
    samples = [sample_path(path) for path in ROUTES]
    for behaviour in distribution()["CacheBehaviors"]:
        pattern = _pattern(behaviour["PathPattern"])
        assert any(pattern.fullmatch(path) for path in samples), behaviour["PathPattern"]


def test_the_api_behaviours_forward_everything_and_cache_nothing():
    for behaviour in distribution()["CacheBehaviors"]:
        where = behaviour["PathPattern"]
        assert origin_kind(behaviour["TargetOriginId"]) == "api", where
        assert set(behaviour["AllowedMethods"]) == ALL_METHODS, where
        assert behaviour["CachePolicyId"] == CACHING_DISABLED, where
        # Every header but Host: API Gateway answers only for its own name.
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER, where
        assert behaviour["ViewerProtocolPolicy"] == "https-only", where
        # The API's answers keep their own headers.
        assert "ResponseHeadersPolicyId" not in behaviour, where
        assert not {"ForwardedValues", "LambdaFunctionAssociations"} & set(behaviour), where
        # Only the viewer's address is written on the way in.
        assert behaviour["FunctionAssociations"] == [VIEWER_ADDRESS_ASSOCIATION], where


def test_the_api_origin_is_the_http_api_over_https():
    api = [origin for origin in origins().values() if origin_kind(origin["Id"]) == "api"]
    assert len(api) == 1
    config = api[0]["CustomOriginConfig"]
    assert config["OriginProtocolPolicy"] == "https-only"
    assert config["OriginSSLProtocols"] == ["TLSv1.2"]
    assert "OriginPath" not in api[0]  # the $default stage: the routes at the root


# --- the client's address behind the edge (domain.client_address) ---------------------


def test_the_api_origin_vouches_for_its_requests_with_the_edge_secret():
    (api,) = [origin for origin in origins().values() if origin_kind(origin["Id"]) == "api"]
    (header,) = api["OriginCustomHeaders"]
    assert header["HeaderName"].lower() == EDGE_HEADER
    assert header["HeaderValue"] == EDGE_SECRET_REFERENCE
    # The bucket is not told the secret.
    (bucket,) = [origin for origin in origins().values() if origin_kind(origin["Id"]) == "bucket"]
    assert "OriginCustomHeaders" not in bucket


def test_the_edge_secret_is_generated_and_not_written_anywhere():
    secret = resource("EdgeOriginSecret")
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    generated = secret["Properties"]["GenerateSecretString"]
    assert generated["PasswordLength"] >= 48
    # It travels in a header: letters and digits only.
    assert generated["ExcludePunctuation"] is True
    assert "SecretString" not in secret["Properties"]
    # Kept or deleted with the stack like the other generated secrets.
    for other in ("SigningKeySecret", "TotpKeySecret"):
        assert secret.get("DeletionPolicy") == resource(other).get("DeletionPolicy")
        assert secret.get("UpdateReplacePolicy") == resource(other).get("UpdateReplacePolicy")


def test_every_function_knows_the_edge_secret_the_distribution_sends():
    """The same secret on both sides, through Globals: the authorizer and every handler
    that reads a client address."""
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables[EDGE_ORIGIN_SECRET] == EDGE_SECRET_REFERENCE


def test_the_viewer_s_address_is_written_by_cloudfront_on_every_api_request():
    function = resource("ViewerAddressFunction")["Properties"]
    assert function["AutoPublish"] is True
    assert function["FunctionConfig"]["Runtime"] == "cloudfront-js-2.0"
    code = " ".join(function["FunctionCode"].split())
    # The address CloudFront saw the viewer connect from, set (not appended): any value
    # a viewer sent under that name is gone.
    assert f"request.headers['{VIEWER_ADDRESS_HEADER}'] = {{ value: event.viewer.ip }};" in code
    assert code.count("request.headers[") == 1
    for behaviour in distribution()["CacheBehaviors"]:
        assert VIEWER_ADDRESS_ASSOCIATION in behaviour["FunctionAssociations"], behaviour["PathPattern"]
    assert "FunctionAssociations" not in distribution()["DefaultCacheBehavior"]


def test_host_stays_at_the_edge_while_the_viewer_s_headers_reach_the_api():
    """AllViewerExceptHostHeader (headers: allExcept Host): every viewer header, the
    function's included, but not Host, for which API Gateway would answer 403. No
    policy of this template's own takes its place."""
    for behaviour in distribution()["CacheBehaviors"]:
        assert behaviour["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER, behaviour["PathPattern"]
    kinds = {r["Type"] for r in template()["Resources"].values()}
    assert "AWS::CloudFront::OriginRequestPolicy" not in kinds


def test_the_console_behaviour():
    default = distribution()["DefaultCacheBehavior"]
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert set(default["AllowedMethods"]) == {"GET", "HEAD"}
    assert default["CachePolicyId"] == CACHING_OPTIMIZED
    assert default["ResponseHeadersPolicyId"] == {"Ref": "ConsoleHeadersPolicy"}
    assert default["Compress"] is True
    assert distribution()["DefaultRootObject"] == "index.html"


def test_no_custom_error_page_replaces_the_api_s_problem_documents():
    assert "CustomErrorResponses" not in distribution()


def test_the_distribution_speaks_http2_and_3_and_modern_tls_on_a_custom_domain():
    config = distribution()
    assert config["HttpVersion"] == "http2and3"
    assert config["Enabled"] is True
    condition, custom, default = config["ViewerCertificate"]["Fn::If"]
    assert condition == "HasConsoleDomain"
    assert custom == {
        "AcmCertificateArn": {"Ref": "ConsoleCertificateArn"},
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert default == {"CloudFrontDefaultCertificate": True}
    assert config["Aliases"] == {
        "Fn::If": ["HasConsoleDomain", [{"Ref": "ConsoleDomainName"}], {"Ref": "AWS::NoValue"}]
    }


def test_the_custom_domain_needs_both_parameters():
    parameters = template()["Parameters"]
    assert parameters["ConsoleDomainName"]["Default"] == ""
    assert parameters["ConsoleCertificateArn"]["Default"] == ""
    pattern = re.compile(parameters["ConsoleCertificateArn"]["AllowedPattern"])
    assert pattern.fullmatch("")
    assert pattern.fullmatch("arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-123456789abc")
    # CloudFront takes certificates from us-east-1 only.
    assert not pattern.fullmatch("arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-123456789abc")
    condition = template()["Conditions"]["HasConsoleDomain"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleDomainName"}, ""]}]} in condition
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "ConsoleCertificateArn"}, ""]}]} in condition
    assert "ConsoleDomainAndCertificateTogether" in template()["Rules"]


def served_headers(policy: dict[str, Any]) -> dict[str, str]:
    """The headers a response-headers policy adds, as CloudFront writes them."""
    config = policy["Properties"]["ResponseHeadersPolicyConfig"]
    security = config["SecurityHeadersConfig"]
    headers: dict[str, str] = {}
    csp = security.pop("ContentSecurityPolicy", None)
    if csp:
        assert csp["Override"] is True
        headers["Content-Security-Policy"] = csp["ContentSecurityPolicy"]
    hsts = security.pop("StrictTransportSecurity", None)
    if hsts:
        assert hsts["Override"] is True
        value = f"max-age={hsts['AccessControlMaxAgeSec']}"
        value += "; includeSubDomains" if hsts.get("IncludeSubdomains") else ""
        value += "; preload" if hsts.get("Preload") else ""
        headers["Strict-Transport-Security"] = value
    nosniff = security.pop("ContentTypeOptions", None)
    if nosniff:
        assert nosniff["Override"] is True
        headers["X-Content-Type-Options"] = "nosniff"
    frames = security.pop("FrameOptions", None)
    if frames:
        assert frames["Override"] is True
        headers["X-Frame-Options"] = frames["FrameOption"]
    referrer = security.pop("ReferrerPolicy", None)
    if referrer:
        assert referrer["Override"] is True
        headers["Referrer-Policy"] = referrer["ReferrerPolicy"]
    assert security == {}, f"a security header this test does not render: {security}"
    for item in config.get("CustomHeadersConfig", {}).get("Items", []):
        assert item["Override"] is True, item
        headers[item["Header"]] = item["Value"]
    return headers


def test_the_console_answers_with_console_headers():
    policy = load_template()["Resources"]["ConsoleHeadersPolicy"]  # a copy: served_headers consumes it
    assert served_headers(policy) == CONSOLE_HEADERS


def test_the_csp_allows_no_inline_script_or_style():
    csp = CONSOLE_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_the_bucket_is_private_encrypted_and_versioned():
    bucket = resource("ConsoleBucket")
    props = bucket["Properties"]
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "AccessControl" not in props and "WebsiteConfiguration" not in props
    # Rebuilt from git by publish-console: deleted with the stack, never left behind.
    assert bucket["DeletionPolicy"] == "Delete"
    assert bucket["UpdateReplacePolicy"] == "Delete"


def test_only_the_distribution_may_read_the_bucket():
    policy = resource("ConsoleBucketPolicy")["Properties"]
    assert policy["Bucket"] == {"Ref": "ConsoleBucket"}
    statements = policy["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "OnlyTheConsoleDistributionReads",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": {"Fn::Sub": "${ConsoleBucket.Arn}/*"},
            "Condition": {"StringEquals": {"AWS:SourceArn": {"Fn::Sub": DISTRIBUTION_ARN}}},
        }
    ]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Action"] == "s3:*"


def test_cloudfront_signs_its_requests_to_the_bucket():
    config = resource("ConsoleOriginAccessControl")["Properties"]["OriginAccessControlConfig"]
    assert config["OriginAccessControlOriginType"] == "s3"
    assert config["SigningProtocol"] == "sigv4"
    assert config["SigningBehavior"] == "always"
    (bucket_origin,) = [origin for origin in origins().values() if origin_kind(origin["Id"]) == "bucket"]
    assert bucket_origin["OriginAccessControlId"] == {"Fn::GetAtt": ["ConsoleOriginAccessControl", "Id"]}
    # No legacy origin access identity alongside.
    assert bucket_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}


def test_the_outputs_publish_console_reads():
    outputs = template()["Outputs"]
    assert outputs["ConsoleBucketName"]["Value"] == {"Ref": "ConsoleBucket"}
    assert outputs["ConsoleDistributionId"]["Value"] == {"Ref": "ConsoleDistribution"}
    assert outputs["ConsoleUrl"]["Value"] == {
        "Fn::If": [
            "HasConsoleDomain",
            {"Fn::Sub": "https://${ConsoleDomainName}"},
            {"Fn::Sub": "https://${ConsoleDistribution.DomainName}"},
        ]
    }
