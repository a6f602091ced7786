"""docs/api.md, the contract in the repository, and the OpenAPI document the service
serves describe the same routes (issue 11, "The contract in the repo").

A route is a table row whose first cell is `METHOD /path` (a query string after the
path is allowed and ignored). Routes under "Not built yet" are part of the contract but
must not be served yet; `/_dev/` routes exist only on the local server and are left out
of both sides."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
OPENAPI = ROOT / "functions" / "openapi" / "openapi.json"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
NOT_BUILT = "Not built yet"
# The console: static files, not API routes (checked against console/ below).
STATIC = "The console's static files"

_LOOKS_LIKE_A_ROUTE = re.compile(rf"`({'|'.join(METHODS)})\b")
_ROUTE = re.compile(rf"`({'|'.join(METHODS)}) (/[^`\s?]*)(?:\?[^`\s]*)?`")

Route = tuple[str, str]


def _local_only(route: Route) -> bool:
    return route[1].startswith("/_dev/")


@cache
def doc_routes() -> tuple[dict[Route, str], list[str]]:
    """Every route row of docs/api.md with the section it is in, and the rows that look
    like routes but do not name exactly one."""
    routes: dict[Route, str] = {}
    unclear: list[str] = []
    section = ""
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("|"):
            continue
        first_cell = line.split("|")[1].strip()
        if not _LOOKS_LIKE_A_ROUTE.match(first_cell):
            continue
        found = _ROUTE.fullmatch(first_cell)
        if found is None:
            unclear.append(line)
            continue
        route = (found.group(1), found.group(2))
        if _local_only(route):
            continue
        # A route listed as not built keeps that mark wherever else it appears.
        if routes.get(route) != NOT_BUILT:
            routes[route] = section
    return routes, unclear


def documented() -> set[Route]:
    return {route for route, section in doc_routes()[0].items() if section not in (NOT_BUILT, STATIC)}


def static_files() -> set[Route]:
    return {route for route, section in doc_routes()[0].items() if section == STATIC}


def not_built() -> set[Route]:
    return {route for route, section in doc_routes()[0].items() if section == NOT_BUILT}


def served() -> set[Route]:
    paths = json.loads(OPENAPI.read_text(encoding="utf-8"))["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method.upper() in METHODS and not _local_only((method.upper(), path))
    }


def _listed(routes: set[Route]) -> str:
    return "\n".join(f"  {method} {path}" for method, path in sorted(routes, key=lambda r: (r[1], r[0])))


def test_every_route_row_names_exactly_one_route():
    """`GET`/`POST /path` or "…/{id}" would leave the check guessing."""
    _, unclear = doc_routes()
    assert unclear == [], "write one route per row:\n" + "\n".join(unclear)


def test_the_contract_and_the_openapi_document_list_the_same_routes():
    built = documented() - not_built()
    missing_from_openapi = built - served()
    missing_from_doc = served() - documented()
    assert not missing_from_openapi, (
        "in docs/api.md but not served (build them, or list them under 'Not built yet'):\n"
        + _listed(missing_from_openapi)
    )
    assert not missing_from_doc, "served but not in docs/api.md:\n" + _listed(missing_from_doc)


def test_routes_not_built_yet_are_contract_routes_that_are_not_served():
    served_already = not_built() & served()
    assert not served_already, "served, so move them out of 'Not built yet':\n" + _listed(served_already)
    rows = DOC.read_text(encoding="utf-8").split(f"## {NOT_BUILT}")[0]
    outside = {route for route in not_built() if f"`{route[0]} {route[1]}" not in rows}
    assert not outside, "listed as not built but not in the contract's tables:\n" + _listed(outside)


def test_the_check_sees_the_routes_it_is_about():
    """Guards the parser: a few routes of each kind are found where they belong."""
    assert {("POST", "/auth/signup"), ("DELETE", "/orgs/{org_id}/databases/{db_id}")} <= documented()
    assert ("GET", "/orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments") in documented()
    assert ("GET", "/") in static_files()
    assert {("GET", "/auth/providers"), ("GET", "/auth/oauth/{provider}/start")} <= documented() - not_built()
    assert ("GET", "/_dev/emails") not in documented() | not_built()
    assert len(served()) > 60


def test_the_static_rows_are_the_console_files_and_no_api_route() -> None:
    from devserver.console_files import is_console_path

    rows = static_files()
    assert rows == {("GET", "/"), ("GET", "/assets/{path}")}
    assert not rows & served()
    assert (ROOT / "console" / "index.html").is_file()
    assert all(is_console_path(path.replace("{path}", "app.js")) for _, path in rows)
