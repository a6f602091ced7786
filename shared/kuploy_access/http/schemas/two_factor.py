"""Two-factor authentication of the signed-in account: what `/me/2fa/…` reads and answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CodeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(max_length=32, repr=False, description="The current 6-digit code of the authenticator")


class DisableRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024, repr=False)
    code: str = Field(max_length=32, repr=False, description="A current TOTP code or a recovery code")


class Setup(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodes(BaseModel):
    recovery_codes: list[str]
