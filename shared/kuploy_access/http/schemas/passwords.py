"""Passwords: what `/auth/password/forgot`, `/auth/password/reset` and `/me/password` read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ForgotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)


class ResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=512, repr=False)
    password: str = Field(max_length=1024, repr=False, description="8–256 characters, not a commonly used password")


class ChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(max_length=1024, repr=False)
    new_password: str = Field(max_length=1024, repr=False)
