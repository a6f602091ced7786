"""Sign-up and email verification: what `/auth/signup`, `/auth/verify-email` and
`/auth/resend-verification` read and answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SignUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320, examples=["ada@example.com"])
    password: str = Field(max_length=1024, repr=False, description="8–256 characters, not a commonly used password")
    name: str | None = Field(default=None, max_length=200)


class VerifyEmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=512, repr=False)


class EmailRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)


class VerificationSent(BaseModel):
    status: Literal["verification_sent"] = "verification_sent"


class Verified(BaseModel):
    status: Literal["verified"] = "verified"
    password_set: bool = Field(
        description="False when the link was a resent one, which sets no password: "
        "choose one with POST /auth/password/forgot"
    )
