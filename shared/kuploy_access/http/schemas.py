"""Response bodies that several functions answer (and the OpenAPI document names once)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel

from kuploy_access.domain.sessions import TokenPair
from kuploy_access.services.sessions import ClientInfo


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> Tokens:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"


def client_of(event: Any) -> ClientInfo:
    """Who is on the other end: API Gateway's source IP, never a client-sent header."""
    http = event.request_context.http
    return ClientInfo(ip=http.source_ip or "", user_agent=http.user_agent or "")
