"""The OpenAPI document's own shape (issue 15, "The contract, true in every detail"):
readable unique operation ids, one described tag per operation, HTML pages and their
forms as what they are, and the answers every route shares. What each route answers is
checked against the handlers by tests/integration/test_declared_answers.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kuploy_access.http.openapi_docs import HTML, PROBLEM, TAGS, problem_codes, route

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT: dict[str, Any] = json.loads((ROOT / "functions" / "openapi" / "openapi.json").read_text(encoding="utf-8"))
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]
# Routes served by a resolver (every one but the document itself).
RESOLVED = [entry for entry in OPERATIONS if entry[1] != "/openapi.json"]
PAGES = {
    ("GET", "/verify-email"),
    ("POST", "/verify-email"),
    ("GET", "/reset-password"),
    ("POST", "/reset-password"),
    ("GET", "/unlock"),
    ("POST", "/unlock"),
    ("GET", "/invitations/{token}"),
    ("POST", "/invitations/{token}"),
}
FORMS = {(method, path) for method, path in PAGES if method == "POST"}


def response(operation: dict[str, Any], status: str) -> dict[str, Any]:
    found: dict[str, Any] = operation["responses"][status]
    if "$ref" in found:
        found = DOCUMENT["components"]["responses"][found["$ref"].rsplit("/", 1)[-1]]
    return found


def test_operation_ids_are_readable_and_unique() -> None:
    ids = [operation["operationId"] for _, _, operation in OPERATIONS]
    unreadable = [i for i in ids if not re.fullmatch(r"[a-z][a-zA-Z]+", i)]
    assert unreadable == [], "camelCase verb and noun, e.g. createOrganization (operation_id= on the decorator)"
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_each_operation_has_one_tag_and_each_tag_a_description() -> None:
    listed = {tag["name"]: tag.get("description", "") for tag in DOCUMENT["tags"]}
    assert listed == TAGS
    assert all(text for text in listed.values())
    used = {operation["tags"][0] for _, _, operation in OPERATIONS}
    assert all(len(operation["tags"]) == 1 for _, _, operation in OPERATIONS)
    assert used == set(TAGS), "a tag no route uses, or a route whose tag is not described"


def test_an_unknown_tag_is_refused_where_the_route_is_declared() -> None:
    with pytest.raises(ValueError, match="unknown OpenAPI tag"):
        route("pages", "A page", (200, "The page"))


@pytest.mark.parametrize(("method", "path"), sorted(PAGES))
def test_pages_answer_html(method: str, path: str) -> None:
    operation = DOCUMENT["paths"][path][method.lower()]
    assert HTML in response(operation, "200")["content"]
    assert any(
        HTML in response(operation, status).get("content", {}) for status in operation["responses"] if status >= "400"
    ), "a refused link is a page too"


@pytest.mark.parametrize(("method", "path"), sorted(FORMS))
def test_page_forms_take_a_url_encoded_body(method: str, path: str) -> None:
    """Which fields: tests/integration/test_declared_answers.py reads them off the pages."""
    body = DOCUMENT["paths"][path][method.lower()]["requestBody"]
    assert list(body["content"]) == ["application/x-www-form-urlencoded"]
    assert body["content"]["application/x-www-form-urlencoded"]["schema"]["properties"]


def test_only_the_invitation_link_answers_json_or_html() -> None:
    both = {
        (method, path)
        for method, path, operation in OPERATIONS
        if "200" in operation["responses"] and {"application/json", HTML} <= set(response(operation, "200")["content"])
    }
    assert both == {("GET", "/invitations/{token}")}


@pytest.mark.parametrize(("method", "path", "operation"), RESOLVED, ids=[f"{m} {p}" for m, p, _ in RESOLVED])
def test_every_route_declares_what_the_shared_entry_point_answers(method: str, path: str, operation: Any) -> None:
    assert problem_codes(response(operation, "500")) == ["internal_error"]
    if method != "GET":
        assert "validation_error" in problem_codes(response(operation, "400"))
        assert problem_codes(response(operation, "413")) == ["payload_too_large"]
    takes_json = "application/json" in operation.get("requestBody", {}).get("content", {})
    if takes_json:
        assert problem_codes(response(operation, "415")) == ["validation_error"]
    if operation.get("security"):
        assert {"unauthorized", "invalid_token", "token_expired"} <= set(problem_codes(response(operation, "401")))
    if takes_json or operation.get("parameters"):  # what the resolver validates (a form is read by the page)
        assert "validation_error" in problem_codes(response(operation, "422"))
    if "429" in operation["responses"]:
        assert "Retry-After" in response(operation, "429")["headers"]


@pytest.mark.parametrize(("method", "path", "operation"), RESOLVED, ids=[f"{m} {p}" for m, p, _ in RESOLVED])
def test_answers_carry_what_their_status_means(method: str, path: str, operation: Any) -> None:
    for status in operation["responses"]:
        answer = response(operation, status)
        content = answer.get("content", {})
        if status in ("204", "302"):
            assert content == {}, f"{status} has no body"
        if status >= "400" and PROBLEM in content:
            assert problem_codes(answer), "a problem document lists its codes"
        if status >= "400":
            assert set(content) <= {PROBLEM, HTML}, f"{status} answers a problem document or a page"


def test_no_powertools_validation_shape_is_left() -> None:
    text = json.dumps(DOCUMENT)
    assert "HTTPValidationError" not in text and "ResponseValidationError" not in text


def test_organization_routes_declare_what_the_guard_answers() -> None:
    from kuploy_access.domain.permissions import ROUTE_PERMISSIONS

    for key, rule in ROUTE_PERMISSIONS.items():
        method, path = key.split(" ", 1)
        operation = DOCUMENT["paths"][path][method.lower()]
        refusals = set(problem_codes(response(operation, "403")))
        assert "two_factor_required" in refusals, key
        assert ("api_key_not_allowed" in refusals) == rule.user_only, key
        assert problem_codes(response(operation, "404")) == ["not_found"], key
