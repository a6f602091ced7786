"""The way into an organization route: the route's permission comes from the table in
`domain.permissions`, keyed by API Gateway's routeKey, so no handler names a role or
a permission itself."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from kuploy_access.domain.permissions import rule_for
from kuploy_access.http.deps import client_of
from kuploy_access.http.guard import principal_of
from kuploy_access.http.sudo import require_sudo
from kuploy_access.services.access import OrgCaller
from kuploy_access.wiring import access_service


def enter_org(app: APIGatewayHttpResolver, acting_on_self: bool = False, sudo: bool = False) -> OrgCaller:
    """`sudo`: a sensitive route, which also needs sudo mode. The permission comes
    first, so a member without it is told `forbidden`, not asked to re-authenticate."""
    raw = app.current_event.raw_event
    org_id = str((raw.get("pathParameters") or {}).get("org_id", ""))
    rule = rule_for(str(raw.get("routeKey", "")))
    caller = access_service().enter(principal_of(raw), org_id, rule, client_of(app.current_event), acting_on_self)
    if sudo:
        require_sudo(raw)
    return caller
