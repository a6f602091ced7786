"""The resources the roles guard. The permission check happened on the way in
(`AccessService.enter`); these use cases keep the nesting honest (an application
lives in a project of the same organization) and write the audit trail."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import NotFound, ValidationFailed
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.organizations import resource_name
from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import (
    ID_PREFIXES,
    ChannelKind,
    DatabaseEngine,
    Resource,
    ResourceKind,
    webhook_target,
)
from kuploy_access.services.access import OrgCaller, caller_event
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.resources import ResourceRepository

MAX_REF_LENGTH = 255
# A git ref as `git check-ref-format` would take it, roughly: no spaces, no "..", no control
# characters, and no leading "-" (it would read as an option if it ever reached git).
_GIT_REF = re.compile(r"(?!-)(?!.*\.\.)(?!/)(?!.*//)[^\s~^:?*\[\\\x00-\x1f\x7f]+(?<![/.])")


@dataclass
class ResourceService:
    resources: ResourceRepository
    clock: Clock

    # --- projects -------------------------------------------------------------------

    def projects(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[Resource]:
        return self.resources.page(caller.org.id, ResourceKind.PROJECT, limit, cursor)

    def create_project(self, caller: OrgCaller, name: str) -> Resource:
        return self._create(caller, ResourceKind.PROJECT, resource_name(name))

    def project(self, caller: OrgCaller, project_id: str) -> Resource:
        return self._get(caller, ResourceKind.PROJECT, project_id)

    def rename_project(self, caller: OrgCaller, project_id: str, name: str) -> Resource:
        project = self._get(caller, ResourceKind.PROJECT, project_id)
        now = self.clock.now()
        cleaned = resource_name(name)
        event = caller_event(caller, now, "project.renamed", project.id, name=cleaned)
        return self.resources.rename(project, cleaned, now, event)

    def delete_project(self, caller: OrgCaller, project_id: str) -> None:
        self._delete(caller, self._get(caller, ResourceKind.PROJECT, project_id))

    # --- applications and deployments ------------------------------------------------------

    def applications(self, caller: OrgCaller, project_id: str, limit: int, cursor: str | None) -> Page[Resource]:
        self._get(caller, ResourceKind.PROJECT, project_id)
        return self.resources.page(caller.org.id, ResourceKind.APPLICATION, limit, cursor, parent_id=project_id)

    def create_application(self, caller: OrgCaller, project_id: str, name: str) -> Resource:
        self._get(caller, ResourceKind.PROJECT, project_id)
        return self._create(
            caller,
            ResourceKind.APPLICATION,
            resource_name(name),
            parent_id=project_id,
            parent=(ResourceKind.PROJECT, "", project_id),
        )

    def delete_application(self, caller: OrgCaller, project_id: str, app_id: str) -> None:
        self._delete(caller, self._get(caller, ResourceKind.APPLICATION, app_id, parent_id=project_id))

    def deployments(
        self, caller: OrgCaller, project_id: str, app_id: str, limit: int, cursor: str | None
    ) -> Page[Resource]:
        self._get(caller, ResourceKind.APPLICATION, app_id, parent_id=project_id)
        return self.resources.page(caller.org.id, ResourceKind.DEPLOYMENT, limit, cursor, parent_id=app_id)

    def deploy(self, caller: OrgCaller, project_id: str, app_id: str, ref: str | None) -> Resource:
        application = self._get(caller, ResourceKind.APPLICATION, app_id, parent_id=project_id)
        fields = {"status": "queued", "ref": self._git_ref(ref)}
        return self._create(
            caller,
            ResourceKind.DEPLOYMENT,
            application.name,
            parent_id=app_id,
            fields=fields,
            parent=(ResourceKind.APPLICATION, project_id, app_id),
            action="deployment.requested",
        )

    # --- databases and notification channels ------------------------------------------------

    def databases(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[Resource]:
        return self.resources.page(caller.org.id, ResourceKind.DATABASE, limit, cursor)

    def create_database(self, caller: OrgCaller, name: str, engine: str) -> Resource:
        try:
            engine = DatabaseEngine(engine).value
        except ValueError:
            raise ValidationFailed(f"engine must be one of {', '.join(e.value for e in DatabaseEngine)}") from None
        return self._create(caller, ResourceKind.DATABASE, resource_name(name), fields={"engine": engine})

    def delete_database(self, caller: OrgCaller, db_id: str) -> None:
        self._delete(caller, self._get(caller, ResourceKind.DATABASE, db_id))

    def channels(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[Resource]:
        return self.resources.page(caller.org.id, ResourceKind.NOTIFICATION_CHANNEL, limit, cursor)

    def create_channel(self, caller: OrgCaller, name: str, kind: str, target: str) -> Resource:
        if kind == ChannelKind.EMAIL:
            target = canonical_email(target)
        elif kind == ChannelKind.WEBHOOK:
            target = webhook_target(target)
        else:
            raise ValidationFailed("kind must be email or webhook")
        return self._create(
            caller, ResourceKind.NOTIFICATION_CHANNEL, resource_name(name), fields={"kind": kind, "target": target}
        )

    def delete_channel(self, caller: OrgCaller, channel_id: str) -> None:
        self._delete(caller, self._get(caller, ResourceKind.NOTIFICATION_CHANNEL, channel_id))

    # --- shared ---------------------------------------------------------------------------

    def _create(
        self,
        caller: OrgCaller,
        kind: ResourceKind,
        name: str,
        parent_id: str = "",
        fields: dict[str, str] | None = None,
        parent: tuple[ResourceKind, str, str] | None = None,
        action: str | None = None,
    ) -> Resource:
        now = self.clock.now()
        resource = Resource(
            kind=kind,
            id=new_id(ID_PREFIXES[kind], int(now.timestamp() * 1000)),
            org_id=caller.org.id,
            name=name,
            created_by=caller.principal.id,
            created_at=now,
            updated_at=now,
            parent_id=parent_id,
            fields=dict(fields or {}),
        )
        event = caller_event(caller, now, action or f"{kind.value}.created", resource.id, name=name, **resource.fields)
        self.resources.create(resource, event, parent=parent)
        return resource

    def _get(self, caller: OrgCaller, kind: ResourceKind, resource_id: str, parent_id: str = "") -> Resource:
        resource = self.resources.get(caller.org.id, kind, resource_id, parent_id)
        if resource is None:
            raise NotFound(f"No such {kind.value.replace('_', ' ')}")
        return resource

    def _delete(self, caller: OrgCaller, resource: Resource) -> None:
        event = caller_event(
            caller, self.clock.now(), f"{resource.kind.value}.deleted", resource.id, name=resource.name
        )
        self.resources.delete(resource, event)

    @staticmethod
    def _git_ref(ref: str | None) -> str:
        if ref is None or ref == "":
            return "HEAD"
        if len(ref) > MAX_REF_LENGTH or not _GIT_REF.fullmatch(ref):
            raise ValidationFailed("ref must be a git branch, tag or commit")
        return ref
