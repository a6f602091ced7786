"""Invitations: what `/orgs/{org_id}/invitations…`, `/invitations/{token}…` and
`/me/invitations…` read and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasPath, BaseModel, ConfigDict, Field

from kuploy_access.domain.invitations import Invitation
from kuploy_access.domain.paging import Page
from kuploy_access.http.schemas.paging import PageView


def _of_invitation(name: str) -> Any:
    """A field read from the invitation a `SentInvitation` carries."""
    return Field(validation_alias=AliasPath("invitation", name))


class InviteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320, examples=["grace@example.com"])
    role: Literal["admin", "member"]


class SentInvitationView(BaseModel):
    # Read from a `SentInvitation`: the invitation, and how its email went.
    model_config = ConfigDict(from_attributes=True)
    id: str = _of_invitation("id")
    email: str = _of_invitation("email")
    role: str = _of_invitation("role")
    status: Literal["pending"] = "pending"
    expires_at: datetime = _of_invitation("expires_at")
    email_delivery: Literal["sent", "failed"]


class OrgInvitationView(BaseModel):
    id: str
    email: str
    role: str
    status: Literal["pending", "expired"]
    invited_by: str
    created_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, invitation: Invitation, now: datetime) -> OrgInvitationView:
        # `expired` is not stored: a pending invitation past its expiry, at the time of asking.
        status = "expired" if invitation.is_expired(now) else "pending"
        return cls.model_validate({**vars(invitation), "status": status})


class OrgInvitationList(PageView[OrgInvitationView]):
    @classmethod
    def of(cls, page: Page[Invitation], now: datetime) -> OrgInvitationList:
        return cls(items=[OrgInvitationView.of(i, now) for i in page.items], next_cursor=page.next_cursor)


class PublicInvitation(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    org_name: str
    inviter_name: str
    email: str
    role: str
    expires_at: datetime


class MyInvitation(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    org_id: str
    org_name: str
    role: str
    invited_by: str = Field(validation_alias="inviter_name")
    expires_at: datetime


class MyInvitationList(PageView[MyInvitation]):
    pass


class Joined(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    org_id: str
    role: str
