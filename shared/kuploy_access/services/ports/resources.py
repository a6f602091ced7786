"""The resources the roles guard (projects, applications, deployments, databases,
notification channels). DynamoResourceRepository implements the port; FakeResources
(org_fakes.py) is its fake."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import Resource, ResourceKind


class ResourceRepository(Protocol):  # ResourceService
    """Changes take the audit event and write it in the same transaction. They raise
    NotFound (domain/errors.py) when the resource, its parent or the organization is
    gone; `page` raises ValidationFailed for a cursor this API did not give out."""

    def create(
        self, resource: Resource, event: AuditEvent, parent: tuple[ResourceKind, str, str] | None = None
    ) -> None:
        """`parent` (kind, its parent's id, id) must still exist: nothing is created in
        a project or application deleted a moment before."""

    def get(self, org_id: str, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource | None: ...

    def page(
        self, org_id: str, kind: ResourceKind, limit: int, cursor: str | None, parent_id: str = ""
    ) -> Page[Resource]:
        """Oldest first; deployments newest first."""

    def rename(self, resource: Resource, name: str, now: datetime, event: AuditEvent) -> Resource: ...

    def delete(self, resource: Resource, event: AuditEvent) -> int:
        """Delete the resource, then what is nested under it; answers how many nested
        items went with it."""
