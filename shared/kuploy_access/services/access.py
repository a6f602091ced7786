"""Entering an organization: who the caller is there, and whether the route's
permission is theirs. Every organization route goes through `AccessService.enter`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kuploy_access.domain.audit import Actor, AuditEvent, audit_event
from kuploy_access.domain.errors import ApiKeyNotAllowed, Forbidden, NotFound, TwoFactorRequired
from kuploy_access.domain.organizations import ACTIVITY_RESOLUTION, Member, Organization
from kuploy_access.domain.permissions import OrgGrant, RouteRule, is_permitted
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.organizations import OrgAccess
from kuploy_access.services.sessions import ClientInfo


@dataclass(frozen=True)
class OrgCaller:
    """The caller inside one organization, for one request."""

    principal: Principal
    org: Organization
    grant: OrgGrant
    client: ClientInfo
    member: Member | None = None

    @property
    def actor(self) -> Actor:
        email = self.member.email if self.member is not None else ""
        return Actor(type=self.principal.type, id=self.principal.id, email=email)

    @property
    def user_id(self) -> str:
        return self.principal.id if self.principal.type == USER else ""


@dataclass
class AccessService:
    orgs: OrgAccess
    clock: Clock

    def enter(
        self, principal: Principal, org_id: str, rule: RouteRule, client: ClientInfo, acting_on_self: bool = False
    ) -> OrgCaller:
        """404 for an organization the caller does not belong to (its existence is not
        revealed), 403 for a member whose role lacks the permission. `acting_on_self`
        lets any member do to themselves what the rule guards (leaving)."""
        if principal.type == API_KEY:
            return self._enter_as_key(principal, org_id, rule, client)
        if principal.type != USER or not principal.id:
            raise NotFound("No such organization")
        # The role comes from the membership record on every request, never from the
        # token: a role change or a removal applies to the member's next request.
        org, member = self.orgs.load_access(org_id, principal.id)
        if org is None or member is None:
            raise NotFound("No such organization")
        grant = OrgGrant.of_role(member.role)
        if org.require_2fa and not member.two_factor_enabled and not acting_on_self:
            # Leaving stays open; enrolling happens under /me/2fa, outside the org.
            raise TwoFactorRequired()
        if not acting_on_self and not is_permitted(grant, rule.permission):
            raise Forbidden(f"Your role ({member.role}) does not include {rule.permission}")
        now = self.clock.now()
        if member.activity_is_stale(now):
            self.orgs.touch_member(org_id, member.user_id, now, now - ACTIVITY_RESOLUTION)
        return OrgCaller(principal=principal, org=org, grant=grant, client=client, member=member)

    def _enter_as_key(self, principal: Principal, org_id: str, rule: RouteRule, client: ClientInfo) -> OrgCaller:
        if rule.user_only:
            raise ApiKeyNotAllowed()
        # A key works only in its own organization; any other answers like an unknown one.
        if principal.org_id != org_id:
            raise NotFound("No such organization")
        org = self.orgs.get(org_id)
        if org is None:
            raise NotFound("No such organization")
        grant = OrgGrant.of_scopes(principal.scopes)
        if not is_permitted(grant, rule.permission):
            raise Forbidden(f"This API key does not hold the {rule.permission} scope")
        return OrgCaller(principal=principal, org=org, grant=grant, client=client)


def caller_event(caller: OrgCaller, at: datetime, action: str, target: str, /, **details: str) -> AuditEvent:
    """An audit event done by this caller in their organization."""
    return audit_event(
        caller.org.id, at, caller.actor, action, target, caller.client.ip, caller.client.user_agent, **details
    )
