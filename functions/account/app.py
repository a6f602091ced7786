"""The signed-in person's account: `GET /me`, `PATCH /me`."""

from __future__ import annotations

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import SignedInUser
from kuploy_access.http.openapi_docs import route
from kuploy_access.http.schemas.accounts import Me, UpdateMeRequest
from kuploy_access.wiring import account_service

app = create_app()


@app.get(
    "/me", operation_id="getMe", **route("accounts", "My account", (200, "My account"), s403="api_key_not_allowed")
)
def get_me(user: SignedInUser) -> Me:
    return Me.model_validate(account_service().get(user.id).as_dict())


@app.patch(
    "/me",
    operation_id="updateMe",
    **route("accounts", "Change my display name", (200, "My account"), s403="api_key_not_allowed"),
)
def update_me(body: UpdateMeRequest, user: SignedInUser) -> Me:
    return Me.model_validate(account_service().rename(user.id, body.name).as_dict())


lambda_handler = lambda_entry(app)
