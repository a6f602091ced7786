"""Response bodies that several functions answer (and the OpenAPI document names once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.paging import Page
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


class ActorView(BaseModel):
    type: Literal["user", "api_key", "operator"]
    id: str
    email: str | None = None


class AuditEventView(BaseModel):
    id: str
    at: datetime
    actor: ActorView
    action: str
    target: str
    ip: str
    user_agent: str
    details: dict[str, str]


class AuditEventList(BaseModel):
    items: list[AuditEventView]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[AuditEvent]) -> AuditEventList:
        return cls(items=[AuditEventView.model_validate(e.as_dict()) for e in page.items], next_cursor=page.next_cursor)
