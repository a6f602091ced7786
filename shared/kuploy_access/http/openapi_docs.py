"""OpenAPI descriptions of the problem documents a route can answer."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def problem_doc_schema(*codes: str) -> dict[str, Any]:
    """The OpenAPI response object of a problem document whose `code` is one of `codes`."""
    return {
        "description": "Problem document; `code` is one of: " + ", ".join(f"`{c}`" for c in codes),
        "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_SCHEMA_REF}}},
    }


def responses(success: int, description: str, **by_status: tuple[str, ...] | str) -> dict[int, Any]:
    """A decorator's `responses`: the success answer (its schema comes from the return
    annotation) and the problem documents, e.g. `s401="invalid_credentials"`."""
    documented: dict[int, Any] = {success: {"description": description}}
    for key, codes in by_status.items():
        documented[int(key.lstrip("s"))] = problem_doc_schema(*((codes,) if isinstance(codes, str) else codes))
    return documented
