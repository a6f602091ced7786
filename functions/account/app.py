"""The signed-in person's account: `GET /me`, `PATCH /me`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.guard import require_user
from kuploy_access.http.openapi_docs import responses
from kuploy_access.wiring import account_service

app = create_app()


class OrganizationSummary(BaseModel):
    id: str
    name: str
    role: str


class Me(BaseModel):
    id: str
    email: str
    name: str
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime
    organizations: list[OrganizationSummary]


class UpdateMeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)


ME_RESPONSES = responses(200, "My account", s403="api_key_not_allowed")


@app.get("/me", tags=["account"], summary="My account", security=[{"bearerAuth": []}], responses=ME_RESPONSES)
def get_me() -> Me:
    user = require_user(app.current_event.raw_event)
    return Me.model_validate(account_service().get(user.id).as_dict())


@app.patch(
    "/me", tags=["account"], summary="Change my display name", security=[{"bearerAuth": []}], responses=ME_RESPONSES
)
def update_me(body: UpdateMeRequest) -> Me:
    user = require_user(app.current_event.raw_event)
    return Me.model_validate(account_service().rename(user.id, body.name).as_dict())


lambda_handler = lambda_entry(app)
