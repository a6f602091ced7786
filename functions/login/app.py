"""Sign-in: `POST /auth/login` (email and password), `POST /auth/login/2fa` (the
second step for accounts with two-factor authentication), `POST /auth/reauthenticate`
(the same proofs again, by a signed-in person, for sudo mode), and the unlock link of an
account locked by consecutive failures (`POST /auth/unlock`, the `/unlock` page)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field

from kuploy_access.domain.errors import DomainError, ValidationFailed
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.http import html_pages as pages
from kuploy_access.http.api import create_app, lambda_entry, metrics
from kuploy_access.http.deps import client_of
from kuploy_access.http.guard import require_user
from kuploy_access.http.openapi_docs import responses
from kuploy_access.http.params import BEARER
from kuploy_access.http.schemas.common import Tokens
from kuploy_access.wiring import login_service, reauthentication_service

app = create_app()


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(max_length=320)
    password: str = Field(max_length=1024, repr=False)


class MfaRequired(BaseModel):
    mfa_required: Literal[True] = True
    mfa_token: str
    expires_in: int


class SecondStepRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mfa_token: str = Field(max_length=2048, repr=False)
    code: str | None = Field(
        default=None, max_length=16, repr=False, description="The 6-digit code of the authenticator"
    )
    recovery_code: str | None = Field(default=None, max_length=32, repr=False, description="One of the recovery codes")


@app.post(
    "/auth/login",
    tags=["sessions"],
    summary="Sign in with email and password",
    description="Accounts with two-factor authentication get `mfa_required` and a 5-minute `mfa_token` "
    "instead of tokens; finish with POST /auth/login/2fa.",
    responses=responses(
        200, "Tokens, or the second step", s401="invalid_credentials", s403="email_not_verified", s429="rate_limited"
    ),
)
def log_in(body: LoginRequest) -> Tokens | MfaRequired:
    client = client_of(app.current_event)
    try:
        outcome = login_service().log_in(body.email, body.password, client)
    except DomainError:
        metrics.add_metric(name="LoginFailures", unit=MetricUnit.Count, value=1)
        raise
    if isinstance(outcome, MfaChallenge):
        return MfaRequired(mfa_token=outcome.mfa_token, expires_in=outcome.expires_in)
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return Tokens.of(outcome)


@app.post(
    "/auth/login/2fa",
    tags=["sessions"],
    summary="Second step of a sign-in: a TOTP code or a recovery code",
    description="A TOTP code is accepted once; a challenge allows 5 wrong codes and then ends.",
    responses=responses(
        200, "Tokens", s401=("invalid_code", "invalid_token"), s422="validation_error", s429="rate_limited"
    ),
)
def second_step(body: SecondStepRequest) -> Tokens:
    if (body.code is None) == (body.recovery_code is None):
        raise ValidationFailed("Send exactly one of code and recovery_code")
    client = client_of(app.current_event)
    try:
        pair = login_service().complete_two_factor(body.mfa_token, body.code, body.recovery_code, client)
    except DomainError:
        metrics.add_metric(name="SecondStepFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="Logins", unit=MetricUnit.Count, value=1)
    return Tokens.of(pair)


class UnlockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(max_length=512, repr=False, description="The token of the emailed unlock link")


class Unlocked(BaseModel):
    status: Literal["unlocked"] = "unlocked"


@app.post(
    "/auth/unlock",
    tags=["sessions"],
    summary="Unlock password sign-in with the emailed link's token",
    description="After 100 consecutive wrong passwords an account takes no password until its owner follows "
    "the link emailed to them. The token works once and expires after 24 hours.",
    responses=responses(200, "Password sign-in works again", s400=("invalid_token", "token_expired")),
)
def unlock(body: UnlockRequest) -> Unlocked:
    login_service().unlock(body.token, client_of(app.current_event))
    return Unlocked()


UNLOCK_TITLE = "Unlock password sign-in"


@app.get("/unlock", tags=["pages"], summary="The page behind the emailed unlock link (changes nothing)")
def unlock_page(token: Annotated[str, Query(max_length=512)] = "") -> Response[Any]:
    if not token:
        return pages.page(UNLOCK_TITLE, pages.message("This link is incomplete.", error=True), 400)
    return pages.page(
        UNLOCK_TITLE,
        pages.confirm_form(
            "/unlock",
            token,
            "Password sign-in to your account was paused after many wrong passwords. Press the button to allow "
            "it again. If the attempts were not yours, choose a new password afterwards.",
            "Unlock password sign-in",
        ),
    )


@app.post("/unlock", tags=["pages"], summary="The unlock page's button (form post)")
def unlock_form() -> Response[Any]:
    form = parse_qs(app.current_event.decoded_body or "")
    try:
        login_service().unlock((form.get("token") or [""])[0], client_of(app.current_event))
    except DomainError as error:
        return pages.page(UNLOCK_TITLE, pages.message(error.detail, error=True), error.status)
    return pages.page(UNLOCK_TITLE, pages.message("Password sign-in works again. You can sign in now."))


class ReauthenticateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    password: str = Field(max_length=1024, repr=False)
    code: str | None = Field(
        default=None, max_length=16, repr=False, description="With 2FA on: the 6-digit code of the authenticator"
    )
    recovery_code: str | None = Field(
        default=None, max_length=32, repr=False, description="With 2FA on, instead of code: a recovery code"
    )


@app.post(
    "/auth/reauthenticate",
    tags=["sessions"],
    summary="Confirm it is you (sudo mode): a fresh token pair for the same session",
    description="The password, and when 2FA is on exactly one of `code` and `recovery_code`. Answers a new pair "
    "for the caller's session whose access token carries a fresh `auth_time`; the session's previous refresh "
    "token stops working (presenting it again is a reuse). Sensitive routes answer 403 "
    "`reauthentication_required` when `auth_time` is older than the sudo window (10 minutes).",
    security=BEARER,
    responses=responses(
        200,
        "Tokens for the same session",
        s403=("invalid_credentials", "invalid_code", "api_key_not_allowed"),
        s409="conflict",
        s422="validation_error",
        s429="rate_limited",
    ),
)
def reauthenticate(body: ReauthenticateRequest) -> Tokens:
    caller = require_user(app.current_event.raw_event)
    if body.code and body.recovery_code:
        raise ValidationFailed("Send at most one of code and recovery_code")
    client = client_of(app.current_event)
    try:
        done = reauthentication_service().reauthenticate(caller, body.password, body.code, body.recovery_code, client)
    except DomainError:
        metrics.add_metric(name="ReauthenticationFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="Reauthentications", unit=MetricUnit.Count, value=1)
    return Tokens.of(done.tokens)


lambda_handler = lambda_entry(app)
