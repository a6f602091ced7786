"""The resources the roles guard: projects, applications, deployments, databases and
notification channels of an organization."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import OrgMember
from kuploy_access.http.idempotency import idempotent, idempotent_problems
from kuploy_access.http.openapi_docs import Problems, route
from kuploy_access.http.params import Cursor, Id, Limit
from kuploy_access.http.schemas.resources import (
    ApplicationList,
    ApplicationView,
    ChannelList,
    ChannelRequest,
    ChannelView,
    DatabaseList,
    DatabaseRequest,
    DatabaseView,
    DeploymentList,
    DeploymentView,
    DeployRequest,
    NameRequest,
    ProjectList,
    ProjectView,
)
from kuploy_access.wiring import resource_service

app = create_app()

PROBLEMS: Problems = {"s403": "forbidden", "s404": "not_found"}
WRITE_PROBLEMS: Problems = {**PROBLEMS, "s422": "validation_error"}
CREATE_PROBLEMS = idempotent_problems(WRITE_PROBLEMS)
# An email channel's target is an address, refused as any address is (domain/emails.py).
CHANNEL_PROBLEMS: Problems = {**PROBLEMS, "s422": ("validation_error", "invalid_email")}
CREATE_CHANNEL_PROBLEMS = idempotent_problems(CHANNEL_PROBLEMS)


# --- projects ---------------------------------------------------------------------------------


@app.get(
    "/orgs/<org_id>/projects",
    operation_id="listProjects",
    **route("projects", "Projects", (200, "Projects, one page"), **PROBLEMS),
)
def list_projects(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> ProjectList:
    return ProjectList.model_validate(resource_service().projects(caller, limit, cursor))


@app.post(
    "/orgs/<org_id>/projects",
    operation_id="createProject",
    status_code=201,
    **route("projects", "Create a project", (201, "Created"), **CREATE_PROBLEMS),
)
@idempotent
def create_project(org_id: Id, body: NameRequest, caller: OrgMember) -> ProjectView:
    return ProjectView.model_validate(resource_service().create_project(caller, body.name))


@app.get(
    "/orgs/<org_id>/projects/<project_id>",
    operation_id="getProject",
    **route("projects", "A project", (200, "The project"), **PROBLEMS),
)
def get_project(org_id: Id, project_id: Id, caller: OrgMember) -> ProjectView:
    return ProjectView.model_validate(resource_service().project(caller, project_id))


@app.patch(
    "/orgs/<org_id>/projects/<project_id>",
    operation_id="renameProject",
    **route("projects", "Rename a project", (200, "The project"), **WRITE_PROBLEMS),
)
def rename_project(org_id: Id, project_id: Id, body: NameRequest, caller: OrgMember) -> ProjectView:
    return ProjectView.model_validate(resource_service().rename_project(caller, project_id, body.name))


@app.delete(
    "/orgs/<org_id>/projects/<project_id>",
    operation_id="deleteProject",
    **route("projects", "Delete a project with its applications and their deployments", (204, "Deleted"), **PROBLEMS),
)
def delete_project(org_id: Id, project_id: Id, caller: OrgMember) -> Response[None]:
    resource_service().delete_project(caller, project_id)
    return Response(status_code=204)


# --- applications and deployments ---------------------------------------------------------------


@app.get(
    "/orgs/<org_id>/projects/<project_id>/applications",
    operation_id="listApplications",
    **route("applications", "Applications of a project", (200, "Applications, one page"), **PROBLEMS),
)
def list_applications(
    org_id: Id, project_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None
) -> ApplicationList:
    return ApplicationList.model_validate(resource_service().applications(caller, project_id, limit, cursor))


@app.post(
    "/orgs/<org_id>/projects/<project_id>/applications",
    operation_id="createApplication",
    status_code=201,
    **route("applications", "Create an application in a project", (201, "Created"), **CREATE_PROBLEMS),
)
@idempotent
def create_application(org_id: Id, project_id: Id, body: NameRequest, caller: OrgMember) -> ApplicationView:
    return ApplicationView.model_validate(resource_service().create_application(caller, project_id, body.name))


@app.delete(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>",
    operation_id="deleteApplication",
    **route("applications", "Delete an application with its deployments", (204, "Deleted"), **PROBLEMS),
)
def delete_application(org_id: Id, project_id: Id, app_id: Id, caller: OrgMember) -> Response[None]:
    resource_service().delete_application(caller, project_id, app_id)
    return Response(status_code=204)


@app.get(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>/deployments",
    operation_id="listDeployments",
    **route("applications", "Deployments of an application, newest first", (200, "Deployments, one page"), **PROBLEMS),
)
def list_deployments(
    org_id: Id, project_id: Id, app_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None
) -> DeploymentList:
    return DeploymentList.of(resource_service().deployments(caller, project_id, app_id, limit, cursor))


@app.post(
    "/orgs/<org_id>/projects/<project_id>/applications/<app_id>/deployments",
    operation_id="createDeployment",
    status_code=202,
    **route("applications", "Deploy an application (queued)", (202, "Queued"), **CREATE_PROBLEMS),
)
@idempotent
def deploy(
    org_id: Id, project_id: Id, app_id: Id, caller: OrgMember, body: DeployRequest | None = None
) -> DeploymentView:
    ref = body.ref if body is not None else None
    return DeploymentView.of(resource_service().deploy(caller, project_id, app_id, ref))


# --- databases and notification channels ----------------------------------------------------------


@app.get(
    "/orgs/<org_id>/databases",
    operation_id="listDatabases",
    **route("databases", "Databases", (200, "Databases, one page"), **PROBLEMS),
)
def list_databases(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> DatabaseList:
    return DatabaseList.model_validate(resource_service().databases(caller, limit, cursor))


@app.post(
    "/orgs/<org_id>/databases",
    operation_id="createDatabase",
    status_code=201,
    **route("databases", "Create a database", (201, "Created"), **CREATE_PROBLEMS),
)
@idempotent
def create_database(org_id: Id, body: DatabaseRequest, caller: OrgMember) -> DatabaseView:
    return DatabaseView.model_validate(resource_service().create_database(caller, body.name, body.engine))


@app.delete(
    "/orgs/<org_id>/databases/<db_id>",
    operation_id="deleteDatabase",
    **route("databases", "Delete a database", (204, "Deleted"), **PROBLEMS),
)
def delete_database(org_id: Id, db_id: Id, caller: OrgMember) -> Response[None]:
    resource_service().delete_database(caller, db_id)
    return Response(status_code=204)


@app.get(
    "/orgs/<org_id>/notification-channels",
    operation_id="listNotificationChannels",
    **route("notifications", "Notification channels", (200, "Channels, one page"), **PROBLEMS),
)
def list_channels(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> ChannelList:
    return ChannelList.model_validate(resource_service().channels(caller, limit, cursor))


@app.post(
    "/orgs/<org_id>/notification-channels",
    operation_id="createNotificationChannel",
    status_code=201,
    **route("notifications", "Create a notification channel", (201, "Created"), **CREATE_CHANNEL_PROBLEMS),
)
@idempotent
def create_channel(org_id: Id, body: ChannelRequest, caller: OrgMember) -> ChannelView:
    return ChannelView.model_validate(resource_service().create_channel(caller, body.name, body.kind, body.target))


@app.delete(
    "/orgs/<org_id>/notification-channels/<channel_id>",
    operation_id="deleteNotificationChannel",
    **route("notifications", "Delete a notification channel", (204, "Deleted"), **PROBLEMS),
)
def delete_channel(org_id: Id, channel_id: Id, caller: OrgMember) -> Response[None]:
    resource_service().delete_channel(caller, channel_id)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
