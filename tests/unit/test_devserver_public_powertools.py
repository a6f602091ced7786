"""The local server uses only Powertools' public interface, so an upgrade of Powertools
cannot silently break it: no private name imported from aws_lambda_powertools, no
`._name` reached through anything that came from it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DEVSERVER = Path(__file__).resolve().parents[2] / "devserver"
POWERTOOLS = "aws_lambda_powertools"
ATTRIBUTE_FUNCTIONS = {"getattr", "setattr", "hasattr", "delattr"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node: ast.AST) -> str | None:
    """The name an expression starts from: `a` in `a.b().c[0].d`."""
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript | ast.Starred):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _targets(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Tuple | ast.List):
        return [name for element in node.elts for name in _targets(element)]
    return []


def private_powertools_uses(source: str) -> list[str]:
    """Each place `source` imports a private Powertools name or reaches into a private
    attribute of something that came from Powertools (names bound by its imports, and
    names assigned from or annotated with those)."""
    tree = ast.parse(source)
    found: list[str] = []
    tainted: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == POWERTOOLS:
                    tainted.add(alias.asname or parts[0])
                    found.extend(f"line {node.lineno}: import {alias.name}" for part in parts if _private(part))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == POWERTOOLS:
            module = node.module or ""
            if any(_private(part) for part in module.split(".")):
                found.append(f"line {node.lineno}: from {module} import ...")
            for alias in node.names:
                tainted.add(alias.asname or alias.name)
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {module} import {alias.name}")

    # What is assigned from, or annotated as, a Powertools name comes from Powertools too.
    while True:
        before = len(tainted)
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and _root(node.value) in tainted:
                tainted.update(name for target in node.targets for name in _targets(target))
            elif isinstance(node, ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                if _root(node.value) in tainted or (
                    isinstance(node, ast.AnnAssign) and _root(node.annotation) in tainted
                ):
                    tainted.update(_targets(node.target))
            elif isinstance(node, ast.arg) and node.annotation is not None and _root(node.annotation) in tainted:
                tainted.add(node.arg)
        if len(tainted) == before:
            break

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and _root(node.value) in tainted:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ATTRIBUTE_FUNCTIONS
            and len(node.args) >= 2
            and _root(node.args[0]) in tainted
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
            and _private(node.args[1].value)
        ):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


@pytest.mark.parametrize("path", sorted(DEVSERVER.rglob("*.py")), ids=lambda p: str(p.relative_to(DEVSERVER)))
def test_the_local_server_uses_only_public_powertools(path: Path):
    assert private_powertools_uses(path.read_text(encoding="utf-8")) == []


def test_the_scan_sees_the_old_patch():
    """What devserver/gateway.py did before: the scan must refuse it."""
    old_patch = """
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

def isolate():
    if getattr(ApiGatewayResolver, "_kuploy_thread_isolated", False):
        return
    to_proxy_event = ApiGatewayResolver._to_proxy_event
"""
    assert sorted(private_powertools_uses(old_patch)) == [
        "line 5: getattr(..., '_kuploy_thread_isolated')",
        "line 7: ._to_proxy_event",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from aws_lambda_powertools.event_handler.api_gateway import _registered_api_adapter",
        "from aws_lambda_powertools.shared import _cache\n",
        "import aws_lambda_powertools.event_handler._private",
        "import aws_lambda_powertools as pt\npt.event_handler.APIGatewayHttpResolver._resolve",
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver as R\napp = R()\napp._debug",
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "def f(app: APIGatewayHttpResolver):\n    return app._proxy_event_type",
        "from aws_lambda_powertools.event_handler import APIGatewayHttpResolver\n"
        "resolver: APIGatewayHttpResolver = make()\nresolver._debug",
    ],
)
def test_the_scan_sees_private_names(source: str):
    assert private_powertools_uses(source)


def test_the_scan_leaves_public_names_and_other_libraries_alone():
    source = """
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from moto.dynamodb.responses import DynamoHandler

app = APIGatewayHttpResolver()
app.current_event.__class__
DynamoHandler._get_action
"""
    assert private_powertools_uses(source) == []
