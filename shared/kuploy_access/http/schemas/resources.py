"""Projects, applications, deployments, databases and notification channels: what
`/orgs/{org_id}/projects…`, `…/databases…` and `…/notification-channels…` read and answer.

Every view is read from a `Resource`; a kind's own fields come from its `fields`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from kuploy_access.domain.organizations import MAX_RESOURCE_NAME_LENGTH
from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import Resource
from kuploy_access.http.schemas.paging import PageView


def _of_fields(name: str) -> Any:
    """A field the resource's kind keeps in `Resource.fields`."""
    return Field(validation_alias=AliasPath("fields", name))


class NameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=MAX_RESOURCE_NAME_LENGTH)


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(default=None, max_length=255, description="A git branch, tag or commit; HEAD when absent")


class DatabaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=MAX_RESOURCE_NAME_LENGTH)
    engine: Literal["postgres", "mysql", "mariadb", "mongo", "redis"]


class ChannelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=MAX_RESOURCE_NAME_LENGTH)
    kind: Literal["email", "webhook"]
    target: str = Field(
        max_length=2048,
        description="An email address, or for a webhook an https:// URL of a public host: no user name or "
        "password, no private, loopback, link-local or internal address or name",
    )


class ProjectView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class ApplicationView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    project_id: str = Field(validation_alias="parent_id")
    name: str
    created_by: str
    created_at: datetime


class DeploymentView(BaseModel):
    id: str
    application_id: str
    status: str
    ref: str
    requested_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> DeploymentView:
        # A deployment stored without a status or ref is a queued one of HEAD.
        return cls(
            id=r.id,
            application_id=r.parent_id,
            status=r.fields.get("status", "queued"),
            ref=r.fields.get("ref", "HEAD"),
            requested_by=r.created_by,
            created_at=r.created_at,
        )


class DatabaseView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    engine: str = _of_fields("engine")
    created_by: str
    created_at: datetime


class ChannelView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    kind: str = _of_fields("kind")
    target: str = _of_fields("target")
    created_by: str
    created_at: datetime


class ProjectList(PageView[ProjectView]):
    pass


class ApplicationList(PageView[ApplicationView]):
    pass


class DeploymentList(PageView[DeploymentView]):
    @classmethod
    def of(cls, page: Page[Resource]) -> DeploymentList:
        return cls(items=[DeploymentView.of(r) for r in page.items], next_cursor=page.next_cursor)


class DatabaseList(PageView[DatabaseView]):
    pass


class ChannelList(PageView[ChannelView]):
    pass
