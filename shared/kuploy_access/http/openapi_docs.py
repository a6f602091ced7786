"""What the OpenAPI document says about a route: its tag, summary, who may call it, what
it takes and the answers it gives, success and problem documents.

Everything here is handed to Powertools' route decorators (`tags`, `summary`,
`responses`, `security`, `openapi_extensions`), so each function's resolver describes its
own routes; `tools/generate_openapi.py` merges the resolvers and adds only what a
decorator cannot know (the answers the shared entry point gives on every route).
"""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from kuploy_access.http.params import BEARER

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"
PROBLEM = "application/problem+json"
HTML = "text/html"
FORM = "application/x-www-form-urlencoded"
HTML_SCHEMA: dict[str, Any] = {"type": "string", "description": "An HTML page"}

# One tag per capability, in the order a reader meets them; the document lists them with
# these descriptions, and a test fails on a route whose tag is not here.
TAGS: dict[str, str] = {
    "accounts": "Signing up and confirming the address (with the page behind the emailed link), the signed-in "
    "account's profile, and its own audit trail.",
    "sessions": "Signing in with a password and the second step, re-authenticating for sudo mode, refreshing and "
    "ending sessions, and unlocking password sign-in (with the page behind the emailed link).",
    "passwords": "Forgotten and changed passwords, with the page behind the reset link.",
    "two-factor": "Authenticator apps (TOTP) and recovery codes of the signed-in account.",
    "sign-in providers": "Signing in with GitHub, Google and GitLab, and linking them to an account.",
    "organizations": "Creating, reading, changing and deleting organizations.",
    "members": "An organization's members: roles, removal and leaving, transfer of ownership.",
    "invitations": "Invitations by email: the organization's side, the emailed link and its page, and the "
    "invitee's answers.",
    "api-keys": "Organization API keys for CI pipelines and scripts: create, list, rotate, revoke (docs/ci.md).",
    "audit": "What changed in an organization, and the access review of who and what can act in it.",
    "billing": "An organization's plan.",
    "projects": "Projects of an organization.",
    "applications": "Applications of a project, and their deployments.",
    "databases": "Databases of an organization.",
    "notifications": "Notification channels of an organization (email, webhooks).",
    "meta": "This document.",
}

Codes = tuple[str, ...] | str


class Problems(TypedDict, total=False):
    """The problem documents a route answers, by status: `s403=("forbidden", "not_found")`."""

    s400: Codes
    s401: Codes
    s403: Codes
    s404: Codes
    s409: Codes
    s410: Codes
    s413: Codes
    s415: Codes
    s422: Codes
    s429: Codes


