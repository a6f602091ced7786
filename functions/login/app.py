"""Sign-in: `POST /auth/login` (email and password), `POST /auth/login/2fa` (the
second step for accounts with two-factor authentication), `POST /auth/reauthenticate`
(the same proofs again, by a signed-in person, for sudo mode), and the unlock link of an
account locked by consecutive failures (`POST /auth/unlock`, the `/unlock` page)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access import snapstart
from kuploy_access.domain.errors import DomainError, ValidationFailed
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.http import account_pages
from kuploy_access.http.api import count, counting_failures, create_app, lambda_entry
from kuploy_access.http.deps import Client, FormFields, SignedInUser
from kuploy_access.http.openapi_docs import form_body, route
from kuploy_access.http.refresh_cookie import (
    COOKIE_DELIVERY_NOTE,
    TokenDelivery,
    json_answer,
    tokens_answer,
    wants_cookie,
)
from kuploy_access.http.schemas.login import (
    LoginRequest,
    MfaRequired,
    ReauthenticateRequest,
    SecondStepRequest,
    Unlocked,
    UnlockRequest,
)
from kuploy_access.http.schemas.sessions import Tokens
from kuploy_access.wiring import login_service, reauthentication_service

app = create_app()
# SnapStart (when the template turns it on): no secret, client or seed outlives a snapshot.
snapstart.register()


@app.post(
    "/auth/login",
    operation_id="logIn",
    **route(
        "sessions",
        "Sign in with email and password",
        (200, "Tokens, or the second step"),
        description="Accounts with two-factor authentication get `mfa_required` and a 5-minute `mfa_token` "
        "instead of tokens; finish with POST /auth/login/2fa. " + COOKIE_DELIVERY_NOTE,
        signed_in=False,
        s401="invalid_credentials",
        s403="email_not_verified",
        s429="rate_limited",
    ),
)
def log_in(body: LoginRequest, client: Client, delivery: TokenDelivery = None) -> Response[Tokens | MfaRequired]:
    with counting_failures("LoginFailures"):
        outcome = login_service().log_in(body.email, body.password, client)
    if isinstance(outcome, MfaChallenge):
        return json_answer(MfaRequired.model_validate(outcome))
    count("Logins")
    return tokens_answer(outcome, wants_cookie(delivery))


@app.post(
    "/auth/login/2fa",
    operation_id="logInSecondStep",
    **route(
        "sessions",
        "Second step of a sign-in: a TOTP code or a recovery code",
        (200, "Tokens"),
        description="A TOTP code is accepted once; a challenge allows 5 wrong codes and then ends. "
        + COOKIE_DELIVERY_NOTE,
        signed_in=False,
        s401=("invalid_code", "invalid_token"),
        s422="validation_error",
        s429="rate_limited",
    ),
)
def second_step(body: SecondStepRequest, client: Client, delivery: TokenDelivery = None) -> Response[Tokens]:
    if (body.code is None) == (body.recovery_code is None):
        raise ValidationFailed("Send exactly one of code and recovery_code")
    with counting_failures("SecondStepFailures"):
        pair = login_service().complete_two_factor(body.mfa_token, body.code, body.recovery_code, client)
    count("Logins")
    return tokens_answer(pair, wants_cookie(delivery))


@app.post(
    "/auth/unlock",
    operation_id="unlockPasswordSignIn",
    **route(
        "sessions",
        "Unlock password sign-in with the emailed link's token",
        (200, "Password sign-in works again"),
        description="After 100 consecutive wrong passwords an account takes no password until its owner follows "
        "the link emailed to them. The token works once and expires after 24 hours.",
        signed_in=False,
        s400=("invalid_token", "token_expired"),
    ),
)
def unlock(body: UnlockRequest, client: Client) -> Unlocked:
    login_service().unlock(body.token, client)
    return Unlocked()


@app.get(
    "/unlock",
    operation_id="unlockPage",
    **route(
        "sessions",
        "The page behind the emailed unlock link (changes nothing)",
        (200, "The page with its unlock button"),
        signed_in=False,
        html=True,
        html_errors={400: "the link is incomplete"},
    ),
)
def unlock_page(token: Annotated[str, Query(max_length=512)] = "") -> Response[Any]:  # nosec B107 - the link's token, not a password
    return account_pages.unlock(token)


@app.post(
    "/unlock",
    operation_id="unlockForm",
    **route(
        "sessions",
        "The unlock page's button: password sign-in works again",
        (200, "Password sign-in works again"),
        signed_in=False,
        html=True,
        html_errors={400: "the link is unknown, used or expired"},
        form=form_body("token", required=("token",)),
    ),
)
def unlock_form(form: FormFields, client: Client) -> Response[Any]:
    try:
        login_service().unlock(form.get("token", ""), client)
    except DomainError as error:
        return account_pages.refused(account_pages.UNLOCK_TITLE, error)
    return account_pages.unlocked()


@app.post(
    "/auth/reauthenticate",
    operation_id="reauthenticate",
    **route(
        "sessions",
        "Confirm it is you (sudo mode): a fresh token pair for the same session",
        (200, "Tokens for the same session"),
        description="The password, and when 2FA is on exactly one of `code` and `recovery_code`. Answers a new pair "
        "for the caller's session whose access token carries a fresh `auth_time`; the session's previous refresh "
        "token stops working (presenting it again is a reuse). Sensitive routes answer 403 "
        "`reauthentication_required` when `auth_time` is older than the sudo window (10 minutes). "
        + COOKIE_DELIVERY_NOTE,
        s403=("invalid_credentials", "invalid_code", "api_key_not_allowed"),
        s409="conflict",
        s422="validation_error",
        s429="rate_limited",
    ),
)
def reauthenticate(
    body: ReauthenticateRequest, caller: SignedInUser, client: Client, delivery: TokenDelivery = None
) -> Response[Tokens]:
    if body.code and body.recovery_code:
        raise ValidationFailed("Send at most one of code and recovery_code")
    with counting_failures("ReauthenticationFailures"):
        done = reauthentication_service().reauthenticate(caller, body.password, body.code, body.recovery_code, client)
    count("Reauthentications")
    return tokens_answer(done.tokens, wants_cookie(delivery))


lambda_handler = lambda_entry(app)
