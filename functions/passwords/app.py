"""Passwords: `/auth/password/forgot`, `/auth/password/reset`, the `/reset-password`
page behind the emailed link, and `/me/password`."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from kuploy_access.domain.errors import DomainError
from kuploy_access.http import account_pages
from kuploy_access.http.api import create_app, lambda_entry
from kuploy_access.http.deps import Client, FormFields, SudoUser
from kuploy_access.http.openapi_docs import form_body, route
from kuploy_access.http.schemas.common import Accepted
from kuploy_access.http.schemas.passwords import ChangeRequest, ForgotRequest, ResetRequest
from kuploy_access.wiring import password_service

app = create_app()

PASSWORD_CODES = ("validation_error", "password_too_short", "password_too_common")


@app.post(
    "/auth/password/forgot",
    status_code=202,
    operation_id="forgotPassword",
    **route(
        "passwords",
        "Email a password reset link",
        (202, "Accepted"),
        description="Always 202 for a well-formed request, whether or not the address has an account.",
        signed_in=False,
        s422=("validation_error", "invalid_email"),
    ),
)
def forgot_password(body: ForgotRequest) -> Accepted:
    password_service().forgot(body.email)
    return Accepted()


@app.post(
    "/auth/password/reset",
    operation_id="resetPassword",
    **route(
        "passwords",
        "Set a new password with the emailed token",
        (204, "Password set"),
        description="Every session of the account is signed out.",
        signed_in=False,
        s400=("invalid_token", "token_expired"),
        s422=PASSWORD_CODES,
    ),
)
def reset_password(body: ResetRequest, client: Client) -> Response[None]:
    password_service().reset(body.token, body.password, client.ip)
    return Response(status_code=204)


@app.post(
    "/me/password",
    operation_id="changePassword",
    **route(
        "passwords",
        "Change my password",
        (204, "Password changed"),
        description="Needs the current password; every other session is signed out. Sudo mode. An account "
        "without a password (signed up with a provider) answers 409 `conflict`: it sets one with the reset flow.",
        s403=("invalid_credentials", "api_key_not_allowed", "reauthentication_required"),
        s409="conflict",
        s422=PASSWORD_CODES,
        s429="rate_limited",
    ),
)
def change_password(body: ChangeRequest, caller: SudoUser, client: Client) -> Response[None]:
    password_service().change(
        caller.id, caller.session_id, body.current_password, body.new_password, client_ip=client.ip
    )
    return Response(status_code=204)


@app.get(
    "/reset-password",
    operation_id="resetPasswordPage",
    **route(
        "passwords",
        "The page behind the emailed reset link (changes nothing)",
        (200, "The page with its new-password form"),
        signed_in=False,
        html=True,
        html_errors={400: "the link is incomplete"},
    ),
)
def reset_password_page(token: Annotated[str, Query(max_length=512)] = "") -> Response[Any]:  # nosec B107 - the link's token, not a password
    return account_pages.choose_password(token)


@app.post(
    "/reset-password",
    operation_id="resetPasswordForm",
    **route(
        "passwords",
        "The reset page's form: sets the new password",
        (200, "The password is changed; every session is signed out"),
        signed_in=False,
        html=True,
        html_errors={
            400: "the link is unknown, used or expired",
            422: "the password is too short, too long or too common (the form is shown again)",
        },
        form=form_body("token", "password", required=("token", "password")),
    ),
)
def reset_password_form(form: FormFields, client: Client) -> Response[Any]:
    token = form.get("token", "")
    try:
        password_service().reset(token, form.get("password", ""), client.ip)
    except DomainError as error:
        return account_pages.reset_refused(token, error)
    return account_pages.password_changed()


lambda_handler = lambda_entry(app)
