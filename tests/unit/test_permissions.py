"""The permission table against API.md, "Roles and permissions".

`API_MD_TABLE` below is API.md's table copied verbatim: the one place the contract is
restated, as the oracle. Every other expectation in this file is derived from it (or
from `API_MD_ORG_ROUTES`, API.md's organization routes and its "User-only routes").
"""

from __future__ import annotations

import pytest

from kuploy_access.domain.permissions import (
    ALL_PERMISSIONS,
    ASSIGNABLE_ROLES,
    KEY_SCOPES,
    ROLE_PERMISSIONS,
    ROUTE_PERMISSIONS,
    SCOPE_PRESETS,
    OrgGrant,
    Role,
    RouteRule,
    is_permitted,
    rule_for,
)

API_MD_TABLE = """
| permission | owner | admin | member | API key may hold it |
|---|---|---|---|---|
| `org:read` | ✓ | ✓ | ✓ | ✓ |
| `org:update` (name, policies) | ✓ | ✓ | | |
| `org:delete` | ✓ | | | |
| `billing:read` | ✓ | ✓ | | ✓ |
| `billing:manage` | ✓ | | | |
| `members:read` | ✓ | ✓ | ✓ | ✓ |
| `members:manage` (invite, change role, remove) | ✓ | ✓ | | |
| `projects:read` / `apps:read` / `databases:read` / `notifications:read` | ✓ | ✓ | ✓ | ✓ |
| `projects:write` / `apps:write` / `databases:write` / `notifications:write` | ✓ | ✓ | | ✓ |
| `apps:deploy` | ✓ | ✓ | ✓ | ✓ |
| `api_keys:manage` | ✓ | ✓ | | |
| `audit:read` | ✓ | ✓ | | ✓ |
"""

# API.md's transfer-ownership route says "owner" rather than naming a permission; the
# code names it so that the route states one like every other. Only the owner holds it
# and no key may (transfer-ownership is a user-only route).
TRANSFER = "org:transfer_ownership"
KEY = "key"
COLUMNS = ("owner", "admin", "member", KEY)


def _parse(table: str) -> dict[str, frozenset[str]]:
    """permission -> the columns (roles, and "key") that have a ✓."""
    holders: dict[str, frozenset[str]] = {}
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 1 + len(COLUMNS), line
        names = [part.split("`")[1] for part in cells[0].split(" / ")]
        ticks = frozenset(column for column, cell in zip(COLUMNS, cells[1:], strict=True) if cell == "✓")
        for name in names:
            assert name not in holders, name
            holders[name] = ticks
    return holders


EXPECTED = _parse(API_MD_TABLE) | {TRANSFER: frozenset({"owner"})}
ROLES = ("owner", "admin", "member")


def expected_for(column: str) -> frozenset[str]:
    return frozenset(p for p, holders in EXPECTED.items() if column in holders)


# API.md's organization routes as API Gateway route keys: (permission, user-only).
# User-only, per API.md: PATCH/DELETE of members, invitations, transfer-ownership, the
# api-keys routes, PUT …/billing, PATCH/DELETE /orgs/{org_id}.
ORG = "/orgs/{org_id}"
PRJ = ORG + "/projects/{project_id}"
APP = PRJ + "/applications/{app_id}"
API_MD_ORG_ROUTES: dict[str, tuple[str, bool]] = {
    f"GET {ORG}": ("org:read", False),
    f"PATCH {ORG}": ("org:update", True),
    f"DELETE {ORG}": ("org:delete", True),
    f"GET {ORG}/members": ("members:read", False),
    f"PATCH {ORG}/members/{{user_id}}": ("members:manage", True),
    f"DELETE {ORG}/members/{{user_id}}": ("members:manage", True),
    f"POST {ORG}/transfer-ownership": (TRANSFER, True),
    f"POST {ORG}/invitations": ("members:manage", True),
    f"GET {ORG}/invitations": ("members:manage", True),
    f"DELETE {ORG}/invitations/{{invitation_id}}": ("members:manage", True),
    f"POST {ORG}/invitations/{{invitation_id}}/resend": ("members:manage", True),
    f"GET {ORG}/billing": ("billing:read", False),
    f"PUT {ORG}/billing": ("billing:manage", True),
    f"POST {ORG}/api-keys": ("api_keys:manage", True),
    f"GET {ORG}/api-keys": ("api_keys:manage", True),
    f"DELETE {ORG}/api-keys/{{key_id}}": ("api_keys:manage", True),
    f"POST {ORG}/api-keys/{{key_id}}/rotate": ("api_keys:manage", True),
    f"GET {ORG}/audit-log": ("audit:read", False),
    # Not in API.md's user-only list, but its permission is never a key's: user-only.
    f"GET {ORG}/access-review": ("members:manage", True),
    f"GET {ORG}/projects": ("projects:read", False),
    f"POST {ORG}/projects": ("projects:write", False),
    f"GET {PRJ}": ("projects:read", False),
    f"PATCH {PRJ}": ("projects:write", False),
    f"DELETE {PRJ}": ("projects:write", False),
    f"GET {PRJ}/applications": ("apps:read", False),
    f"POST {PRJ}/applications": ("apps:write", False),
    f"DELETE {APP}": ("apps:write", False),
    f"POST {APP}/deployments": ("apps:deploy", False),
    f"GET {ORG}/databases": ("databases:read", False),
    f"POST {ORG}/databases": ("databases:write", False),
    f"DELETE {ORG}/databases/{{db_id}}": ("databases:write", False),
    f"GET {ORG}/notification-channels": ("notifications:read", False),
    f"POST {ORG}/notification-channels": ("notifications:write", False),
    f"DELETE {ORG}/notification-channels/{{channel_id}}": ("notifications:write", False),
}
# Routes the service adds to API.md ("extend it freely"), with the rule they should have.
EXTENSIONS: dict[str, tuple[str, bool]] = {
    f"GET {APP}/deployments": ("apps:read", False),
}
EXPECTED_ROUTES = API_MD_ORG_ROUTES | EXTENSIONS
KEYS_NEVER = ("members:manage", "billing:manage", "api_keys:manage", "org:delete", "org:update", TRANSFER)


