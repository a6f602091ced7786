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
    continue_path = safe_continue_path(continue_to)
    if not password_set:
        unset = (
            "Your email address is confirmed. Your account has no password yet: choose one with "
            "“Forgot password” on the sign-in page."
        )
        next_step = (
            pages.link(continue_path, "Continue to your invitation")
            if continue_path
            else pages.action_link(pages.FORGOT_PASSWORD_PATH, "Choose a password")
        )
        return pages.page("Email confirmed", pages.notice(unset) + next_step)
    if continue_path:
        return pages.page(
            "Email confirmed",
            pages.notice("Your email address is confirmed.") + pages.link(continue_path, "Continue to your invitation"),
        )
    return pages.page(
        "Email confirmed",
        pages.notice("Your email address is confirmed. You can sign in now.")
        + pages.action_link(pages.SIGN_IN_PATH, "Sign in"),
    )


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
        "Password changed",
        pages.notice("Your password is changed and every device was signed out. Sign in again.")
        + pages.action_link(pages.SIGN_IN_PATH, "Sign in"),
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
    return pages.page(
        UNLOCK_TITLE,
        pages.notice("Password sign-in works again. You can sign in now.")
        + pages.action_link(pages.SIGN_IN_PATH, "Sign in"),
    )
