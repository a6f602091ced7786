"""What the OpenAPI document declares each operation answers, and a check of an actual
answer against it: its status, its media type, and for a problem document its `code`.

A `GatewayClient` given a `DeclaredAnswers` (`client.contract = declared_answers()`) checks
every answer it receives and fails the test at the first one the document does not
declare, naming the route, the status and the code; it also records what it saw, so a
sweep can tell which answers it provoked.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from kuploy_access.http.openapi_docs import PROBLEM, problem_codes

OPENAPI = Path(__file__).resolve().parents[2] / "functions" / "openapi" / "openapi.json"
# Answers without a body carry no media type to check.
BODILESS = {204, 302, 304}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # the operation's path template, `/orgs/{org_id}`
    status: int
    media_type: str
    code: str  # a problem document's `code`, else ""


@dataclass
class DeclaredAnswers:
    document: dict[str, Any]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._operations: list[tuple[str, re.Pattern[str], str, dict[str, Any]]] = []
        for template, operations in self.document["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$")
            for method, operation in operations.items():
                self._operations.append((method.upper(), pattern, template, operation))
        # A path with fewer parameters wins, as API Gateway prefers the more specific route.
        self._operations.sort(key=lambda entry: entry[2].count("{"))

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for declared_method, pattern, template, operation in self._operations:
            if declared_method == method.upper() and pattern.match(path):
                return template, operation
        return None

    def response(self, operation: dict[str, Any], status: int) -> dict[str, Any] | None:
        answer: dict[str, Any] | None = operation["responses"].get(str(status))
        if answer is not None and "$ref" in answer:
            answer = self.document["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
        return answer

    def check(self, method: str, path: str, status: int, headers: dict[str, str], body: bytes) -> None:
        """Raise AssertionError when the document does not declare this answer. Paths no
        operation serves (API Gateway's own 404, the console's files, `/_dev/`) pass."""
        found = self.operation(method, path)
        if found is None:
            return
        template, operation = found
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        code = _problem_code(body) if media_type == PROBLEM else ""
        self.seen.append(Seen(method.upper(), template, status, media_type, code))
        where = f"{method.upper()} {template} answered {status} {media_type} {code}".rstrip()
        declared = self.response(operation, status)
        assert declared is not None, f"{where}: status not declared in openapi.json ({body[:300]!r})"
        if status in BODILESS or not body:
            return
        content = declared.get("content", {})
        assert media_type in content, f"{where}: declared as {sorted(content)}"
        if media_type == PROBLEM:
            assert code in problem_codes(declared), f"{where}: code not among {problem_codes(declared)}"

    def statuses(self, method: str, template: str) -> set[int]:
        return {seen.status for seen in self.seen if (seen.method, seen.path) == (method.upper(), template)}


def _problem_code(body: bytes) -> str:
    try:
        return str(json.loads(body).get("code", ""))
    except (ValueError, AttributeError):
        return ""


@cache
def _document() -> str:
    return OPENAPI.read_text(encoding="utf-8")


def declared_answers() -> DeclaredAnswers:
    """A fresh checker (its own record of what it saw) over the committed document, which
    `tools.generate_openapi --check` keeps equal to what the handlers describe."""
    return DeclaredAnswers(json.loads(_document()))
