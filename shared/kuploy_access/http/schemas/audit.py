"""The audit trail as `GET /orgs/{org_id}/audit-log` and `GET /me/audit-log` answer it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.paging import Page
from kuploy_access.http.schemas.paging import PageView


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


class AuditEventList(PageView[AuditEventView]):
    @classmethod
    def of(cls, page: Page[AuditEvent]) -> AuditEventList:
        # `as_dict` leaves out an actor's empty email rather than answering "".
        return cls(items=[AuditEventView.model_validate(e.as_dict()) for e in page.items], next_cursor=page.next_cursor)
