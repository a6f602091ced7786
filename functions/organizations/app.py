"""Organizations, their members, billing plan and audit log: `/orgs`, `/orgs/{org_id}`,
`…/members`, `…/transfer-ownership`, `…/billing`, `…/audit-log`."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.organizations import Member, Organization
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.guard import require_user
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.org_guard import enter_org
from kuploy_access.http.pagination import paginate
from kuploy_access.http.params import BEARER, Cursor, Id, Limit
from kuploy_access.http.schemas import AuditEventList, client_of
from kuploy_access.http.sudo import require_sudo
from kuploy_access.wiring import member_service, organization_service

app = create_app()

ORG_PROBLEMS: dict[str, tuple[str, ...] | str] = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required"),
    "s404": "not_found",
}
# Sensitive routes (sudo mode) may also ask for a recent sign-in.
SUDO_ORG_PROBLEMS: dict[str, tuple[str, ...] | str] = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required", "reauthentication_required"),
    "s404": "not_found",
}


class CreateOrgRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200, examples=["Analytical Engines"])


class UpdateOrgRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    require_2fa: bool | None = None


class CreatedOrg(BaseModel):
    id: str
    name: str
    role: Literal["owner"] = "owner"
    plan: str
    created_at: datetime


class LockedOutMember(BaseModel):
    user_id: str
    email: str
    role: str


class OrgView(BaseModel):
    id: str
    name: str
    plan: str
    require_2fa: bool
    created_at: datetime
    member_count: int
    members_without_2fa: list[LockedOutMember] | None = Field(
        default=None,
        description="For those who may change the policy (org:update): the members `require_2fa` locks out, "
        "or would lock out once switched on (at most 100).",
    )

    @classmethod
    def of(cls, org: Organization, without_2fa: list[Member] | None = None) -> OrgView:
        return cls(
            id=org.id,
            name=org.name,
            plan=org.plan,
            require_2fa=org.require_2fa,
            created_at=org.created_at,
            member_count=org.member_count,
            members_without_2fa=None
            if without_2fa is None
            else [LockedOutMember(user_id=m.user_id, email=m.email, role=m.role) for m in without_2fa],
        )


class MyOrg(BaseModel):
    id: str
    name: str
    role: str
    plan: str


class MyOrgList(BaseModel):
    items: list[MyOrg]
    next_cursor: str | None


class MemberView(BaseModel):
    user_id: str
    email: str
    name: str
    role: str
    joined_at: datetime
    two_factor_enabled: bool
    last_active_at: datetime | None

    @classmethod
    def of(cls, member: Member) -> MemberView:
        return cls(
            user_id=member.user_id,
            email=member.email,
            name=member.name,
            role=member.role,
            joined_at=member.joined_at,
            two_factor_enabled=member.two_factor_enabled,
            last_active_at=member.last_active_at,
        )


class MemberList(BaseModel):
    items: list[MemberView]
    next_cursor: str | None


class ChangeRoleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "member"]


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(max_length=64)


class Billing(BaseModel):
    plan: Literal["free", "pro", "team"]


class SetPlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Literal["free", "pro", "team"]


@app.post(
    "/orgs",
    status_code=201,
    tags=["organizations"],
    summary="Create an organization; you become its owner",
    security=BEARER,
    responses=responses(201, "Created", s403=("api_key_not_allowed", "email_not_verified"), s422="validation_error"),
)
def create_org(body: CreateOrgRequest) -> CreatedOrg:
    user = require_user(app.current_event.raw_event)
    org, _ = organization_service().create(user, body.name, client_of(app.current_event))
    return CreatedOrg(id=org.id, name=org.name, plan=org.plan, created_at=org.created_at)


@app.get(
    "/orgs",
    tags=["organizations"],
    summary="My organizations, with my role in each",
    security=BEARER,
    responses=responses(200, "My organizations", s403="api_key_not_allowed"),
)
def list_my_orgs(limit: Limit = 50, cursor: Cursor = None) -> MyOrgList:
    user = require_user(app.current_event.raw_event)
    page = paginate(organization_service().mine(user.id), limit, cursor)
    return MyOrgList(
        items=[MyOrg(id=m.org_id, name=m.org_name, role=m.role, plan=m.plan) for m in page.items],
        next_cursor=page.next_cursor,
    )


@app.get(
    "/orgs/<org_id>",
    tags=["organizations"],
    summary="An organization",
    security=BEARER,
    responses=responses(200, "The organization", **ORG_PROBLEMS),
)
def get_org(org_id: Id) -> OrgView:
    caller = enter_org(app)
    return OrgView.of(caller.org, organization_service().members_without_two_factor(caller))


@app.patch(
    "/orgs/<org_id>",
    tags=["organizations"],
    summary="Rename an organization or change its policies",
    description="Changing `require_2fa` needs sudo mode.",
    security=BEARER,
    responses=responses(200, "The organization", **SUDO_ORG_PROBLEMS, s422="validation_error"),
)
def update_org(org_id: Id, body: UpdateOrgRequest) -> OrgView:
    caller = enter_org(app)
    changes_policy = body.require_2fa is not None and body.require_2fa != caller.org.require_2fa
    if changes_policy:
        require_sudo(app.current_event.raw_event)
    if body.name is None and body.require_2fa is not None and not changes_policy:
        org = caller.org  # the policy is already what was asked: nothing to write
    else:
        # An unchanged policy is not written, so that no racing change is undone
        # outside sudo mode.
        org = organization_service().update(caller, body.name, body.require_2fa if changes_policy else None)
    return OrgView.of(org, organization_service().members_without_two_factor(caller))


@app.delete(
    "/orgs/<org_id>",
    tags=["organizations"],
    summary="Delete an organization with its members, invitations, keys and resources",
    description="Sudo mode.",
    security=BEARER,
    responses=responses(204, "Deleted", **SUDO_ORG_PROBLEMS),
)
def delete_org(org_id: Id) -> Response[None]:
    organization_service().delete(enter_org(app, sudo=True))
    return Response(status_code=204)


@app.get(
    "/orgs/<org_id>/members",
    tags=["members"],
    summary="Members of an organization",
    security=BEARER,
    responses=responses(200, "Members, one page", **ORG_PROBLEMS),
)
def list_members(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> MemberList:
    page = member_service().page(enter_org(app), limit, cursor)
    return MemberList(items=[MemberView.of(m) for m in page.items], next_cursor=page.next_cursor)


@app.patch(
    "/orgs/<org_id>/members/<user_id>",
    tags=["members"],
    summary="Change a member's role (admin or member)",
    security=BEARER,
    responses=responses(
        200, "The member", s403=("forbidden", "api_key_not_allowed", "owner_protected"), s404="not_found"
    ),
)
def change_role(org_id: Id, user_id: Id, body: ChangeRoleRequest) -> MemberView:
    return MemberView.of(member_service().change_role(enter_org(app), user_id, body.role))


@app.delete(
    "/orgs/<org_id>/members/<user_id>",
    tags=["members"],
    summary="Remove a member, or leave (your own user id)",
    security=BEARER,
    responses=responses(204, "Removed", s403=("forbidden", "api_key_not_allowed", "owner_protected"), s404="not_found"),
)
def remove_member(org_id: Id, user_id: Id) -> Response[None]:
    me = require_user(app.current_event.raw_event)
    caller = enter_org(app, acting_on_self=user_id == me.id)
    member_service().remove(caller, user_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/transfer-ownership",
    tags=["members"],
    summary="Make another member the owner; you become an admin",
    description="Sudo mode.",
    security=BEARER,
    responses=responses(200, "The new owner", **SUDO_ORG_PROBLEMS),
)
def transfer_ownership(org_id: Id, body: TransferRequest) -> MemberView:
    return MemberView.of(member_service().transfer_ownership(enter_org(app, sudo=True), body.user_id))


@app.get(
    "/orgs/<org_id>/billing",
    tags=["billing"],
    summary="The organization's plan",
    security=BEARER,
    responses=responses(200, "The plan", **ORG_PROBLEMS),
)
def get_billing(org_id: Id) -> Billing:
    return Billing(plan=enter_org(app).org.plan)  # type: ignore[arg-type]


@app.put(
    "/orgs/<org_id>/billing",
    tags=["billing"],
    summary="Change the organization's plan",
    security=BEARER,
    responses=responses(200, "The plan", **ORG_PROBLEMS),
)
def set_billing(org_id: Id, body: SetPlanRequest) -> Billing:
    org = organization_service().set_plan(enter_org(app), body.plan)
    return Billing(plan=org.plan)  # type: ignore[arg-type]


@app.get(
    "/orgs/<org_id>/audit-log",
    tags=["audit"],
    summary="What changed in the organization, newest first",
    security=BEARER,
    responses=responses(200, "Events, one page", **ORG_PROBLEMS),
)
def audit_log(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> AuditEventList:
    return AuditEventList.of(organization_service().audit_log(enter_org(app), limit, cursor))


lambda_handler = lambda_entry(app)
