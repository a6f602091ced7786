"""The signed-in person's account: `GET /me`, `PATCH /me`."""

from __future__ import annotations

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import SignedInUser
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.params import BEARER
from kuploy_access.http.schemas.accounts import Me, UpdateMeRequest
from kuploy_access.wiring import account_service

app = create_app()

ME_RESPONSES = responses(200, "My account", s403="api_key_not_allowed")


@app.get("/me", tags=["account"], summary="My account", security=BEARER, responses=ME_RESPONSES)
def get_me(user: SignedInUser) -> Me:
    return Me.model_validate(account_service().get(user.id).as_dict())


@app.patch("/me", tags=["account"], summary="Change my display name", security=BEARER, responses=ME_RESPONSES)
def update_me(body: UpdateMeRequest, user: SignedInUser) -> Me:
    return Me.model_validate(account_service().rename(user.id, body.name).as_dict())


lambda_handler = lambda_entry(app)
