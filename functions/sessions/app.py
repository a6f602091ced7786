"""Sessions: `/auth/refresh`, `/auth/logout`, `/me/sessions`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.errors import Unauthorized
from kuploy_access.domain.principal import Principal
from kuploy_access.http.api import create_app, lambda_entry, metrics
from kuploy_access.http.deps import client_of
from kuploy_access.http.guard import require_user
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.pagination import MAX_LIMIT, Page, paginate
from kuploy_access.http.schemas.common import Tokens
from kuploy_access.wiring import session_service

app = create_app()


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


class SessionList(BaseModel):
    items: list[SessionView]
    next_cursor: str | None


def _live_caller() -> Principal:
    """The caller, whose session must still be live: these routes manage sessions, so
    they do not wait out the access token's 15 minutes after a sign-out."""
    caller = require_user(app.current_event.raw_event)
    if not session_service().is_live(caller.id, caller.session_id):
        raise Unauthorized("invalid_token", "This session was signed out")
    return caller


@app.post(
    "/auth/refresh",
    tags=["sessions"],
    summary="Exchange a refresh token for a new token pair",
    description="The presented refresh token stops working. Presenting it again revokes the whole session.",
    responses=responses(200, "A new token pair", s401=("invalid_token", "token_reused")),
)
def refresh(body: RefreshRequest) -> Tokens:
    pair = session_service().refresh(body.refresh_token, client_of(app.current_event))
    metrics.add_metric(name="Refreshes", unit=MetricUnit.Count, value=1)
    return Tokens.of(pair)


@app.post(
    "/auth/logout",
    tags=["sessions"],
    summary="Sign out the session of a refresh token",
    responses=responses(204, "Signed out (also for a token that was already signed out)"),
)
def log_out(body: RefreshRequest) -> Response[None]:
    session_service().log_out(body.refresh_token)
    return Response(status_code=204)


@app.get(
    "/me/sessions",
    tags=["sessions"],
    summary="My live sessions",
    security=[{"bearerAuth": []}],
    responses=responses(200, "Sessions, most recently used first", s403="api_key_not_allowed"),
)
def list_sessions(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SessionList:
    caller = _live_caller()
    page: Page[Any] = paginate(session_service().live_sessions(caller.id), limit, cursor)
    return SessionList(
        items=[
            SessionView(
                id=s.id,
                created_at=s.created_at,
                last_used_at=s.last_used_at,
                ip=s.ip,
                user_agent=s.user_agent,
                current=s.id == caller.session_id,
            )
            for s in page.items
        ],
        next_cursor=page.next_cursor,
    )


@app.delete(
    "/me/sessions/<session_id>",
    tags=["sessions"],
    summary="Sign out one of my sessions",
    security=[{"bearerAuth": []}],
    responses=responses(204, "Signed out", s403="api_key_not_allowed", s404="not_found"),
)
def revoke_session(session_id: Annotated[str, Path(max_length=64)]) -> Response[None]:
    caller = _live_caller()
    session_service().revoke(caller.id, session_id)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
