"""The HTTP API's routes, from template.yaml: which function answers a method and path."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from devserver.template import RouteSpec


@dataclass(frozen=True)
class RouteMatch:
    route: RouteSpec
    path_parameters: dict[str, str]


def path_pattern(path: str) -> re.Pattern[str]:
    """`/orgs/{org_id}` matches one segment per `{name}`; `{name+}` takes the rest of the path."""
    parts = []
    for segment in path.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        plain = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy.group(1)}>.+)")
        elif plain:
            parts.append(f"(?P<{plain.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


@dataclass(frozen=True)
class _CompiledRoute:
    spec: RouteSpec
    pattern: re.Pattern[str]
    literal_segments: int


class RouteTable:
    def __init__(self, routes: Iterable[RouteSpec]) -> None:
        compiled = [
            _CompiledRoute(route, path_pattern(route.path), sum("{" not in s for s in route.path.split("/")))
            for route in routes
        ]
        # API Gateway prefers the most specific route: more literal segments first
        # (a stable sort: among equals, the template's order).
        self._routes = sorted(compiled, key=lambda r: -r.literal_segments)

    def match(self, method: str, path: str) -> RouteMatch | None:
        for route in self._routes:
            if route.spec.method not in (method, "ANY"):
                continue
            found = route.pattern.match(path)
            if found:
                return RouteMatch(route.spec, found.groupdict())
        return None
