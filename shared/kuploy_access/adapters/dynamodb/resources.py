"""Projects, applications, deployments, databases and notification channels, in their
organization's partition. Sort keys nest children under parents, so a project's
applications, or an application's deployments, are one Query."""

from __future__ import annotations

import json
from datetime import datetime

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.conditions import absent, live_org, present
from kuploy_access.adapters.dynamodb.keys import org_pk, resource_sk, resource_sk_prefix
from kuploy_access.adapters.dynamodb.models import ResourceItem, TableItem, org_ref
from kuploy_access.adapters.dynamodb.query_pages import query_page
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import NotFound
from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import Resource, ResourceKind


def _ref(org_id: str, kind: ResourceKind, parent_id: str, resource_id: str) -> ResourceItem:
    return ResourceItem(pk=org_pk(org_id), sk=resource_sk(kind, parent_id, resource_id))


def _resource(item: ResourceItem) -> Resource:
    return Resource(
        kind=ResourceKind(item.kind),
        id=item.resource_id,
        org_id=item.org_id,
        name=item.name,
        created_by=item.created_by,
        created_at=item.created_at,
        updated_at=item.updated_at,
        parent_id=item.parent_id or "",
        fields=json.loads(item.fields_json or "{}"),
    )


def _item(resource: Resource) -> ResourceItem:
    return ResourceItem(
        pk=org_pk(resource.org_id),
        sk=resource_sk(resource.kind, resource.parent_id, resource.id),
        kind=resource.kind.value,
        resource_id=resource.id,
        org_id=resource.org_id,
        parent_id=resource.parent_id,
        name=resource.name,
        created_by=resource.created_by,
        created_at=resource.created_at,
        updated_at=resource.updated_at,
        fields_json=json.dumps(resource.fields, sort_keys=True),
    )


class DynamoResourceRepository:
    def create(
        self, resource: Resource, event: AuditEvent, parent: tuple[ResourceKind, str, str] | None = None
    ) -> None:
        """`parent` (kind, its parent's id, id) must still exist: nothing is created in
        a project or application deleted a moment before."""
        transaction = (
            Transaction()
            .put("resource", _item(resource), condition=absent())
            .check("org", org_ref(resource.org_id), live_org())
        )
        if parent is not None:
            kind, grandparent, parent_id = parent
            transaction.check("parent", _ref(resource.org_id, kind, grandparent, parent_id), present())
        try:
            transaction.put("audit", audit_item(event)).commit()
        except ConditionFailed:
            raise NotFound("Not found") from None

    def get(self, org_id: str, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource | None:
        try:
            return _resource(ResourceItem.get(org_pk(org_id), resource_sk(kind, parent_id, resource_id)))
        except ResourceItem.DoesNotExist:
            return None

    def page(
        self, org_id: str, kind: ResourceKind, limit: int, cursor: str | None, parent_id: str = ""
    ) -> Page[Resource]:
        page = query_page(
            ResourceItem,
            org_pk(org_id),
            resource_sk_prefix(kind, parent_id),
            limit,
            cursor,
            newest_first=kind == ResourceKind.DEPLOYMENT,
        )
        return Page([_resource(item) for item in page.items], page.next_cursor)

    def rename(self, resource: Resource, name: str, now: datetime, event: AuditEvent) -> Resource:
        try:
            (
                Transaction()
                .update(
                    "resource",
                    _ref(resource.org_id, resource.kind, resource.parent_id, resource.id),
                    [ResourceItem.name.set(name), ResourceItem.updated_at.set(now)],
                    present(),
                )
                .check("org", org_ref(resource.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("Not found") from None
        return Resource(**{**resource.__dict__, "name": name, "updated_at": now})

    def delete(self, resource: Resource, event: AuditEvent) -> int:
        """Delete the resource, then what is nested under it (a project's applications
        and their deployments; an application's deployments). Returns how many nested
        items went with it. Nothing can be created under a deleted parent (creation
        checks it in its transaction), so the sweep after the commit leaves nothing."""
        try:
            (
                Transaction()
                .delete(
                    "resource",
                    _ref(resource.org_id, resource.kind, resource.parent_id, resource.id),
                    condition=present(),
                )
                .check("org", org_ref(resource.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("Not found") from None
        return self._sweep(resource.org_id, resource.kind, resource.id)

    def _sweep(self, org_id: str, kind: ResourceKind, resource_id: str) -> int:
        nested = {ResourceKind.PROJECT: ResourceKind.APPLICATION, ResourceKind.APPLICATION: ResourceKind.DEPLOYMENT}
        child_kind = nested.get(kind)
        if child_kind is None:
            return 0
        removed = 0
        children = list(
            ResourceItem.query(org_pk(org_id), ResourceItem.sk.startswith(resource_sk_prefix(child_kind, resource_id)))
        )
        with TableItem.batch_write() as batch:
            for item in children:
                batch.delete(item)
                removed += 1
        for item in children:
            removed += self._sweep(org_id, child_kind, item.resource_id)
        return removed
