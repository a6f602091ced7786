"""Sessions and their tokens: what `/auth/refresh`, `/auth/logout` and `/me/sessions`
read and answer, and the token pair every sign-in answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import Session
from kuploy_access.http.schemas.paging import PageView


class Tokens(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str = Field(max_length=512, repr=False)


class SessionView(BaseModel):
    id: str
    created_at: datetime
    last_used_at: datetime
    ip: str
    user_agent: str
    current: bool

    @classmethod
    def of(cls, session: Session, caller_session_id: str) -> SessionView:
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            ip=session.ip,
            user_agent=session.user_agent,
            current=session.id == caller_session_id,
        )


class SessionList(PageView[SessionView]):
    @classmethod
    def of(cls, page: Page[Session], caller_session_id: str) -> SessionList:
        return cls(items=[SessionView.of(s, caller_session_id) for s in page.items], next_cursor=page.next_cursor)
