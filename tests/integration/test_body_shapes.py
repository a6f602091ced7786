"""Every route that takes a body refuses one that is not a JSON object: 400
validation_error, and nothing changes. The routes come from the OpenAPI document, so a
new route is covered the day it is published.

The caller is a signed-in owner of a real organization, so that on the old code these
requests went past the authorizer and the permission check and reached the route's own
body handling (which took `[{...}]` as its first element and `null` as no body).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration import org_support, support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import assert_problem

OPENAPI = Path(__file__).resolve().parents[2] / "functions" / "openapi" / "openapi.json"

NOT_OBJECTS = [
    b'[{"email": "ada@example.com", "password": "a sturdy passphrase"}]',
    b'[{"name": "Analytical Engines"}]',
    b"[]",
    b'"x"',
    b'"{\\"name\\": \\"x\\"}"',
    b"1",
    b"-1.5",
    b"null",
    b"true",
    b"false",
]


def routes_with_a_body() -> list[tuple[str, str]]:
    document = json.loads(OPENAPI.read_text())
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "requestBody" in operation
    ]


def test_the_walk_covers_the_routes_that_take_a_body():
    routes = routes_with_a_body()
    assert len(routes) >= 29, routes
    assert ("POST", "/auth/signup") in routes
    assert ("POST", "/orgs/{org_id}/notification-channels") in routes


def test_every_route_refuses_a_body_that_is_not_a_json_object(aws, cheap_password_hashing):
    client = GatewayClient(aws)
    _, token = org_support.new_user(client, "owner@example.com")
    org_id = org_support.create_org(client, token)
    before = sorted(support.scan(), key=lambda item: (item["pk"], item["sk"]))
    emails_before = len(aws.all())

    wrong: list[tuple[str, str, bytes, int, Any]] = []
    for method, template in routes_with_a_body():
        path = template.replace("{org_id}", org_id)
        path = re.sub(r"\{[a-z_]+\}", lambda m: quote(m.group(0).strip("{}") + "_00000000000000000000000000"), path)
        for raw in NOT_OBJECTS:
            answer = client.request(method, path, raw=raw, token=token)
            try:
                problem = assert_problem(answer, 400, "validation_error")
                assert problem["detail"] == "The body must be a JSON object", problem
            except AssertionError:
                wrong.append((method, template, raw, answer.status, answer.text[:120]))
    assert wrong == [], "\n".join(map(repr, wrong))

    after = sorted(support.scan(), key=lambda item: (item["pk"], item["sk"]))
    assert after == before
    assert aws.all()[emails_before:] == []


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/verify-email", "token=nope"),
        ("/reset-password", "token=nope&password=a+sturdy+passphrase"),
        ("/invitations/nope", "email=ada%40example.com&password=a+sturdy+passphrase&action=accept"),
        ("/unlock", "token=nope"),
    ],
)
def test_form_posts_of_the_pages_still_reach_their_page(aws, path, form):
    """The pages behind emailed links post HTML forms: those are not JSON and must
    still get the page's own HTML answer (here: the link is not valid)."""
    answer = GatewayClient(aws).request(
        "POST", path, raw=form.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("text/html"), answer.headers


@pytest.mark.parametrize("raw", [b'[{"email": "ada@example.com", "password": "a sturdy passphrase"}]', b"null", b"1"])
def test_a_body_without_a_declared_type_is_checked_too(aws, raw):
    """API Gateway base64-encodes a body that declares no type; it is read as JSON all the
    same, so it must meet the same check."""
    client = GatewayClient(aws)
    answer = client.request("POST", "/auth/signup", raw=raw, headers={"Content-Type": ""})
    problem = assert_problem(answer, 400, "validation_error")
    assert problem["detail"] == "The body must be a JSON object"
    assert support.scan() == []
