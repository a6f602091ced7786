"""Sign-in: what `/auth/login`, `/auth/login/2fa`, `/auth/unlock` and
`/auth/reauthenticate` read and answer (the tokens themselves: `sessions.Tokens`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, repr=False)


class MfaRequired(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class SecondStepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mfa_token: str = Field(max_length=2048, repr=False)
    code: str | None = Field(
        default=None, max_length=16, repr=False, description="The 6-digit code of the authenticator"
    )
    recovery_code: str | None = Field(default=None, max_length=32, repr=False, description="One of the recovery codes")


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=512, repr=False, description="The token of the emailed unlock link")


class Unlocked(BaseModel):
    status: Literal["unlocked"] = "unlocked"


class ReauthenticateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024, repr=False)
    code: str | None = Field(
        default=None, max_length=16, repr=False, description="With 2FA on: the 6-digit code of the authenticator"
    )
    recovery_code: str | None = Field(
        default=None, max_length=32, repr=False, description="With 2FA on, instead of code: a recovery code"
    )
