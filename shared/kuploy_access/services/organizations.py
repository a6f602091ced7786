"""Organizations: create, list mine, read, rename and policies, plan, delete, audit log."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from kuploy_access.domain.audit import ANY_EVENT, Actor, AuditEvent, AuditFilter, audit_event
from kuploy_access.domain.errors import EmailNotVerified, TwoFactorRequired, Unauthorized, ValidationFailed
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.organizations import Member, Organization, Plan, resource_name
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import ORG_UPDATE, Role, is_permitted
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.rate_limits import ORGS_CREATED_PER_ACCOUNT, RateLimited
from kuploy_access.domain.users import OrganizationMembership
from kuploy_access.services.access import OrgCaller, caller_event
from kuploy_access.services.ports.audit import AuditReader
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.organizations import OrganizationStore
from kuploy_access.services.ports.throttling import RateLimiter
from kuploy_access.services.ports.users import UserLookup
from kuploy_access.services.sessions import ClientInfo

logger = logging.getLogger(__name__)

# GET /orgs/{org_id} names at most this many members the 2FA policy locks out.
LOCKOUT_LIST_LIMIT = 100


@dataclass
class OrganizationService:
    orgs: OrganizationStore
    users: UserLookup
    audit: AuditReader
    clock: Clock
    limiter: RateLimiter

    def create(self, principal: Principal, name: str, client: ClientInfo) -> tuple[Organization, Member]:
        user = self.users.get(principal.id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        if not user.email_verified:
            raise EmailNotVerified()
        org_name = resource_name(name)
        now = self.clock.now()
        # Taken only for a request that would otherwise succeed: a typo in the name
        # does not cost one of the day's organizations.
        if not self.limiter.consume(ORGS_CREATED_PER_ACCOUNT, user.id, now):
            raise RateLimited(
                ORGS_CREATED_PER_ACCOUNT.retry_after(now),
                f"An account may create at most {ORGS_CREATED_PER_ACCOUNT.limit} organizations a day",
            )
        org = Organization(
            id=new_id("org"),
            name=org_name,
            plan=Plan.FREE.value,
            require_2fa=False,
            owner_id=user.id,
            created_at=now,
            created_by=user.id,
        )
        owner = Member(
            org_id=org.id,
            user_id=user.id,
            role=Role.OWNER.value,
            email=user.email,
            name=user.name,
            joined_at=now,
            two_factor_enabled=user.two_factor_enabled,
            last_active_at=now,
        )
        event = audit_event(
            org.id,
            now,
            Actor("user", user.id, user.email),
            "org.created",
            org.id,
            client.ip,
            client.user_agent,
            name=org.name,
        )
        self.orgs.create(org, owner, event)
        return org, owner

    def mine(self, user_id: str, limit: int, cursor: str | None) -> Page[OrganizationMembership]:
        return self.orgs.organizations_page(user_id, limit, cursor)

    def change_settings(
        self, caller: OrgCaller, name: str | None, require_2fa: bool | None, prove_sudo: Callable[[], object]
    ) -> Organization:
        """`PATCH /orgs/{org_id}`: a new name, a new 2FA policy, or both.

        Changing the policy needs sudo mode (`prove_sudo` raises when the caller is not
        in it). Asking for the policy the organization already has writes nothing, so a
        request outside sudo mode cannot undo a racing change of it.
        """
        changes_policy = require_2fa is not None and require_2fa != caller.org.require_2fa
        if changes_policy:
            prove_sudo()
        if name is None and require_2fa is not None and not changes_policy:
            return caller.org
        return self.update(caller, name, require_2fa if changes_policy else None)

    def update(self, caller: OrgCaller, name: str | None, require_2fa: bool | None) -> Organization:
        changes: dict[str, object] = {}
        details: dict[str, str] = {}
        if name is not None:
            changes["name"] = details["name"] = resource_name(name)
        if require_2fa is not None:
            owner = self.users.get(caller.org.owner_id)
            if require_2fa and (owner is None or not owner.two_factor_enabled):
                # The owner could never get back in to switch it off.
                raise TwoFactorRequired("The owner must turn on two-factor authentication before requiring it")
            changes["require_2fa"] = require_2fa
            details["require_2fa"] = str(require_2fa).lower()
        if not changes:
            raise ValidationFailed("Send at least one of name and require_2fa")
        event = caller_event(caller, self.clock.now(), "org.updated", caller.org.id, **details)
        return self.orgs.update(caller.org.id, changes, event)

    def set_plan(self, caller: OrgCaller, plan: str) -> Organization:
        event = caller_event(
            caller, self.clock.now(), "billing.plan_changed", caller.org.id, plan=plan, previous=caller.org.plan
        )
        if plan not in {p.value for p in Plan}:
            raise ValidationFailed(f"plan must be one of {', '.join(p.value for p in Plan)}")
        return self.orgs.update(caller.org.id, {"plan": plan}, event)

    def delete(self, caller: OrgCaller) -> None:
        """Mark it deleted, with its audit event, in one transaction: from then on nothing
        of it can be used. What it held is removed in the background (services/org_purge.py,
        started by this very write), so the answer does not wait for thousands of items."""
        now = self.clock.now()
        self.orgs.mark_deleted(caller.org.id, now, caller_event(caller, now, "org.deleted", caller.org.id))
        logger.info("organization marked deleted; its purge follows", extra={"org_id": caller.org.id})

    def members_without_two_factor(self, caller: OrgCaller) -> list[Member] | None:
        """Who the 2FA policy locks out (or would): for those who may change the policy."""
        if not is_permitted(caller.grant, ORG_UPDATE):
            return None
        return self.orgs.members_without_two_factor(caller.org.id, LOCKOUT_LIST_LIMIT)

    def audit_log(
        self, caller: OrgCaller, limit: int, cursor: str | None, only: AuditFilter = ANY_EVENT
    ) -> Page[AuditEvent]:
        return self.audit.page(caller.org.id, limit, cursor, only)
