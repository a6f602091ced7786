"""API keys and the access review: what `/orgs/{org_id}/api-keys…` and
`/orgs/{org_id}/access-review` read and answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasPath, BaseModel, BeforeValidator, ConfigDict, Field

from kuploy_access.domain.api_keys import MAX_EXPIRY_DAYS, MAX_GRACE_HOURS
from kuploy_access.http.schemas.paging import PageView

# A key's scopes are a set; answered in order, so the same key reads the same every time.
Scopes = Annotated[list[str], BeforeValidator(sorted)]
# Stored as "" until the key is first used.
LastUsedIp = Annotated[str | None, BeforeValidator(lambda ip: ip or None)]


def _of_key(name: str) -> Any:
    """A field read from the stored key that an `IssuedKey` or a `KeyReview` carries."""
    return Field(validation_alias=AliasPath("key", name))


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
    # Read from an `IssuedKey`: the stored key, and beside it the secret.
    model_config = ConfigDict(from_attributes=True)
    id: str = _of_key("id")
    key: str = Field(validation_alias="secret", description="The secret: shown only in this answer")
    prefix: str = _of_key("prefix")
    description: str = _of_key("description")
    scopes: Scopes = _of_key("scopes")
    preset: str | None = _of_key("preset")
    created_at: datetime = _of_key("created_at")
    expires_at: datetime | None = _of_key("expires_at")


class KeyView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    prefix: str
    description: str
    scopes: Scopes
    preset: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    last_used_ip: LastUsedIp
    revoked_at: datetime | None


class KeyList(PageView[KeyView]):
    # Published without `next_cursor` among the required fields, as before `PageView`.
    next_cursor: str | None = None


class ReviewMember(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    user_id: str
    email: str
    role: str
    two_factor_enabled: bool
    last_active_at: datetime | None


class ReviewKey(BaseModel):
    # Read from a `KeyReview`: the key, and whether its creator is still a member.
    model_config = ConfigDict(from_attributes=True)
    id: str = _of_key("id")
    description: str = _of_key("description")
    scopes: Scopes = _of_key("scopes")
    created_by: str = _of_key("created_by")
    creator_is_member: bool
    created_at: datetime = _of_key("created_at")
    last_used_at: datetime | None = _of_key("last_used_at")


class FindingView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    severity: Literal["high", "medium", "low"]
    code: str
    message: str
    subject: str


class AccessReviewView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    members: list[ReviewMember]
    api_keys: list[ReviewKey]
    findings: list[FindingView]
