"""Sessions and their tokens: what `/auth/refresh`, `/auth/logout` and `/me/sessions`
read and answer, and the token pair every sign-in answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import Session
from kuploy_access.http.schemas.paging import PageView


def _no_default(schema: dict[str, Any]) -> None:
    # The default stands for "absent": publishing it would tell clients to send it.
    schema.pop("default", None)


class Tokens(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    access_token: str
    # Omitted from the answer, not null, when the request asked for the refresh token
    # as a cookie (`http/refresh_cookie.py`).
    refresh_token: str | SkipJsonSchema[None] = Field(
        default=None,
        exclude_if=lambda value: value is None,
        json_schema_extra=_no_default,
        description="Absent when the request carried `X-Token-Delivery: cookie`: the refresh token is then in "
        "the `__Secure-kuploy_refresh` cookie",
    )
    token_type: str = "Bearer"
    expires_in: int


class RefreshRequest(BaseModel):
    """`{refresh_token}`, or `{}` from a browser whose refresh token is in its cookie."""

    model_config = ConfigDict(extra="forbid")
    # "" stands for absent: an explicit `null` stays a 422 and an explicit "" an
    # invalid token, as before the cookie existed (see `presented`).
    refresh_token: str = Field(
        default="",
        max_length=512,
        repr=False,
        json_schema_extra=_no_default,
        description="Leave out to use the `__Secure-kuploy_refresh` cookie (then send `X-CSRF-Token`)",
    )

    def presented(self) -> str | None:
        """The body's refresh token, or None when the body has none (the cookie's turn)."""
        return self.refresh_token if "refresh_token" in self.model_fields_set else None


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
