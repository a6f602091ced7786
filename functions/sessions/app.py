"""Sessions: `/auth/refresh`, `/auth/logout`, `/me/sessions`."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access.http.api import count, create_app, lambda_entry
from kuploy_access.http.deps import Client, LiveSessionUser
from kuploy_access.http.openapi_docs import route
from kuploy_access.http.params import Id, Limit
from kuploy_access.http.refresh_cookie import (
    CsrfToken,
    RequestCookies,
    TokenDelivery,
    answer_refusals_clearing_cookies,
    clearing_cookies_when_refused,
    signed_out,
    tokens_answer,
    wants_cookie,
)
from kuploy_access.http.schemas.sessions import RefreshRequest, SessionList, Tokens
from kuploy_access.wiring import session_service

app = create_app()
answer_refusals_clearing_cookies(app)


@app.post(
    "/auth/refresh",
    operation_id="refreshTokens",
    **route(
        "sessions",
        "Exchange a refresh token for a new token pair",
        (200, "A new token pair"),
        description="The presented refresh token stops working. Presenting it again revokes the whole session. "
        "A browser sends `{}` instead: the token comes from its `__Secure-kuploy_refresh` cookie, `X-CSRF-Token` "
        "must equal its `__Host-kuploy_csrf` cookie (403 `csrf_failed`, nothing changed), and the answer always "
        "delivers the new refresh token as a cookie again; a refused cookie (401) is cleared. A body token wins "
        "over the cookie. `{}` without the cookie: 422.",
        signed_in=False,
        s401=("invalid_token", "token_reused"),
        s403="csrf_failed",
        s422="validation_error",
    ),
)
def refresh(
    body: RefreshRequest,
    client: Client,
    cookies: RequestCookies,
    delivery: TokenDelivery = None,
    csrf: CsrfToken = None,
) -> Response[Tokens]:
    presented = body.presented()
    in_cookie = presented is None or wants_cookie(delivery)
    if presented is None:
        presented = cookies.spend(csrf)
    with clearing_cookies_when_refused(in_cookie):
        pair = session_service().refresh(presented, client)
    count("Refreshes")
    return tokens_answer(pair, in_cookie)


@app.post(
    "/auth/logout",
    operation_id="logOut",
    **route(
        "sessions",
        "Sign out the session of a refresh token",
        (204, "Signed out (also for a token that was already signed out)"),
        description="A browser sends `{}`: its `__Secure-kuploy_refresh` cookie's session ends and both cookies "
        "are cleared; while that cookie is present `X-CSRF-Token` must equal the `__Host-kuploy_csrf` cookie "
        "(403 `csrf_failed`). Without a cookie or a body token: 204, clearing the cookies when the request carries "
        "`X-Token-Delivery: cookie`. A body token wins over the cookie.",
        signed_in=False,
        s403="csrf_failed",
        s422="validation_error",
    ),
)
def log_out(
    body: RefreshRequest,
    cookies: RequestCookies,
    delivery: TokenDelivery = None,
    csrf: CsrfToken = None,
) -> Response[None]:
    presented = body.presented()
    if presented is not None:
        session_service().log_out(presented)
        return signed_out(clear_cookies=wants_cookie(delivery))
    if cookies.refresh_cookie_sent:
        cookies.check_csrf(csrf)
        if cookies.refresh_token:
            session_service().log_out(cookies.refresh_token)
        return signed_out(clear_cookies=True)
    # Nothing to end. Clearing only on the header's request: another site's form post
    # (which never carries the SameSite=Strict cookie, nor a custom header) must not
    # be able to sign the browser out.
    return signed_out(clear_cookies=wants_cookie(delivery))


@app.get(
    "/me/sessions",
    operation_id="listMySessions",
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
    operation_id="revokeMySession",
    **route(
        "sessions", "Sign out one of my sessions", (204, "Signed out"), s403="api_key_not_allowed", s404="not_found"
    ),
)
def revoke_session(session_id: Id, caller: LiveSessionUser) -> Response[None]:
    session_service().revoke(caller.id, session_id)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
