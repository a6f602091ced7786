"""The signed-in person's account: what `GET /me` and `PATCH /me` read and answer."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class OrganizationSummary(BaseModel):
    id: str
    name: str
    role: str


class LinkedIdentity(BaseModel):
    provider: str
    # The address the provider gave when it was linked (None: it gave none).
    email: str | None
    linked_at: datetime


class Me(BaseModel):
    id: str
    email: str
    name: str
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime
    organizations: list[OrganizationSummary]
    # False: the account signs in only with a provider (the reset flow sets a password).
    has_password: bool
    identities: list[LinkedIdentity]


class UpdateMeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
