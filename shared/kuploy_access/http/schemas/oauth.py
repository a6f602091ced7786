"""Sign-in with a provider: what `/auth/providers`, `/auth/oauth/exchange` and
`/me/identities/{provider}/link` read and answer (the tokens: `sessions.Tokens`; the
second step: `login.MfaRequired`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ProviderSummary(BaseModel):
    id: str = Field(description="`github`, `google` or `gitlab`")
    name: str


class ProviderList(BaseModel):
    providers: list[ProviderSummary]


class ExchangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    login_code: str = Field(max_length=512, repr=False, description="The callback's `login_code`, within 60 s, once")


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    redirect_to: str = Field(max_length=2048, description="One of the allowed addresses, exactly")


class LinkStarted(BaseModel):
    authorize_url: str = Field(description="Send the browser here (the answer also sets the flow's cookie)")