def problem_content(codes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """The `application/problem+json` media type of a problem document whose `code` is
    one of `codes` (listed as an enum, so that clients and the contract tests can read them)."""
    return {
        "schema": {
            "allOf": [
                {"$ref": PROBLEM_SCHEMA_REF},
                {"properties": {"code": {"enum": list(codes)}}},
            ]
        }
    }


def problem_codes(response: dict[str, Any]) -> list[str]:
    """The codes a response object declares for its problem document ([] when it has none)."""
    schema = response.get("content", {}).get(PROBLEM, {}).get("schema", {})
    for part in schema.get("allOf", []):
        enum = part.get("properties", {}).get("code", {}).get("enum")
        if enum is not None:
            return [str(code) for code in enum]
    return []


def problem_doc_schema(*codes: str) -> dict[str, Any]:
    """The OpenAPI response object of a problem document whose `code` is one of `codes`."""
    return {"description": _problem_description(codes), "content": {PROBLEM: problem_content(codes)}}


def _problem_description(codes: list[str] | tuple[str, ...]) -> str:
    return "A problem document; `code` is one of: " + ", ".join(f"`{code}`" for code in codes)


def add_problem(response: dict[str, Any], codes: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """`response` also answering a problem document with `codes` (merged with the codes it
    declares already; a page's HTML answer at the same status stays beside it)."""
    known = problem_codes(response)
    merged = known + [code for code in codes if code not in known]
    content = dict(response.get("content") or {})
    content[PROBLEM] = problem_content(merged)
    other = [part for part in str(response.get("description", "")).split("; or ") if not part.startswith("A problem")]
    return {
        **response,
        "description": "; or ".join([*[part for part in other if part], _problem_description(merged)]),
        "content": content,
    }


def _success(status: int, description: str, html: bool, json_model: type | None) -> dict[str, Any]:
    if status == 204:
        return {"description": description, "content": {}}
    if status == 302:
        return {
            "description": description,
            "headers": {"Location": {"description": "Where the browser goes next", "schema": {"type": "string"}}},
            "content": {},
        }
    if html:
        content: dict[str, Any] = {HTML: {"schema": HTML_SCHEMA}}
        if json_model is not None:
            content = {"application/json": {"model": json_model}, **content}
        return {"description": description, "content": content}
    # The schema comes from the route's return annotation.
    return {"description": description}


def responses(
    success: int,
    description: str,
    /,
    *,
    html: bool = False,
    json_model: type | None = None,
    html_errors: dict[int, str] | None = None,
    **by_status: Unpack[Problems],
) -> dict[int, Any]:
    """A decorator's `responses`: the success answer (its schema comes from the return
    annotation, or it is an HTML page), the pages it answers on a refusal
    (`html_errors={400: "why"}`), and the problem documents, e.g. `s401="invalid_credentials"`."""
    documented: dict[int, Any] = {success: _success(success, description, html, json_model)}
    for status, why in (html_errors or {}).items():
        documented[status] = {
            "description": f"An HTML page saying why: {why}",
            "content": {HTML: {"schema": HTML_SCHEMA}},
        }
    for key, codes in by_status.items():
        listed = (codes,) if isinstance(codes, str) else codes if isinstance(codes, tuple) else ()
        status = int(key.lstrip("s"))
        documented[status] = add_problem(documented.get(status, {"description": ""}), listed)
    return documented


def form_body(*fields: str, required: tuple[str, ...] = ()) -> dict[str, Any]:
    """`openapi_extensions` declaring an HTML form's body.

    The page routes read their form with `http.deps.FormFields` rather than Powertools'
    `Form()` parameters, so that any input gets a page (a missing field is a page saying
    so, not a 422 document); Powertools therefore sees no body, and the operation's
    `requestBody` is set here, through the decorator's `openapi_extensions`, which
    Powertools copies onto the operation.
    """
    schema: dict[str, Any] = {"type": "object", "properties": {name: {"type": "string"} for name in fields}}
    if required:
        schema["required"] = list(required)
    return {"requestBody": {"required": bool(required), "content": {FORM: {"schema": schema}}}}


def route(
    tag: str,
    summary: str,
    answer: tuple[int, str],
    /,
    *,
    description: str | None = None,
    signed_in: bool = True,
    html: bool = False,
    json_model: type | None = None,
    html_errors: dict[int, str] | None = None,
    form: dict[str, Any] | None = None,
    **problems: Unpack[Problems],
) -> dict[str, Any]:
    """A route decorator's documentation in one call, e.g.
    `@app.get("/orgs/<org_id>", operation_id="getOrganization", **route("organizations", "An organization",
    (200, "The organization")))`.

    `signed_in`: the route needs a bearer token or API key (the authorizer's routes);
    `html`: the success answer is an HTML page (`json_model`: or that JSON, by `Accept`);
    `html_errors`: statuses answered with an HTML page saying why; `form`: the body of an
    HTML form (`form_body(...)`); `problems`: `s<status>=code(s)`, as `responses` takes them.
    """
    if tag not in TAGS:
        raise ValueError(f"unknown OpenAPI tag {tag!r}: add it to openapi_docs.TAGS with a description")
    documentation: dict[str, Any] = {
        "tags": [tag],
        "summary": summary,
        "responses": responses(*answer, html=html, json_model=json_model, html_errors=html_errors, **problems),
    }
    if signed_in:
        documentation["security"] = BEARER
    if description is not None:
        documentation["description"] = description
    if form is not None:
        documentation["openapi_extensions"] = form
    return documentation
