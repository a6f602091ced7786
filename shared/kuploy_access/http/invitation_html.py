"""The invitation link's HTML page (`/invitations/{token}`): what it shows, what its
forms post, and how each answer of `InvitationPageService` reads.

Built from the blocks in `html_pages`; the GET changes nothing, the forms POST."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from aws_lambda_powertools.event_handler import Response

from kuploy_access.domain.errors import DomainError
from kuploy_access.domain.invitations import Invitation, invitation_path
from kuploy_access.http import html_pages
from kuploy_access.services.invitation_page import InvitationForm, PageAnswer, PageOutcome


def form_of(fields: dict[str, str]) -> InvitationForm:
    """The page's form (`http.deps.FormFields`: a field sent twice counts once, an empty
    one not at all)."""
    return InvitationForm(
        action=fields.get("action", ""),
        password=fields.get("password", ""),
        code=fields.get("code", ""),
        name=fields.get("name"),
    )


def unusable(error: DomainError) -> Response[Any]:
    """The link itself is no good (unknown, revoked, used, expired): only why."""
    return html_pages.page("Invitation", html_pages.message(error.detail, error=True), error.status)


def invitation_page(secret: str, invitation: Invitation, notice: str = "", error: bool = False) -> Response[Any]:
    """The invitation and its two forms; `notice` on top (400 if it is an `error`)."""
    action = invitation_path(secret)
    body = (
        (html_pages.message(notice, error=True) if error else html_pages.notice(notice) if notice else "")
        + html_pages.message(
            f"{invitation.inviter_name} invited {invitation.email} to join {invitation.org_name} on Kuploy."
        )
        + html_pages.details(
            [
                ("Organization", invitation.org_name),
                ("Invited by", invitation.inviter_name),
                ("Role", invitation.role),
                ("Expires", invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC")),
            ]
        )
        + html_pages.sign_in_form(
            action,
            invitation.email,
            "Have a Kuploy account with this address? Sign in to answer.",
            [("accept", "Sign in and accept"), ("decline", "Sign in and decline")],
        )
        + _signed_in_elsewhere(secret, invitation.email)
        + "<hr>"
        + html_pages.sign_up_form(
            action,
            invitation.email,
            "New to Kuploy? Create an account with this address; the confirmation email brings you back here.",
        )
    )
    return html_pages.page(f"Join {invitation.org_name}", body, 400 if error else 200)


def console_invitation_path(secret: str) -> str:
    """The console's view of this invitation: it shows it to whoever is signed in there,
    and says so when that account is not the invited one."""
    return f"/#/invitations/{quote(secret, safe='')}"


def console_org_path(org_id: str) -> str:
    return f"/#/orgs/{quote(org_id, safe='')}/general"


def _signed_in_elsewhere(secret: str, email: str) -> str:
    href = html.escape(console_invitation_path(secret), quote=True)
    return (
        f"<p>Signed in to Kuploy with another account? This invitation is for {html.escape(email)}: sign in "
        f'above with that address, or open it in the console: <a href="{href}">this invitation in Kuploy</a>.</p>'
    )


def answered(secret: str, answer: PageAnswer) -> Response[Any]:
    """What the page says after one of its forms was posted."""
    invitation = answer.invitation
    match answer.outcome:
        case PageOutcome.SIGNED_UP:
            return html_pages.page(
                "Check your inbox",
                html_pages.message(
                    f"We sent an email to {invitation.email}. Confirm your address with it; "
                    "it brings you back to this invitation."
                ),
            )
        case PageOutcome.DECLINED:
            return html_pages.page(
                "Invitation declined", html_pages.message(f"You declined to join {invitation.org_name}.")
            )
        case PageOutcome.ACCEPTED:
            return html_pages.page(
                f"Welcome to {invitation.org_name}",
                html_pages.notice(f"You joined {invitation.org_name} as {invitation.role}.")
                + html_pages.action_link(console_org_path(invitation.org_id), "Open Kuploy"),
            )
        case PageOutcome.REFUSED:
            return invitation_page(secret, invitation, answer.problem, error=True)
