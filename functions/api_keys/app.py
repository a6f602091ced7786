"""Organization API keys (`/orgs/{org_id}/api-keys…`) and the access review
(`/orgs/{org_id}/access-review`)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from aws_lambda_powertools.event_handler import Response
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.api_keys import MAX_EXPIRY_DAYS, MAX_GRACE_HOURS, ApiKey
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.org_guard import enter_org
from kuploy_access.http.pagination import paginate
from kuploy_access.http.params import BEARER, Cursor, Id, Limit
from kuploy_access.services.api_keys import IssuedKey
from kuploy_access.wiring import access_review_service, api_key_service

app = create_app()

PROBLEMS: dict[str, tuple[str, ...] | str] = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required"),
    "s404": "not_found",
}
# Making a key (sudo mode) may also ask for a recent sign-in.
SUDO_PROBLEMS: dict[str, tuple[str, ...] | str] = {
    "s403": ("forbidden", "api_key_not_allowed", "two_factor_required", "reauthentication_required"),
    "s404": "not_found",
}


class CreateKeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = Field(min_length=1, max_length=100, examples=["GitHub Actions deploy of web"])
    scopes: list[str] | None = Field(default=None, max_length=32, description="Permissions a key may hold")
    preset: Literal["read-only", "deploy", "full"] | None = None
    # Strict: JSON true or "30" is not a number of days.
    expires_in_days: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_DAYS, strict=True, description="null: never")


class RotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    grace_period_hours: int | None = Field(
        default=None,
        ge=0,
        le=MAX_GRACE_HOURS,
        strict=True,
        description="How long the old key keeps working; absent: it stops now",
    )


class CreatedKey(BaseModel):
    id: str
    key: str = Field(description="The secret: shown only in this answer")
    prefix: str
    description: str
    scopes: list[str]
    preset: str | None
    created_at: datetime
    expires_at: datetime | None

    @classmethod
    def of(cls, issued: IssuedKey) -> CreatedKey:
        k = issued.key
        return cls(
            id=k.id,
            key=issued.secret,
            prefix=k.prefix,
            description=k.description,
            scopes=sorted(k.scopes),
            preset=k.preset,
            created_at=k.created_at,
            expires_at=k.expires_at,
        )


class KeyView(BaseModel):
    id: str
    prefix: str
    description: str
    scopes: list[str]
    preset: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: str | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> KeyView:
        return cls(
            id=k.id,
            prefix=k.prefix,
            description=k.description,
            scopes=sorted(k.scopes),
            preset=k.preset,
            created_by=k.created_by,
            created_at=k.created_at,
            expires_at=k.expires_at,
            last_used_at=k.last_used_at,
            last_used_ip=k.last_used_ip or None,
            revoked_at=k.revoked_at,
        )


class KeyList(BaseModel):
    items: list[KeyView]
    next_cursor: str | None = None


class ReviewMember(BaseModel):
    user_id: str
    email: str
    role: str
    two_factor_enabled: bool
    last_active_at: datetime | None


class ReviewKey(BaseModel):
    id: str
    description: str
    scopes: list[str]
    created_by: str
    creator_is_member: bool
    created_at: datetime
    last_used_at: datetime | None


class FindingView(BaseModel):
    severity: Literal["high", "medium", "low"]
    code: str
    message: str
    subject: str


class AccessReviewView(BaseModel):
    members: list[ReviewMember]
    api_keys: list[ReviewKey]
    findings: list[FindingView]


@app.post(
    "/orgs/<org_id>/api-keys",
    status_code=201,
    tags=["api-keys"],
    summary="Create an API key (the secret is in this answer only)",
    description="Sudo mode.",
    security=BEARER,
    responses=responses(201, "The key", **SUDO_PROBLEMS, s422="validation_error"),
)
def create_key(org_id: Id, body: CreateKeyRequest) -> CreatedKey:
    caller = enter_org(app, sudo=True)
    issued = api_key_service().create(caller, body.description, body.scopes, body.preset, body.expires_in_days)
    return CreatedKey.of(issued)


@app.get(
    "/orgs/<org_id>/api-keys",
    tags=["api-keys"],
    summary="The organization's API keys, without secrets",
    security=BEARER,
    responses=responses(200, "Keys, newest first", **PROBLEMS),
)
def list_keys(org_id: Id, limit: Limit = 50, cursor: Cursor = None) -> KeyList:
    page = paginate(api_key_service().of_org(enter_org(app)), limit, cursor)
    return KeyList(items=[KeyView.of(k) for k in page.items], next_cursor=page.next_cursor)


@app.delete(
    "/orgs/<org_id>/api-keys/<key_id>",
    tags=["api-keys"],
    summary="Revoke an API key; it is refused from then on (README: revocation bound)",
    security=BEARER,
    responses=responses(204, "Revoked", **PROBLEMS),
)
def revoke_key(org_id: Id, key_id: Id) -> Response[None]:
    api_key_service().revoke(enter_org(app), key_id)
    return Response(status_code=204)


@app.post(
    "/orgs/<org_id>/api-keys/<key_id>/rotate",
    status_code=201,
    tags=["api-keys"],
    summary="Replace a key with a new one (same description and scopes)",
    description="Without grace_period_hours the old key is refused at once. Sudo mode.",
    security=BEARER,
    responses=responses(201, "The new key", **SUDO_PROBLEMS, s422="validation_error"),
)
def rotate_key(org_id: Id, key_id: Id, body: RotateRequest | None = None) -> CreatedKey:
    grace = body.grace_period_hours if body is not None else None
    return CreatedKey.of(api_key_service().rotate(enter_org(app, sudo=True), key_id, grace))


@app.get(
    "/orgs/<org_id>/access-review",
    tags=["api-keys"],
    summary="Who and what can act in the organization, and what to fix",
    security=BEARER,
    responses=responses(200, "The review", **PROBLEMS),
)
def access_review(org_id: Id) -> AccessReviewView:
    review = access_review_service().review(enter_org(app))
    return AccessReviewView(
        members=[
            ReviewMember(
                user_id=m.user_id,
                email=m.email,
                role=m.role,
                two_factor_enabled=m.two_factor_enabled,
                last_active_at=m.last_active_at,
            )
            for m in review.members
        ],
        api_keys=[
            ReviewKey(
                id=r.key.id,
                description=r.key.description,
                scopes=sorted(r.key.scopes),
                created_by=r.key.created_by,
                creator_is_member=r.creator_is_member,
                created_at=r.key.created_at,
                last_used_at=r.key.last_used_at,
            )
            for r in review.api_keys
        ],
        findings=[FindingView.model_validate(vars(f)) for f in review.findings],
    )


lambda_handler = lambda_entry(app)