# --- the table ----------------------------------------------------------------------


def test_the_oracle_reads_every_row_of_the_table():
    assert len(EXPECTED) == 19
    assert EXPECTED["projects:write"] == EXPECTED["notifications:write"] == frozenset({"owner", "admin", KEY})


def test_all_permissions_are_exactly_the_table_plus_transfer_without_duplicates():
    assert len(ALL_PERMISSIONS) == len(set(ALL_PERMISSIONS))
    assert set(ALL_PERMISSIONS) == set(EXPECTED)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_holds_exactly_its_column(role):
    assert ROLE_PERMISSIONS[Role(role)] == expected_for(role)


def test_every_role_of_the_enum_is_in_the_table():
    assert set(ROLE_PERMISSIONS) == set(Role) == {Role(r) for r in ROLES}


def test_key_scopes_are_exactly_the_key_column():
    assert expected_for(KEY) == KEY_SCOPES


@pytest.mark.parametrize("permission", KEYS_NEVER)
def test_a_key_can_never_hold_the_powers_over_people_keys_billing_or_the_org(permission):
    assert permission not in KEY_SCOPES
    for preset in SCOPE_PRESETS.values():
        assert permission not in preset
    assert OrgGrant.of_scopes((permission,)).scopes == frozenset()
    assert not is_permitted(OrgGrant.of_scopes(tuple(ALL_PERMISSIONS)), permission)


def test_a_key_never_holds_more_than_an_admin():
    assert KEY_SCOPES.issubset(ROLE_PERMISSIONS[Role.ADMIN])


def test_only_admin_and_member_can_be_assigned():
    assert {r.value for r in ASSIGNABLE_ROLES} == {"admin", "member"}


# --- presets ------------------------------------------------------------------------


def test_read_only_preset_is_every_read_a_key_may_hold():
    reads = {p for p in expected_for(KEY) if p.endswith(":read")}
    assert SCOPE_PRESETS["read-only"] == reads
    assert reads == {
        "org:read",
        "billing:read",
        "members:read",
        "projects:read",
        "apps:read",
        "databases:read",
        "notifications:read",
        "audit:read",
    }


def test_deploy_preset_is_read_only_plus_deploy():
    assert SCOPE_PRESETS["deploy"] == SCOPE_PRESETS["read-only"] | {"apps:deploy"}


def test_full_preset_is_every_scope_a_key_may_hold():
    assert expected_for(KEY) == SCOPE_PRESETS["full"]


def test_there_are_exactly_the_three_presets_of_api_md():
    assert set(SCOPE_PRESETS) == {"read-only", "deploy", "full"}


# --- is_permitted ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("permission", sorted(EXPECTED))
def test_is_permitted_for_a_role_follows_the_table(role, permission):
    assert is_permitted(OrgGrant.of_role(role), permission) is (role in EXPECTED[permission])


@pytest.mark.parametrize("permission", sorted(EXPECTED))
def test_is_permitted_for_a_key_with_every_scope_follows_the_key_column(permission):
    grant = OrgGrant.of_scopes(tuple(EXPECTED))
    assert is_permitted(grant, permission) is (KEY in EXPECTED[permission])


