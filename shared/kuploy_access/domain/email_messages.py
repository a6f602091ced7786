"""The emails the service sends, each with a text and an HTML part.

Links are built from the configured public base URL (never a request's Host
header) and every email says what its link does and when it stops working.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

PRODUCT = "Kuploy"


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _html_page(heading: str, paragraphs: list[str], link: str | None, button: str | None) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    action = ""
    if link and button:
        safe = html.escape(link, quote=True)
        action = (
            f'<p><a href="{safe}" style="background:#1f6feb;color:#fff;padding:10px 16px;'
            f'border-radius:6px;text-decoration:none">{html.escape(button)}</a></p>'
            f"<p>Or paste this address into your browser:<br>{html.escape(link)}</p>"
        )
    return (
        '<!doctype html><html><body style="font-family:sans-serif;max-width:560px">'
        f"<h2>{html.escape(heading)}</h2>{body}{action}</body></html>"
    )


def verification_email(
    to: str, base_url: str, token: str, expires_at: datetime, continue_to: str | None = None
) -> OutgoingEmail:
    link = _link(base_url, "/verify-email", token)
    if continue_to:
        link += "&" + urlencode({"next": continue_to})
    lines = [
        f"Confirm that {to} is your email address to finish creating your {PRODUCT} account.",
        f"The link opens a page with a button that confirms the address. "
        f"It works once and expires at {_when(expires_at)} (24 hours).",
        "If you did not sign up, ignore this email: no account is created without it.",
    ]
    text = "\n\n".join([lines[0], f"Confirm your address: {link}", *lines[1:]])
    return OutgoingEmail(
        to=to,
        subject=f"Confirm your email address for {PRODUCT}",
        text=text,
        html=_html_page("Confirm your email address", lines, link, "Confirm email address"),
    )


def account_exists_email(to: str, base_url: str) -> OutgoingEmail:
    lines = [
        f"Someone tried to create a {PRODUCT} account with {to}, but this address already has one.",
        "If that was you, sign in with your password instead; if you forgot it, choose "
        '"Forgot password" on the sign-in page.',
        "If it was not you, you can ignore this email: nothing about your account changed.",
    ]
    return OutgoingEmail(
        to=to,
        subject=f"You already have a {PRODUCT} account",
        text="\n\n".join(lines),
        html=_html_page("You already have an account", lines, None, None),
    )


def address_too_similar_email(to: str, base_url: str) -> OutgoingEmail:
    # Names no other account: the person learns only that this address cannot be used.
    lines = [
        f"Someone tried to create a {PRODUCT} account with {to}, but this address cannot be "
        "registered: it looks too much like the address of an existing account (it differs "
        "only by characters that look the same).",
        "If that was you, sign up with another address. If it was not you, ignore this email: no account was created.",
    ]
    return OutgoingEmail(
        to=to,
        subject=f"This address cannot be registered at {PRODUCT}",
        text="\n\n".join(lines),
        html=_html_page("This address cannot be registered", lines, None, None),
    )


def password_reset_email(to: str, base_url: str, token: str, expires_at: datetime) -> OutgoingEmail:
    link = _link(base_url, "/reset-password", token)
    lines = [
        f"Someone asked to reset the password of the {PRODUCT} account for {to}.",
        "The link opens a page where you choose a new password. It works once and expires "
        f"at {_when(expires_at)} (1 hour). Setting a new password signs out every device.",
        "If you did not ask for this, ignore this email: your password stays as it is.",
    ]
    text = "\n\n".join([lines[0], f"Choose a new password: {link}", *lines[1:]])
    return OutgoingEmail(
        to=to,
        subject=f"Reset your {PRODUCT} password",
        text=text,
        html=_html_page("Reset your password", lines, link, "Choose a new password"),
    )


def password_changed_email(to: str, base_url: str, changed_at: datetime) -> OutgoingEmail:
    lines = [
        f"The password of the {PRODUCT} account for {to} was changed at {_when(changed_at)}.",
        "Your other devices were signed out.",
        'If this was not you, reset your password now with "Forgot password" on the sign-in page '
        f"({base_url.rstrip('/')}), and check your account's sessions.",
    ]
    return OutgoingEmail(
        to=to,
        subject=f"Your {PRODUCT} password was changed",
        text="\n\n".join(lines),
        html=_html_page("Your password was changed", lines, None, None),
    )


def invitation_email(
    to: str, base_url: str, token: str, org_name: str, inviter: str, role: str, expires_at: datetime
) -> OutgoingEmail:
    link = f"{base_url.rstrip('/')}/invitations/{token}"
    lines = [
        f"{inviter} invited {to} to join the organization “{org_name}” on {PRODUCT} as {role}.",
        "The link opens a page that shows the invitation; you accept it there after signing in, "
        f"or after creating an account with this address if you have none. It expires at {_when(expires_at)}.",
        "If you do not know this organization or do not want to join, ignore this email or decline on the page.",
    ]
    text = "\n\n".join([lines[0], f"See the invitation: {link}", *lines[1:]])
    return OutgoingEmail(
        to=to,
        subject=f"{inviter} invited you to {org_name} on {PRODUCT}",
        text=text,
        html=_html_page(f"Join {org_name} on {PRODUCT}", lines, link, "See the invitation"),
    )


def security_notice_email(to: str, base_url: str, headline: str, happened_at: datetime, detail: str) -> OutgoingEmail:
    """A change to how the account signs in: the person should know, and act if it was not them."""
    lines = [
        f"{headline} on the {PRODUCT} account for {to} at {_when(happened_at)}.",
        detail,
        "If this was not you, reset your password now with 'Forgot password' on the sign-in page "
        f"({base_url.rstrip('/')}), check your account's sessions, and contact your platform administrator.",
    ]
    return OutgoingEmail(
        to=to,
        subject=f"{PRODUCT} security notice: {headline.lower()}",
        text="\n\n".join(lines),
        html=_html_page(headline, lines, None, None),
    )
