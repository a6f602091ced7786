"""Organization API keys (`/orgs/{org_id}/api-keys…`) and the access review
(`/orgs/{org_id}/access-review`)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import OrgMember, OrgMemberInSudoMode
from kuploy_access.http.idempotency import idempotent, idempotent_problems
from kuploy_access.http.openapi_docs import Problems, route
from kuploy_access.http.params import Cursor, Id, Limit
from kuploy_access.http.schemas.api_keys import AccessReviewView, CreatedKey, CreateKeyRequest, KeyList, RotateRequest
from kuploy_access.wiring import access_review_service, api_key_service

app = create_app()

PROBLEMS: Problems = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required"),
    "s404": "not_found",
}
# Making a key (sudo mode) may also ask for a recent sign-in.
SUDO_PROBLEMS: Problems = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required", "reauthentication_required"),
    "s404": "not_found",
}


@app.post(
    "/orgs/<org_id>/api-keys",
    status_code=201,
    operation_id="createApiKey",
    **route(
        "api-keys",
        "Create an API key (the secret is in this answer only)",
        (201, "The key"),
        description="Sudo mode. A replay (Idempotency-Key) answers the same key again, to the same caller only.",
        **idempotent_problems(SUDO_PROBLEMS | Problems(s422="validation_error")),
    ),
)
@idempotent
def create_key(org_id: Id, body: CreateKeyRequest, caller: OrgMemberInSudoMode) -> CreatedKey:
    issued = api_key_service().create(caller, body.description, body.scopes, body.preset, body.expires_in_days)
    return CreatedKey.model_validate(issued)


@app.get(
    "/orgs/<org_id>/api-keys",
    operation_id="listApiKeys",
    **route("api-keys", "The organization's API keys, without secrets", (200, "Keys, newest first"), **PROBLEMS),
)
def list_keys(org_id: Id, caller: OrgMember, limit: Limit = 50, cursor: Cursor = None) -> KeyList:
    return KeyList.model_validate(api_key_service().page(caller, limit, cursor))


@app.delete(
    "/orgs/<org_id>/api-keys/<key_id>",
    operation_id="revokeApiKey",
    **route(
        "api-keys",
        "Revoke an API key; it is refused from then on (README: revocation bound)",
        (204, "Revoked"),
        **PROBLEMS,
    ),
)
def revoke_key(org_id: Id, key_id: Id, caller: OrgMember) -> Response[None]:
    api_key_service().revoke(caller, key_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/api-keys/<key_id>/rotate",
    status_code=201,
    operation_id="rotateApiKey",
    **route(
        "api-keys",
        "Replace a key with a new one (same description and scopes)",
        (201, "The new key"),
        description="Without grace_period_hours the old key is refused at once. Sudo mode.",
        **(SUDO_PROBLEMS | Problems(s422="validation_error")),
    ),
)
def rotate_key(org_id: Id, key_id: Id, caller: OrgMemberInSudoMode, body: RotateRequest | None = None) -> CreatedKey:
    grace = body.grace_period_hours if body is not None else None
    return CreatedKey.model_validate(api_key_service().rotate(caller, key_id, grace))


@app.get(
    "/orgs/<org_id>/access-review",
    operation_id="getAccessReview",
    **route("audit", "Who and what can act in the organization, and what to fix", (200, "The review"), **PROBLEMS),
)
def access_review(org_id: Id, caller: OrgMember) -> AccessReviewView:
    return AccessReviewView.model_validate(access_review_service().review(caller))


lambda_handler = lambda_entry(app)
