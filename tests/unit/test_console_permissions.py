"""The console's copy of the permission table (console/assets/lib/permissions.js) is the
domain's table: a role the API lets do something is offered the button, and no other."""

from __future__ import annotations

import json
from pathlib import Path

from kuploy_access.domain.permissions import ASSIGNABLE_ROLES, KEY_SCOPES, ROLE_PERMISSIONS, SCOPE_PRESETS

CONSOLE_TABLE = Path(__file__).resolve().parents[2] / "console" / "assets" / "lib" / "permissions.js"


def console_table() -> dict[str, object]:
    text = CONSOLE_TABLE.read_text(encoding="utf-8")
    literal = text.split("// BEGIN TABLE", 1)[1].split("// END TABLE", 1)[0]
    literal = literal.strip().removeprefix("export const TABLE =").strip().removesuffix(";")
    table: dict[str, object] = json.loads(literal)
    return table


def test_the_console_offers_each_role_exactly_what_the_api_permits() -> None:
    table = console_table()
    assert table["roles"] == {role.value: sorted(perms) for role, perms in ROLE_PERMISSIONS.items()}


def test_the_console_knows_the_key_scopes_and_presets() -> None:
    table = console_table()
    assert table["key_scopes"] == sorted(KEY_SCOPES)
    assert table["scope_presets"] == {name: sorted(scopes) for name, scopes in SCOPE_PRESETS.items()}
    assert table["assignable_roles"] == [role.value for role in ASSIGNABLE_ROLES]
