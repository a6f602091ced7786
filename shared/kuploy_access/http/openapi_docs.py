"""What the OpenAPI document says about a route: its tag, summary, who may call it, and
the answers it gives, success and problem documents."""

from __future__ import annotations

from typing import Any, TypedDict, Unpack

from kuploy_access.http.params import BEARER

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"

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
    s422: Codes
    s429: Codes


def problem_doc_schema(*codes: str) -> dict[str, Any]:
    """The OpenAPI response object of a problem document whose `code` is one of `codes`."""
    return {
        "description": "Problem document; `code` is one of: " + ", ".join(f"`{c}`" for c in codes),
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }


def responses(success: int, description: str, /, **by_status: Unpack[Problems]) -> dict[int, Any]:
    """A decorator's `responses`: the success answer (its schema comes from the return
    annotation) and the problem documents, e.g. `s401="invalid_credentials"`."""
    documented: dict[int, Any] = {success: {"description": description}}
    for key, codes in by_status.items():
        listed = (codes,) if isinstance(codes, str) else codes if isinstance(codes, tuple) else ()
        documented[int(key.lstrip("s"))] = problem_doc_schema(*listed)
    return documented


def route(
    tag: str,
    summary: str,
    answer: tuple[int, str],
    /,
    *,
    description: str | None = None,
    signed_in: bool = True,
    **problems: Unpack[Problems],
) -> dict[str, Any]:
    """A route decorator's documentation in one call, e.g.
    `@app.get("/orgs/<org_id>", **route("organizations", "An organization", (200, "The organization")))`.

    `signed_in`: the route needs a bearer token or API key (the authorizer's routes);
    `problems`: `s<status>=code(s)`, as `responses` takes them.
    """
    documentation: dict[str, Any] = {"tags": [tag], "summary": summary, "responses": responses(*answer, **problems)}
    if signed_in:
        documentation["security"] = BEARER
    if description is not None:
        documentation["description"] = description
    return documentation
