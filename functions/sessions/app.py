"""Sessions: `/auth/refresh`, `/auth/logout`, `/me/sessions`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access.http.api import count, create_app, lambda_entry
from kuploy_access.http.deps import Client, LiveSessionUser
from kuploy_access.http.openapi_docs import route
from kuploy_access.http.params import Id, Limit
from kuploy_access.http.schemas.sessions import RefreshRequest, SessionList, Tokens
from kuploy_access.wiring import session_service

app = create_app()


@app.post(
    "/auth/refresh",
    **route(
        "sessions",
        "Exchange a refresh token for a new token pair",
        (200, "A new token pair"),
        description="The presented refresh token stops working. Presenting it again revokes the whole session.",
        signed_in=False,
        s401=("invalid_token", "token_reused"),
    ),
)
def refresh(body: RefreshRequest, client: Client) -> Tokens:
    pair = session_service().refresh(body.refresh_token, client)
    count("Refreshes")
    return Tokens.model_validate(pair)


@app.post(
    "/auth/logout",
    **route(
        "sessions",
        "Sign out the session of a refresh token",
        (204, "Signed out (also for a token that was already signed out)"),
        signed_in=False,
    ),
)
def log_out(body: RefreshRequest) -> Response[None]:
    session_service().log_out(body.refresh_token)
    return Response(status_code=204)


@app.get(
    "/me/sessions",
    **route("sessions", "My live sessions", (200, "Sessions, most recently used first"), s403="api_key_not_allowed"),
)
def list_sessions(
    caller: LiveSessionUser,
    limit: Limit = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> SessionList:
    return SessionList.of(session_service().live_sessions(caller.id, limit, cursor), caller.session_id)


@app.delete(
    "/me/sessions/<session_id>",
    **route(
        "sessions", "Sign out one of my sessions", (204, "Signed out"), s403="api_key_not_allowed", s404="not_found"
    ),
)
def revoke_session(session_id: Id, caller: LiveSessionUser) -> Response[None]:
    session_service().revoke(caller.id, session_id)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
