"""Who may do what in an organization: API.md's "Roles and permissions" table, as data.

`ROLE_PERMISSIONS` and `KEY_SCOPES` are the table; `ROUTE_PERMISSIONS` says which
permission every organization route needs; `is_permitted` is the one function that
decides. Handlers never compare role names.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


# Roles a role change or an invitation may give: ownership only moves by transfer.
ASSIGNABLE_ROLES = (Role.ADMIN, Role.MEMBER)

ORG_READ = "org:read"
ORG_UPDATE = "org:update"
ORG_DELETE = "org:delete"
# Not in API.md's table (which says "owner" for this route): named so that the route
# states a permission like every other one.
ORG_TRANSFER = "org:transfer_ownership"
BILLING_READ = "billing:read"
BILLING_MANAGE = "billing:manage"
MEMBERS_READ = "members:read"
MEMBERS_MANAGE = "members:manage"
PROJECTS_READ = "projects:read"
PROJECTS_WRITE = "projects:write"
APPS_READ = "apps:read"
APPS_WRITE = "apps:write"
APPS_DEPLOY = "apps:deploy"
DATABASES_READ = "databases:read"
DATABASES_WRITE = "databases:write"
NOTIFICATIONS_READ = "notifications:read"
NOTIFICATIONS_WRITE = "notifications:write"
API_KEYS_MANAGE = "api_keys:manage"
AUDIT_READ = "audit:read"

ALL_PERMISSIONS: tuple[str, ...] = (
    ORG_READ,
    ORG_UPDATE,
    ORG_DELETE,
    ORG_TRANSFER,
    BILLING_READ,
    BILLING_MANAGE,
    MEMBERS_READ,
    MEMBERS_MANAGE,
    PROJECTS_READ,
    PROJECTS_WRITE,
    APPS_READ,
    APPS_WRITE,
    APPS_DEPLOY,
    DATABASES_READ,
    DATABASES_WRITE,
    NOTIFICATIONS_READ,
    NOTIFICATIONS_WRITE,
    API_KEYS_MANAGE,
    AUDIT_READ,
)

_READS = (ORG_READ, MEMBERS_READ, PROJECTS_READ, APPS_READ, DATABASES_READ, NOTIFICATIONS_READ)

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: frozenset(ALL_PERMISSIONS),
    Role.ADMIN: frozenset(ALL_PERMISSIONS) - {ORG_DELETE, BILLING_MANAGE, ORG_TRANSFER},
    Role.MEMBER: frozenset((*_READS, APPS_DEPLOY)),
}

# What an organization API key may hold: never the power to manage people, keys,
# billing or the organization itself.
KEY_SCOPES: frozenset[str] = frozenset(
    (
        *_READS,
        BILLING_READ,
        PROJECTS_WRITE,
        APPS_WRITE,
        APPS_DEPLOY,
        DATABASES_WRITE,
        NOTIFICATIONS_WRITE,
        AUDIT_READ,
    )
)

SCOPE_PRESETS: dict[str, frozenset[str]] = {
    "read-only": frozenset(p for p in KEY_SCOPES if p.endswith(":read")),
    "deploy": frozenset(p for p in KEY_SCOPES if p.endswith(":read")) | {APPS_DEPLOY},
    "full": KEY_SCOPES,
}


@dataclass(frozen=True)
class OrgGrant:
    """What the caller holds in one organization: a member's role, or a key's scopes."""

    role: Role | None = None
    scopes: frozenset[str] = frozenset()

    @classmethod
    def of_role(cls, role: str) -> OrgGrant:
        return cls(role=Role(role))

    @classmethod
    def of_scopes(cls, scopes: tuple[str, ...] | frozenset[str]) -> OrgGrant:
        return cls(scopes=frozenset(scopes) & KEY_SCOPES)


def is_permitted(grant: OrgGrant, permission: str) -> bool:
    """The one decision: may this grant exercise this permission?"""
    if grant.role is not None:
        return permission in ROLE_PERMISSIONS[grant.role]
    return permission in grant.scopes


def may_invite(inviter_role: str, invited_role: str) -> bool:
    """May someone holding `inviter_role` now invite to `invited_role`? Only if they
    manage members and the role they hand out holds nothing theirs does not: a
    demotion takes back the invitations the person can no longer send."""
    held = ROLE_PERMISSIONS[Role(inviter_role)]
    return MEMBERS_MANAGE in held and ROLE_PERMISSIONS[Role(invited_role)] <= held


def roles_that_may_invite(invited_role: str) -> tuple[str, ...]:
    return tuple(role.value for role in Role if may_invite(role.value, invited_role))


def roles_that_manage_members() -> tuple[str, ...]:
    """The roles whose holder may change another member's role or remove them: a change
    commits only while its author still holds one (adapters' conditions)."""
    return tuple(role.value for role in Role if MEMBERS_MANAGE in ROLE_PERMISSIONS[role])


def may_grant_scopes(creator_role: str, scopes: frozenset[str]) -> bool:
    """Could someone holding `creator_role` create a key with `scopes` now? Only if
    they manage keys and hold every one of those scopes themselves."""
    held = ROLE_PERMISSIONS[Role(creator_role)]
    return API_KEYS_MANAGE in held and scopes <= held


@dataclass(frozen=True)
class RouteRule:
    permission: str
    # Routes that act for a person (API.md's "User-only routes"): keys get 403
    # api_key_not_allowed whatever their scopes.
    user_only: bool = False


# Every organization route and the permission it needs, keyed by API Gateway's routeKey.
ROUTE_PERMISSIONS: dict[str, RouteRule] = {
    "GET /orgs/{org_id}": RouteRule(ORG_READ),
    "PATCH /orgs/{org_id}": RouteRule(ORG_UPDATE, user_only=True),
    "DELETE /orgs/{org_id}": RouteRule(ORG_DELETE, user_only=True),
    "POST /orgs/{org_id}/transfer-ownership": RouteRule(ORG_TRANSFER, user_only=True),
    "GET /orgs/{org_id}/members": RouteRule(MEMBERS_READ),
    "PATCH /orgs/{org_id}/members/{user_id}": RouteRule(MEMBERS_MANAGE, user_only=True),
    # Leaving (removing yourself) needs no permission; the service allows it.
    "DELETE /orgs/{org_id}/members/{user_id}": RouteRule(MEMBERS_MANAGE, user_only=True),
    "POST /orgs/{org_id}/invitations": RouteRule(MEMBERS_MANAGE, user_only=True),
    "GET /orgs/{org_id}/invitations": RouteRule(MEMBERS_MANAGE, user_only=True),
    "DELETE /orgs/{org_id}/invitations/{invitation_id}": RouteRule(MEMBERS_MANAGE, user_only=True),
    "POST /orgs/{org_id}/invitations/{invitation_id}/resend": RouteRule(MEMBERS_MANAGE, user_only=True),
    "GET /orgs/{org_id}/billing": RouteRule(BILLING_READ),
    "PUT /orgs/{org_id}/billing": RouteRule(BILLING_MANAGE, user_only=True),
    "GET /orgs/{org_id}/audit-log": RouteRule(AUDIT_READ),
    "POST /orgs/{org_id}/api-keys": RouteRule(API_KEYS_MANAGE, user_only=True),
    "GET /orgs/{org_id}/api-keys": RouteRule(API_KEYS_MANAGE, user_only=True),
    "DELETE /orgs/{org_id}/api-keys/{key_id}": RouteRule(API_KEYS_MANAGE, user_only=True),
    "POST /orgs/{org_id}/api-keys/{key_id}/rotate": RouteRule(API_KEYS_MANAGE, user_only=True),
    # members:manage is never a key's, so a key gets the clearer "users only" answer.
    "GET /orgs/{org_id}/access-review": RouteRule(MEMBERS_MANAGE, user_only=True),
    "GET /orgs/{org_id}/projects": RouteRule(PROJECTS_READ),
    "POST /orgs/{org_id}/projects": RouteRule(PROJECTS_WRITE),
    "GET /orgs/{org_id}/projects/{project_id}": RouteRule(PROJECTS_READ),
    "PATCH /orgs/{org_id}/projects/{project_id}": RouteRule(PROJECTS_WRITE),
    "DELETE /orgs/{org_id}/projects/{project_id}": RouteRule(PROJECTS_WRITE),
    "GET /orgs/{org_id}/projects/{project_id}/applications": RouteRule(APPS_READ),
    "POST /orgs/{org_id}/projects/{project_id}/applications": RouteRule(APPS_WRITE),
    "DELETE /orgs/{org_id}/projects/{project_id}/applications/{app_id}": RouteRule(APPS_WRITE),
    "GET /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": RouteRule(APPS_READ),
    "POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": RouteRule(APPS_DEPLOY),
    "GET /orgs/{org_id}/databases": RouteRule(DATABASES_READ),
    "POST /orgs/{org_id}/databases": RouteRule(DATABASES_WRITE),
    "DELETE /orgs/{org_id}/databases/{db_id}": RouteRule(DATABASES_WRITE),
    "GET /orgs/{org_id}/notification-channels": RouteRule(NOTIFICATIONS_READ),
    "POST /orgs/{org_id}/notification-channels": RouteRule(NOTIFICATIONS_WRITE),
    "DELETE /orgs/{org_id}/notification-channels/{channel_id}": RouteRule(NOTIFICATIONS_WRITE),
}


def rule_for(route_key: str) -> RouteRule:
    """The rule of a route; a route missing from the table is a bug, not an open door."""
    try:
        return ROUTE_PERMISSIONS[route_key]
    except KeyError:
        raise LookupError(f"no permission is declared for {route_key!r}") from None
