"""Organizations, members and billing: what `/orgs…` reads and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.organizations import MAX_RESOURCE_NAME_LENGTH, Member, Organization
from kuploy_access.http.schemas.paging import PageView


class CreateOrgRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=MAX_RESOURCE_NAME_LENGTH, examples=["Analytical Engines"])


class UpdateOrgRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=MAX_RESOURCE_NAME_LENGTH)
    require_2fa: bool | None = None


class CreatedOrg(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    role: Literal["owner"] = "owner"
    plan: str
    created_at: datetime


class LockedOutMember(BaseModel):
    model_config = ConfigDict(from_attributes=True)
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
            else [LockedOutMember.model_validate(m) for m in without_2fa],
        )


class MyOrg(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str = Field(validation_alias="org_id")
    name: str = Field(validation_alias="org_name")
    role: str
    plan: str


class MyOrgList(PageView[MyOrg]):
    pass


class MemberView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: str
    email: str
    name: str
    role: str
    joined_at: datetime
    two_factor_enabled: bool
    last_active_at: datetime | None


class MemberList(PageView[MemberView]):
    pass


class ChangeRoleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["admin", "member"]


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: str = Field(max_length=64)


class Billing(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    plan: Literal["free", "pro", "team"]


class SetPlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    plan: Literal["free", "pro", "team"]
