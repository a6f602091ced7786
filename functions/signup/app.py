"""Sign-up and email verification: `/auth/signup`, `/auth/verify-email`,
`/auth/resend-verification`, and the `/verify-email` page behind the emailed link."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access.domain.errors import DomainError
from kuploy_access.http import account_pages
from kuploy_access.http.api import count, create_app, lambda_entry
from kuploy_access.http.deps import Client, FormFields
from kuploy_access.http.openapi_docs import form_body, route
from kuploy_access.http.schemas.common import Accepted
from kuploy_access.http.schemas.signup import (
    EmailRequest,
    SignUpRequest,
    VerificationSent,
    Verified,
    VerifyEmailRequest,
)
from kuploy_access.wiring import signup_service

app = create_app()


@app.post(
    "/auth/signup",
    status_code=202,
    operation_id="signUp",
    **route(
        "accounts",
        "Create an account",
        (202, "The email is on its way"),
        description="Same answer whether or not the address is registered; the address gets an email either way. "
        "For an unverified address, each sign-up's link is bound to the password chosen at that sign-up; "
        "the first link verified decides the password and the others stop working.",
        signed_in=False,
        s422=("validation_error", "invalid_email", "password_too_short", "password_too_common"),
    ),
)
def sign_up(body: SignUpRequest, client: Client) -> VerificationSent:
    signup_service().sign_up(body.email, body.password, client, body.name)
    count("SignUps")
    return VerificationSent()


@app.post(
    "/auth/verify-email",
    operation_id="verifyEmail",
    **route(
        "accounts",
        "Confirm an email address with its token",
        (200, "The address is verified"),
        signed_in=False,
        s400=("invalid_token", "token_expired", "validation_error"),
    ),
)
def verify_email(body: VerifyEmailRequest) -> Verified:
    return Verified(password_set=signup_service().verify_email(body.token))


@app.post(
    "/auth/resend-verification",
    status_code=202,
    operation_id="resendVerification",
    **route(
        "accounts",
        "Send the verification email again",
        (202, "Accepted"),
        description="Always 202 for a well-formed request. The new link sets no password: verifying with it leaves "
        "the account without one, to be chosen with POST /auth/password/forgot.",
        signed_in=False,
        s422=("validation_error", "invalid_email"),
    ),
)
def resend_verification(body: EmailRequest, client: Client) -> Accepted:
    signup_service().resend_verification(body.email, client)
    return Accepted()


@app.get(
    "/verify-email",
    operation_id="verifyEmailPage",
    **route(
        "accounts",
        "The page behind the emailed verification link (changes nothing)",
        (200, "The page with its confirm button"),
        signed_in=False,
        html=True,
        html_errors={400: "the link is incomplete"},
    ),
)
def verify_email_page(  # nosec B107 - the link's token, not a password
    token: Annotated[str, Query(max_length=512)] = "",
    continue_to: Annotated[
        str | None, Query(alias="next", max_length=200, description="An invitation page to continue to")
    ] = None,
) -> Response[Any]:
    return account_pages.confirm_email(token, continue_to)


@app.post(
    "/verify-email",
    operation_id="verifyEmailForm",
    **route(
        "accounts",
        "The verification page's confirm button: verifies the address",
        (200, "The address is confirmed"),
        signed_in=False,
        html=True,
        html_errors={400: "the link is unknown, used or expired"},
        form=form_body("token", "next", required=("token",)),
    ),
)
def verify_email_form(form: FormFields) -> Response[Any]:
    try:
        password_set = signup_service().verify_email(form.get("token", ""))
    except DomainError as error:
        return account_pages.refused(account_pages.CONFIRM_TITLE, error)
    return account_pages.email_confirmed(password_set, form.get("next"))


lambda_handler = lambda_entry(app)
