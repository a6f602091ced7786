"""The local gateway's events: API Gateway HTTP API payload format 2.0 and the REQUEST
authorizer's event, field by field (AWS's documented shapes), and read back through
Powertools' public data class as the handlers read them."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from devserver.events import LambdaContext, authorizer_event, build_event
from devserver.template import FunctionSpec, RouteSpec

FUNCTION = FunctionSpec(logical_id="OrgsFunction", code_dir=Path("functions/organizations"), module="app", handler="h")
ROUTE = RouteSpec(method="POST", path="/orgs/{org_id}/members", function=FUNCTION, protected=True)


def _event(
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    raw_query: str = "",
    path_parameters: dict[str, str] | None = None,
    path: str = "/orgs/org_1/members",
) -> dict[str, Any]:
    sent = headers if headers is not None else [("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8")]
    return build_event(
        ROUTE,
        "POST",
        path,
        raw_query,
        sent,
        body,
        "203.0.113.7",
        {"org_id": "org_1"} if path_parameters is None else path_parameters,
    )


def test_the_top_level_fields():
    event = _event(raw_query="a=1&b=x%20y")
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /orgs/{org_id}/members"
    assert event["rawPath"] == "/orgs/org_1/members"
    assert event["rawQueryString"] == "a=1&b=x%20y"
    assert event["pathParameters"] == {"org_id": "org_1"}
    assert event["isBase64Encoded"] is False


def test_the_request_context():
    before = int(time.time() * 1000)
    context = _event()["requestContext"]
    after = int(time.time() * 1000)
    assert context["http"] == {
        "method": "POST",
        "path": "/orgs/org_1/members",
        "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.7",
        "userAgent": "curl/8",
    }
    assert context["routeKey"] == "POST /orgs/{org_id}/members"
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "local"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["domainPrefix"] == "127"
    assert before <= context["timeEpoch"] <= after
    stamped = datetime.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000").replace(tzinfo=UTC)
    assert abs(stamped.timestamp() * 1000 - context["timeEpoch"]) < 2000
    assert context["requestId"] != _event()["requestContext"]["requestId"]


def test_without_a_host_or_user_agent():
    context = _event(headers=[])["requestContext"]
    assert (context["domainName"], context["domainPrefix"], context["http"]["userAgent"]) == (
        "localhost",
        "localhost",
        "",
    )


def test_header_names_are_lower_case_and_repeated_headers_are_joined_by_commas():
    event = _event(headers=[("X-Forwarded-For", "198.51.100.1"), ("Accept", "text/html"), ("accept", "*/*")])
    assert event["headers"] == {"x-forwarded-for": "198.51.100.1", "accept": "text/html,*/*"}


def test_cookies_leave_the_headers_for_their_own_list():
    event = _event(headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3;"), ("Accept", "*/*")])
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["headers"] == {"accept": "*/*"}


def test_query_string_parameters_are_decoded_with_repeats_joined_and_blanks_kept():
    event = _event(raw_query="a=1&b=x%20y&a=2&empty=&plus=c+d")
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y", "empty": "", "plus": "c d"}
    assert event["rawQueryString"] == "a=1&b=x%20y&a=2&empty=&plus=c+d"


def test_empty_parts_are_left_out_as_api_gateway_does():
    event = _event(path_parameters={})
    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in event, absent
    assert event["isBase64Encoded"] is False


def test_a_text_body_arrives_as_text():
    for content_type, body in [
        ("application/json", b'{"name": "\xc3\xa9"}'),
        ("application/json; charset=utf-8", b"[]"),
        ("text/plain", b"hello"),
        ("application/x-www-form-urlencoded", b"token=abc&password=x"),
    ]:
        event = _event(headers=[("Content-Type", content_type)], body=body)
        assert (event["body"], event["isBase64Encoded"]) == (body.decode("utf-8"), False), content_type


def test_other_bodies_arrive_base64_encoded():
    for content_type, body in [
        ("image/png", b"\x89PNG\r\n"),
        ("application/octet-stream", b"plain enough"),
        ("", b'{"no": "type"}'),
        ("application/json", b"\xff\xfe not UTF-8"),
    ]:
        headers = [("Content-Type", content_type)] if content_type else []
        event = _event(headers=headers, body=body)
        assert event["isBase64Encoded"] is True, content_type
        assert base64.b64decode(event["body"]) == body


def test_powertools_reads_the_event_as_the_handlers_do():
    headers = [("Content-Type", "application/json"), ("Cookie", "a=1"), ("X-Caller", "me"), ("User-Agent", "t")]
    event = APIGatewayProxyEventV2(_event(headers=headers, body=b'{"role": "admin"}', raw_query="q=1"))
    assert event.http_method == "POST"
    assert event.path == "/orgs/org_1/members"
    assert event.route_key == "POST /orgs/{org_id}/members"
    assert event.cookies == ["a=1"]
    assert event.headers["x-caller"] == "me"
    assert event.query_string_parameters == {"q": "1"}
    assert event.path_parameters == {"org_id": "org_1"}
    assert event.json_body == {"role": "admin"}
    assert event.request_context.http.source_ip == "203.0.113.7"
    assert event.request_context.http.user_agent == "t"
    assert event.request_context.stage == "$default"


def test_the_authorizer_event():
    event = _event(headers=[("Authorization", "Bearer x"), ("Cookie", "a=1")], raw_query="q=1")
    request = authorizer_event(event, ["Bearer x"])
    assert request["version"] == "2.0"
    assert request["type"] == "REQUEST"
    assert request["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/$default/POST/orgs/{org_id}/members"
    assert request["identitySource"] == ["Bearer x"]
    for same in ("routeKey", "rawPath", "rawQueryString", "headers", "requestContext", "cookies"):
        assert request[same] == event[same], same
    assert request["queryStringParameters"] == {"q": "1"}
    assert request["pathParameters"] == {"org_id": "org_1"}
    assert "body" not in request
    # Copies: what the authorizer does to its event does not reach the function's.
    request["headers"]["authorization"] = "changed"
    request["requestContext"]["stage"] = "changed"
    assert (event["headers"]["authorization"], event["requestContext"]["stage"]) == ("Bearer x", "$default")


def test_the_authorizer_event_leaves_out_what_the_request_has_not():
    request = authorizer_event(_event(path_parameters={}), [])
    assert request["identitySource"] == []
    for absent in ("cookies", "queryStringParameters", "pathParameters"):
        assert absent not in request


def test_the_lambda_context():
    context = LambdaContext("AccountFunction")
    assert context.function_name == "AccountFunction"
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:AccountFunction"
    assert context.get_remaining_time_in_millis() > 0
    assert context.aws_request_id != LambdaContext("AccountFunction").aws_request_id