@pytest.mark.parametrize("scope", sorted(KEY_SCOPES))
def test_a_key_holds_only_the_scopes_it_was_given(scope):
    grant = OrgGrant.of_scopes((scope,))
    assert grant.role is None
    assert {p for p in EXPECTED if is_permitted(grant, p)} == {scope}


def test_a_key_without_scopes_may_do_nothing():
    assert not any(is_permitted(OrgGrant.of_scopes(()), p) for p in EXPECTED)
    assert not any(is_permitted(OrgGrant(), p) for p in EXPECTED)


@pytest.mark.parametrize("role", ROLES)
def test_unknown_permissions_are_refused(role):
    for permission in ("", "org:*", "*", "ORG:READ", "org:read ", "admin"):
        assert not is_permitted(OrgGrant.of_role(role), permission)
        assert not is_permitted(OrgGrant.of_scopes((permission, "org:read")), permission)


def test_of_scopes_drops_scopes_a_key_may_not_hold_and_keeps_the_rest():
    grant = OrgGrant.of_scopes(("apps:deploy", "members:manage", "org:delete", "bogus", "apps:deploy"))
    assert grant.scopes == frozenset({"apps:deploy"})
    assert OrgGrant.of_scopes(frozenset(ALL_PERMISSIONS)).scopes == KEY_SCOPES


def test_of_role_reads_the_role_name_and_refuses_unknown_ones():
    assert OrgGrant.of_role("admin") == OrgGrant(role=Role.ADMIN)
    with pytest.raises(ValueError):
        OrgGrant.of_role("superuser")


# --- routes ---------------------------------------------------------------------------


def test_rule_for_answers_the_declared_rule():
    assert rule_for("GET /orgs/{org_id}/members") == RouteRule("members:read")
    assert rule_for("PUT /orgs/{org_id}/billing") == RouteRule("billing:manage", user_only=True)


@pytest.mark.parametrize(
    "route_key",
    ["", "GET /orgs/{org_id}/nope", "GET /orgs", "POST /orgs", "get /orgs/{org_id}", "GET /orgs/{org_id}/ "],
)
def test_rule_for_an_undeclared_route_raises_lookup_error(route_key):
    with pytest.raises(LookupError):
        rule_for(route_key)


@pytest.mark.parametrize("route_key", sorted(ROUTE_PERMISSIONS))
def test_every_route_needs_a_known_permission(route_key):
    assert ROUTE_PERMISSIONS[route_key].permission in ALL_PERMISSIONS


def test_every_declared_route_is_an_organization_route_of_api_md_or_a_listed_extension():
    assert set(ROUTE_PERMISSIONS) <= set(EXPECTED_ROUTES)


def test_every_organization_route_of_api_md_is_declared():
    assert set(API_MD_ORG_ROUTES) <= set(ROUTE_PERMISSIONS)


@pytest.mark.parametrize("route_key", sorted(ROUTE_PERMISSIONS))
def test_each_route_needs_the_permission_api_md_names(route_key):
    assert ROUTE_PERMISSIONS[route_key].permission == EXPECTED_ROUTES[route_key][0]


@pytest.mark.parametrize("route_key", sorted(ROUTE_PERMISSIONS))
def test_user_only_routes_are_exactly_api_md_s_list(route_key):
    assert ROUTE_PERMISSIONS[route_key].user_only is EXPECTED_ROUTES[route_key][1]


@pytest.mark.parametrize("route_key", sorted(ROUTE_PERMISSIONS))
def test_routes_a_key_may_call_need_a_permission_a_key_may_hold(route_key):
    rule = ROUTE_PERMISSIONS[route_key]
    if not rule.user_only:
        assert rule.permission in KEY_SCOPES


# The matrix of issue 4, generated from the table: every route × every role and a key.
MATRIX = [(route, column) for route in sorted(ROUTE_PERMISSIONS) for column in COLUMNS]


@pytest.mark.parametrize(("route_key", "column"), MATRIX)
def test_route_by_role_matrix(route_key, column):
    rule = rule_for(route_key)
    permission = EXPECTED_ROUTES[route_key][0]
    if column == KEY:
        allowed = not EXPECTED_ROUTES[route_key][1] and KEY in EXPECTED[permission]
        assert (not rule.user_only and is_permitted(OrgGrant.of_scopes(SCOPE_PRESETS["full"]), rule.permission)) is (
            allowed
        )
    else:
        assert is_permitted(OrgGrant.of_role(column), rule.permission) is (column in EXPECTED[permission])
