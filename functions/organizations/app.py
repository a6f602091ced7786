"""Organizations, their members, billing plan and audit log: `/orgs`, `/orgs/{org_id}`,
`…/members`, `…/transfer-ownership`, `…/billing`, `…/audit-log`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access.domain.audit import AuditFilter
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import Client, OrgMember, OrgMemberInSudoMode, OrgMemberOrSelf, SignedInUser, SudoProof
from kuploy_access.http.idempotency import idempotent, idempotent_problems
from kuploy_access.http.openapi_docs import Problems, route
from kuploy_access.http.params import Cursor, Id, Limit
from kuploy_access.http.schemas.audit import AuditEventList
from kuploy_access.http.schemas.organizations import (
    Billing,
    ChangeRoleRequest,
    CreatedOrg,
    CreateOrgRequest,
    MemberList,
    MemberView,
    MyOrgList,
    OrgView,
    SetPlanRequest,
    TransferRequest,
    UpdateOrgRequest,
)
from kuploy_access.wiring import member_service, organization_service

app = create_app()

# Also answered, by the routes' permission table (tools/generate_openapi.py): 403
# `api_key_not_allowed` on the routes for users only.
ORG_PROBLEMS: Problems = {
    "s403": ("forbidden", "two_factor_required"),
    "s404": "not_found",
}
# Sensitive routes (sudo mode) may also ask for a recent sign-in.
SUDO_ORG_PROBLEMS: Problems = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required", "reauthentication_required"),
    "s404": "not_found",
}


@app.post(
    "/orgs",
    status_code=201,
    operation_id="createOrganization",
    **route(
        "organizations",
        "Create an organization; you become its owner",
        (201, "Created"),
        **idempotent_problems(
            Problems(s403=("api_key_not_allowed", "email_not_verified"), s422="validation_error", s429="rate_limited")
        ),
    ),
)
@idempotent
def create_org(body: CreateOrgRequest, user: SignedInUser, client: Client) -> CreatedOrg:
    org, _ = organization_service().create(user, body.name, client)
    return CreatedOrg.model_validate(org)


@app.get(
    "/orgs",
    operation_id="listMyOrganizations",
    **route(
        "organizations", "My organizations, with my role in each", (200, "My organizations"), s403="api_key_not_allowed"
    ),
)
def list_my_orgs(user: SignedInUser, limit: Limit = 50, cursor: Cursor = None) -> MyOrgList:
    return MyOrgList.model_validate(organization_service().mine(user.id, limit, cursor))


@app.get(
    "/orgs/<org_id>",
    operation_id="getOrganization",
    **route("organizations", "An organization", (200, "The organization"), **ORG_PROBLEMS),
)
def get_org(org_id: Id, caller: OrgMember) -> OrgView:
    return OrgView.of(caller.org, organization_service().members_without_two_factor(caller))


@app.patch(
    "/orgs/<org_id>",
    operation_id="updateOrganization",
    **route(
        "organizations",
        "Rename an organization or change its policies",
        (200, "The organization"),
        description="Changing `require_2fa` needs sudo mode.",
        **(SUDO_ORG_PROBLEMS | Problems(s422="validation_error")),
    ),
)
def update_org(org_id: Id, body: UpdateOrgRequest, caller: OrgMember, prove_sudo: SudoProof) -> OrgView:
    org = organization_service().change_settings(caller, body.name, body.require_2fa, prove_sudo)
    return OrgView.of(org, organization_service().members_without_two_factor(caller))


@app.delete(
    "/orgs/<org_id>",
    operation_id="deleteOrganization",
    **route(
        "organizations",
        "Delete an organization with its members, invitations, keys and resources",
        (204, "Deleted"),
        description="Sudo mode.",
        **SUDO_ORG_PROBLEMS,
    ),
)
def delete_org(org_id: Id, caller: OrgMemberInSudoMode) -> Response[None]:
    organization_service().delete(caller)
    return Response(status_code=204)


@app.get(
    "/orgs/<org_id>/members",
    operation_id="listMembers",
    **route("members", "Members of an organization", (200, "Members, one page"), **ORG_PROBLEMS),
)
def list_members(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> MemberList:
    return MemberList.model_validate(member_service().page(caller, limit, cursor))


@app.patch(
    "/orgs/<org_id>/members/<user_id>",
    operation_id="changeMemberRole",
    **route(
        "members",
        "Change a member's role (admin or member)",
        (200, "The member"),
        s403=("forbidden", "api_key_not_allowed", "owner_protected", "two_factor_required"),
        s404="not_found",
        s409="conflict",
    ),
)
def change_role(org_id: Id, user_id: Id, body: ChangeRoleRequest, caller: OrgMember) -> MemberView:
    return MemberView.model_validate(member_service().change_role(caller, user_id, body.role))


@app.delete(
    "/orgs/<org_id>/members/<user_id>",
    operation_id="removeMember",
    **route(
        "members",
        "Remove a member, or leave (your own user id)",
        (204, "Removed"),
        s403=("forbidden", "api_key_not_allowed", "owner_protected", "two_factor_required"),
        s404="not_found",
    ),
)
def remove_member(org_id: Id, user_id: Id, caller: OrgMemberOrSelf) -> Response[None]:
    member_service().remove(caller, user_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/transfer-ownership",
    operation_id="transferOwnership",
    **route(
        "members",
        "Make another member the owner; you become an admin",
        (200, "The new owner"),
        description="Sudo mode. 403 `owner_protected` when the ownership moved meanwhile.",
        s403=(
            "forbidden",
            "api_key_not_allowed",
            "two_factor_required",
            "reauthentication_required",
            "owner_protected",
        ),
        s404="not_found",
    ),
)
def transfer_ownership(org_id: Id, body: TransferRequest, caller: OrgMemberInSudoMode) -> MemberView:
    return MemberView.model_validate(member_service().transfer_ownership(caller, body.user_id))


@app.get(
    "/orgs/<org_id>/billing",
    operation_id="getBilling",
    **route("billing", "The organization's plan", (200, "The plan"), **ORG_PROBLEMS),
)
def get_billing(org_id: Id, caller: OrgMember) -> Billing:
    return Billing.model_validate(caller.org)


@app.put(
    "/orgs/<org_id>/billing",
    operation_id="setBillingPlan",
    **route("billing", "Change the organization's plan", (200, "The plan"), **ORG_PROBLEMS),
)
def set_billing(org_id: Id, body: SetPlanRequest, caller: OrgMember) -> Billing:
    return Billing.model_validate(organization_service().set_plan(caller, body.plan))


@app.get(
    "/orgs/<org_id>/audit-log",
    operation_id="listAuditLog",
    **route(
        "audit",
        "What changed in the organization, newest first",
        (200, "Events, one page"),
        description=(
            "`actor` and `action` narrow the log; a cursor pages within the same filter. A filtered page "
            "reads at most 1,000 events, so it may be short, even empty, with a `next_cursor`."
        ),
        **ORG_PROBLEMS,
    ),
)
def audit_log(
    org_id: Id,
    caller: OrgMember,
    limit: Limit = 50,
    cursor: Cursor = None,
    actor: Annotated[
        str, Query(max_length=254, description="Only this actor's events: a user or key id, or a member's email")
    ] = "",
    action: Annotated[
        str, Query(max_length=64, description="Only this action (`api_key.created`), or a group (`api_key`)")
    ] = "",
) -> AuditEventList:
    only = AuditFilter(actor=actor, action=action)
    return AuditEventList.of(organization_service().audit_log(caller, limit, cursor, only))


lambda_handler = lambda_entry(app)
