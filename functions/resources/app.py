"""The resources the roles guard: projects, applications, deployments, databases and
notification channels of an organization."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.paging import Page
from kuploy_access.domain.resources import Resource
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.org_guard import enter_org
from kuploy_access.http.params import BEARER, Cursor, Id, Limit
from kuploy_access.wiring import resource_service

app = create_app()

PROBLEMS: dict[str, tuple[str, ...] | str] = {"s403": "forbidden", "s404": "not_found"}
WRITE_PROBLEMS: dict[str, tuple[str, ...] | str] = {**PROBLEMS, "s422": "validation_error"}


class NameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)


class DeployRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ref: str | None = Field(default=None, max_length=255, description="A git branch, tag or commit; HEAD when absent")


class DatabaseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    engine: Literal["postgres", "mysql", "mariadb", "mongo", "redis"]


class ChannelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    kind: Literal["email", "webhook"]
    target: str = Field(
        max_length=2048,
        description="An email address, or for a webhook an https:// URL of a public host: no user name or "
        "password, no private, loopback, link-local or internal address or name",
    )


class ProjectView(BaseModel):
    id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: Resource) -> ProjectView:
        return cls(id=r.id, name=r.name, created_by=r.created_by, created_at=r.created_at, updated_at=r.updated_at)


class ApplicationView(BaseModel):
    id: str
    project_id: str
    name: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> ApplicationView:
        return cls(id=r.id, project_id=r.parent_id, name=r.name, created_by=r.created_by, created_at=r.created_at)


class DeploymentView(BaseModel):
    id: str
    application_id: str
    status: str
    ref: str
    requested_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> DeploymentView:
        return cls(
            id=r.id,
            application_id=r.parent_id,
            status=r.fields.get("status", "queued"),
            ref=r.fields.get("ref", "HEAD"),
            requested_by=r.created_by,
            created_at=r.created_at,
        )


class DatabaseView(BaseModel):
    id: str
    name: str
    engine: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> DatabaseView:
        return cls(id=r.id, name=r.name, engine=r.fields["engine"], created_by=r.created_by, created_at=r.created_at)


class ChannelView(BaseModel):
    id: str
    name: str
    kind: str
    target: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, r: Resource) -> ChannelView:
        return cls(
            id=r.id,
            name=r.name,
            kind=r.fields["kind"],
            target=r.fields["target"],
            created_by=r.created_by,
            created_at=r.created_at,
        )


class ProjectList(BaseModel):
    items: list[ProjectView]
    next_cursor: str | None


class ApplicationList(BaseModel):
    items: list[ApplicationView]
    next_cursor: str | None


class DeploymentList(BaseModel):
    items: list[DeploymentView]
    next_cursor: str | None


class DatabaseList(BaseModel):
    items: list[DatabaseView]
    next_cursor: str | None


class ChannelList(BaseModel):
    items: list[ChannelView]
    next_cursor: str | None


def _deleted() -> Response[None]:
    return Response(status_code=204)


def _items(page: Page[Resource]) -> tuple[list[Resource], str | None]:
    return page.items, page.next_cursor


# --- projects ---------------------------------------------------------------------------------


@app.get(
    "/orgs/<org_id>/projects",
    tags=["projects"],
    summary="Projects",
    security=BEARER,
    responses=responses(200, "Projects, one page", **PROBLEMS),
)
def list_projects(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> ProjectList:
    items, next_cursor = _items(resource_service().projects(enter_org(app), limit, cursor))
    return ProjectList(items=[ProjectView.of(r) for r in items], next_cursor=next_cursor)


@app.post(
    "/orgs/<org_id>/projects",
    status_code=201,
    tags=["projects"],
    summary="Create a project",
    security=BEARER,
    responses=responses(201, "Created", **WRITE_PROBLEMS),
)
def create_project(org_id: Id, body: NameRequest) -> ProjectView:
    return ProjectView.of(resource_service().create_project(enter_org(app), body.name))


@app.get(
    "/orgs/<org_id>/projects/<project_id>",
    tags=["projects"],
    summary="A project",
    security=BEARER,
    responses=responses(200, "The project", **PROBLEMS),
)
def get_project(org_id: Id, project_id: Id) -> ProjectView:
    return ProjectView.of(resource_service().project(enter_org(app), project_id))


@app.patch(
    "/orgs/<org_id>/projects/<project_id>",
    tags=["projects"],
    summary="Rename a project",
    security=BEARER,
    responses=responses(200, "The project", **WRITE_PROBLEMS),
)
def rename_project(org_id: Id, project_id: Id, body: NameRequest) -> ProjectView:
    return ProjectView.of(resource_service().rename_project(enter_org(app), project_id, body.name))


@app.delete(
    "/orgs/<org_id>/projects/<project_id>",
    tags=["projects"],
    summary="Delete a project with its applications and their deployments",
    security=BEARER,
    responses=responses(204, "Deleted", **PROBLEMS),
)
def delete_project(org_id: Id, project_id: Id) -> Response[None]:
    resource_service().delete_project(enter_org(app), project_id)
    return _deleted()


# --- applications and deployments ---------------------------------------------------------------


@app.get(
    "/orgs/<org_id>/projects/<project_id>/applications",
    tags=["applications"],
    summary="Applications of a project",
    security=BEARER,
    responses=responses(200, "Applications, one page", **PROBLEMS),
)
def list_applications(org_id: Id, project_id: Id, limit: Limit = 50, cursor: Cursor = None) -> ApplicationList:
    items, next_cursor = _items(resource_service().applications(enter_org(app), project_id, limit, cursor))
    return ApplicationList(items=[ApplicationView.of(r) for r in items], next_cursor=next_cursor)


@app.post(
    "/orgs/<org_id>/projects/<project_id>/applications",
    status_code=201,
    tags=["applications"],
    summary="Create an application in a project",
    security=BEARER,
    responses=responses(201, "Created", **WRITE_PROBLEMS),
)
def create_application(org_id: Id, project_id: Id, body: NameRequest) -> ApplicationView:
    return ApplicationView.of(resource_service().create_application(enter_org(app), project_id, body.name))


@app.delete(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>",
    tags=["applications"],
    summary="Delete an application with its deployments",
    security=BEARER,
    responses=responses(204, "Deleted", **PROBLEMS),
)
def delete_application(org_id: Id, project_id: Id, app_id: Id) -> Response[None]:
    resource_service().delete_application(enter_org(app), project_id, app_id)
    return _deleted()


@app.get(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>/deployments",
    tags=["applications"],
    summary="Deployments of an application, newest first",
    security=BEARER,
    responses=responses(200, "Deployments, one page", **PROBLEMS),
)
def list_deployments(
    org_id: Id, project_id: Id, app_id: Id, limit: Limit = 50, cursor: Cursor = None
) -> DeploymentList:
    items, next_cursor = _items(resource_service().deployments(enter_org(app), project_id, app_id, limit, cursor))
    return DeploymentList(items=[DeploymentView.of(r) for r in items], next_cursor=next_cursor)


@app.post(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>/deployments",
    status_code=202,
    tags=["applications"],
    summary="Deploy an application (queued)",
    security=BEARER,
    responses=responses(202, "Queued", **WRITE_PROBLEMS),
)
def deploy(org_id: Id, project_id: Id, app_id: Id, body: DeployRequest | None = None) -> DeploymentView:
    ref = body.ref if body is not None else None
    return DeploymentView.of(resource_service().deploy(enter_org(app), project_id, app_id, ref))


# --- databases and notification channels ----------------------------------------------------------


@app.get(
    "/orgs/<org_id>/databases",
    tags=["databases"],
    summary="Databases",
    security=BEARER,
    responses=responses(200, "Databases, one page", **PROBLEMS),
)
def list_databases(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> DatabaseList:
    items, next_cursor = _items(resource_service().databases(enter_org(app), limit, cursor))
    return DatabaseList(items=[DatabaseView.of(r) for r in items], next_cursor=next_cursor)


@app.post(
    "/orgs/<org_id>/databases",
    status_code=201,
    tags=["databases"],
    summary="Create a database",
    security=BEARER,
    responses=responses(201, "Created", **WRITE_PROBLEMS),
)
def create_database(org_id: Id, body: DatabaseRequest) -> DatabaseView:
    return DatabaseView.of(resource_service().create_database(enter_org(app), body.name, body.engine))


@app.delete(
    "/orgs/<org_id>/databases/<db_id>",
    tags=["databases"],
    summary="Delete a database",
    security=BEARER,
    responses=responses(204, "Deleted", **PROBLEMS),
)
def delete_database(org_id: Id, db_id: Id) -> Response[None]:
    resource_service().delete_database(enter_org(app), db_id)
    return _deleted()


@app.get(
    "/orgs/<org_id>/notification-channels",
    tags=["notifications"],
    summary="Notification channels",
    security=BEARER,
    responses=responses(200, "Channels, one page", **PROBLEMS),
)
def list_channels(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> ChannelList:
    items, next_cursor = _items(resource_service().channels(enter_org(app), limit, cursor))
    return ChannelList(items=[ChannelView.of(r) for r in items], next_cursor=next_cursor)


@app.post(
    "/orgs/<org_id>/notification-channels",
    status_code=201,
    tags=["notifications"],
    summary="Create a notification channel",
    security=BEARER,
    responses=responses(201, "Created", **WRITE_PROBLEMS),
)
def create_channel(org_id: Id, body: ChannelRequest) -> ChannelView:
    return ChannelView.of(resource_service().create_channel(enter_org(app), body.name, body.kind, body.target))


@app.delete(
    "/orgs/<org_id>/notification-channels/<channel_id>",
    tags=["notifications"],
    summary="Delete a notification channel",
    security=BEARER,
    responses=responses(204, "Deleted", **PROBLEMS),
)
def delete_channel(org_id: Id, channel_id: Id) -> Response[None]:
    resource_service().delete_channel(enter_org(app), channel_id)
    return _deleted()


lambda_handler = lambda_entry(app)
