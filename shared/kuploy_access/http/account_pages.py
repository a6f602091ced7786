"""The pages behind the account emails' links: confirm an address (`/verify-email`),
choose a new password (`/reset-password`), allow password sign-in again (`/unlock`).

A GET shows a form and changes nothing (mail scanners open links); the form's POST
does the work. Built on `html_pages`, which escapes every value it is given.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response

from kuploy_access.domain.errors import DomainError
from kuploy_access.domain.invitations import safe_continue_path
from kuploy_access.http import html_pages as pages

CONFIRM_TITLE = "Confirm your email"
RESET_TITLE = "Choose a new password"
UNLOCK_TITLE = "Unlock password sign-in"


def incomplete_link(title: str) -> Response[Any]:
    return pages.page(title, pages.message("This link is incomplete.", error=True), 400)


def refused(title: str, error: DomainError) -> Response[Any]:
    return pages.page(title, pages.message(error.detail, error=True), error.status)


def confirm_email(token: str, continue_to: str | None) -> Response[Any]:
    if not token:
        return incomplete_link(CONFIRM_TITLE)
    return pages.page(
        CONFIRM_TITLE,
        pages.confirm_form(
            "/verify-email",
            token,
            "Press the button to confirm your email address.",
            "Confirm email address",
            extra={"next": safe_continue_path(continue_to) or ""},
        ),
    )


def email_confirmed(password_set: bool, continue_to: str | None) -> Response[Any]:
    confirmed = (
        "Your email address is confirmed."
        if password_set
        else "Your email address is confirmed. Your account has no password yet: choose one with "
        "“Forgot password” on the sign-in page."
    )
    continue_path = safe_continue_path(continue_to)
    if continue_path:
        return pages.page(
            "Email confirmed", pages.message(confirmed) + pages.link(continue_path, "Continue to your invitation")
        )
    if password_set:
        confirmed += " You can sign in now."
    return pages.page("Email confirmed", pages.message(confirmed))


def choose_password(token: str) -> Response[Any]:
    if not token:
        return incomplete_link(RESET_TITLE)
    return pages.page(RESET_TITLE, pages.password_form("/reset-password", token))


def reset_refused(token: str, error: DomainError) -> Response[Any]:
    body = pages.message(error.detail, error=True)
    if error.status == 422:  # the link still works: let them try another password
        body += pages.password_form("/reset-password", token)
    return pages.page(RESET_TITLE, body, error.status)


def password_changed() -> Response[Any]:
    return pages.page(
        "Password changed", pages.message("Your password is changed and every device was signed out. Sign in again.")
    )


def unlock(token: str) -> Response[Any]:
    if not token:
        return incomplete_link(UNLOCK_TITLE)
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


def unlocked() -> Response[Any]:
    return pages.page(UNLOCK_TITLE, pages.message("Password sign-in works again. You can sign in now."))
