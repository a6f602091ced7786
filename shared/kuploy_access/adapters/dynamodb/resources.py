"""Projects, applications, deployments, databases and notification channels, in their
organization's partition. Sort keys nest children under parents, so a project's
applications, or an application's deployments, are one Query."""

from __future__ import annotations

import json
from datetime import datetime

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.models import OrganizationItem, ResourceItem, TableItem, org_key
from kuploy_access.adapters.dynamodb.organizations import live_org_condition
from kuploy_access.adapters.dynamodb.pages import query_page
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import NotFound
from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import Resource, ResourceKind

_KIND_PREFIX = {
    ResourceKind.PROJECT: "PRJ#",
    ResourceKind.APPLICATION: "APP#",
    ResourceKind.DEPLOYMENT: "DEP#",
    ResourceKind.DATABASE: "DB#",
    ResourceKind.NOTIFICATION_CHANNEL: "NCH#",
}


def _prefix(kind: ResourceKind, parent_id: str) -> str:
    return f"{_KIND_PREFIX[kind]}{parent_id}#" if parent_id else _KIND_PREFIX[kind]


def _sort_key(resource_kind: ResourceKind, parent_id: str, resource_id: str) -> str:
    return f"{_prefix(resource_kind, parent_id)}{resource_id}"


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
        pk=org_key(resource.org_id),
        sk=_sort_key(resource.kind, resource.parent_id, resource.id),
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
        transaction = Transaction()
        transaction.put("resource", _item(resource), condition=ResourceItem.pk.does_not_exist())
        transaction.check("org", OrganizationItem, org_key(resource.org_id), "ORG", live_org_condition())
        if parent is not None:
            kind, grandparent, parent_id = parent
            transaction.check(
                "parent",
                ResourceItem,
                org_key(resource.org_id),
                _sort_key(kind, grandparent, parent_id),
                ResourceItem.pk.exists(),
            )
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise NotFound("Not found") from None

    def get(self, org_id: str, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource | None:
        try:
            return _resource(ResourceItem.get(org_key(org_id), _sort_key(kind, parent_id, resource_id)))
        except ResourceItem.DoesNotExist:
            return None

    def page(
        self, org_id: str, kind: ResourceKind, limit: int, cursor: str | None, parent_id: str = ""
    ) -> Page[Resource]:
        page = query_page(
            ResourceItem,
            org_key(org_id),
            _prefix(kind, parent_id),
            limit,
            cursor,
            newest_first=kind == ResourceKind.DEPLOYMENT,
        )
        return Page([_resource(item) for item in page.items], page.next_cursor)

    def rename(self, resource: Resource, name: str, now: datetime, event: AuditEvent) -> Resource:
        transaction = Transaction()
        transaction.update(
            "resource",
            ResourceItem(pk=org_key(resource.org_id), sk=_sort_key(resource.kind, resource.parent_id, resource.id)),
            [ResourceItem.name.set(name), ResourceItem.updated_at.set(now)],
            condition=ResourceItem.pk.exists(),
        )
        transaction.check("org", OrganizationItem, org_key(resource.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise NotFound("Not found") from None
        return Resource(**{**resource.__dict__, "name": name, "updated_at": now})

    def delete(self, resource: Resource, event: AuditEvent) -> int:
        """Delete the resource, then what is nested under it (a project's applications
        and their deployments; an application's deployments). Returns how many nested
        items went with it. Nothing can be created under a deleted parent (creation
        checks it in its transaction), so the sweep after the commit leaves nothing."""
        transaction = Transaction()
        transaction.delete(
            "resource",
            ResourceItem(pk=org_key(resource.org_id), sk=_sort_key(resource.kind, resource.parent_id, resource.id)),
            condition=ResourceItem.pk.exists(),
        )
        transaction.check("org", OrganizationItem, org_key(resource.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
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
            ResourceItem.query(org_key(org_id), ResourceItem.sk.startswith(_prefix(child_kind, resource_id)))
        )
        with TableItem.batch_write() as batch:
            for item in children:
                batch.delete(item)
                removed += 1
        for item in children:
            removed += self._sweep(org_id, child_kind, item.resource_id)
        return removed
