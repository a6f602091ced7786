"""The signed-in account's own audit trail: `GET /me/audit-log` (alias `/me/security-log`)."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.paging import Page
from kuploy_access.services.ports.audit import AuditReader


@dataclass
class SecurityLogService:
    trail: AuditReader

    def page(self, user_id: str, limit: int, cursor: str | None) -> Page[AuditEvent]:
        """Newest first. An account's events are kept in the audit log under its user id,
        in the place of an organization id (dynamodb/keys.audit_pk)."""
        return self.trail.page(user_id, limit, cursor)
