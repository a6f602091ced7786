"""The emails the service sends, each with a text and an HTML part.

Links are built from the configured public base URL (never a request's Host
header) and every email says what its link does and when it stops working.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from kuploy_access.domain.one_time_tokens import RequestOrigin
from kuploy_access.domain.users import visible_text

PRODUCT = "Kuploy"

# A browser's user agent goes into emails, and anyone can send any user agent: only
# visible text, no links (nor anything that reads like a domain), and short.
MAX_BROWSER_LENGTH = 120
_LINK_LIKE = re.compile(
    r"(?:[a-z][a-z0-9+.-]*://\S*)|(?:\b(?:mailto|javascript|data|tel):\S*)|(?:www\.\S*)"
    r"|(?:\b[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b(?:/\S*)?)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str


def _link(base_url: str, path: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


# The web console's pages (hash routes on its page at the base URL).
SIGN_IN_ROUTE = "/#/sign-in"
FORGOT_PASSWORD_ROUTE = "/#/forgot-password"


def console_link(base_url: str, route: str) -> str:
    return f"{base_url.rstrip('/')}{route}"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _html_page(
    heading: str,
    paragraphs: list[str],
    link: str | None,
    button: str | None,
    addresses: list[tuple[str, str]] | None = None,
) -> str:
    """`addresses`: (what, URL) pairs shown after the paragraphs, each as a link."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    body += "".join(
        f'<p>{html.escape(label)}: <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></p>'
        for label, url in addresses or []
    )
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


def _text(paragraphs: list[str], addresses: list[tuple[str, str]]) -> str:
    return "\n\n".join([*paragraphs, *(f"{label}: {url}" for label, url in addresses)])


def browser_of(user_agent: str) -> str:
    """A user agent fit to quote in an email: visible text, links removed, cut short."""
    # Control and invisible characters become spaces, so they cannot join words either.
    printable = "".join(ch if ch.isprintable() else " " for ch in user_agent)
    cleaned = " ".join(_LINK_LIKE.sub(" ", printable).split())
    if len(cleaned) > MAX_BROWSER_LENGTH:
        cleaned = cleaned[: MAX_BROWSER_LENGTH - 1].rstrip() + "…"
    return cleaned or "unknown"


def _origin(origin: RequestOrigin) -> str:
    ip = visible_text(origin.ip)[:45] or "unknown"
    return f"at {_when(origin.at)}, from the IP address {ip}, with the browser “{browser_of(origin.user_agent)}”"


def verification_email(
    to: str,
    base_url: str,
    token: str,
    expires_at: datetime,
    origin: RequestOrigin,
    continue_to: str | None = None,
) -> OutgoingEmail:
    """The link of one sign-up: confirming gives the account the password chosen then."""
    link = _link(base_url, "/verify-email", token)
    if continue_to:
        link += "&" + urlencode({"next": continue_to})
    lines = [
        f"Confirm that {to} is your email address to finish creating your {PRODUCT} account.",
        f"This sign-up was made {_origin(origin)}. Confirming gives the account the password chosen at that sign-up.",
        "If that was not you, ignore this email and do not confirm: someone else may have "
        "signed up with your address, and confirming would let them in with their password.",
        "The link opens a page with a button that confirms the address. It works once and "
        f"expires at {_when(expires_at)} (24 hours). If you got several of these emails, use "
        "the one that names your sign-up: once one is confirmed, the others stop working.",
    ]
    text = "\n\n".join([lines[0], f"Confirm your address: {link}", *lines[1:]])
    return OutgoingEmail(
        to=to,
        subject=f"Confirm your email address for {PRODUCT}",
        text=text,
        html=_html_page("Confirm your email address", lines, link, "Confirm email address"),
    )


def resent_verification_email(
    to: str, base_url: str, token: str, expires_at: datetime, origin: RequestOrigin
) -> OutgoingEmail:
    """A link asked for without a password: confirming verifies the address and leaves
    the account without one, to be chosen with "Forgot password"."""
    link = _link(base_url, "/verify-email", token)
    lines = [
        f"A new link to confirm {to} for your {PRODUCT} account was requested {_origin(origin)}.",
        "This link sets no password: after confirming, choose one with “Forgot password” on "
        "the sign-in page. Passwords chosen at earlier sign-ups with this address stop working.",
        "If you did not ask for it, ignore this email.",
        "The link opens a page with a button that confirms the address. It works once and "
        f"expires at {_when(expires_at)} (24 hours).",
    ]
    addresses = [("Forgot password", console_link(base_url, FORGOT_PASSWORD_ROUTE))]
    text = _text([lines[0], f"Confirm your address: {link}", *lines[1:]], addresses)
    return OutgoingEmail(
        to=to,
        subject=f"Confirm your email address for {PRODUCT}",
        text=text,
        html=_html_page("Confirm your email address", lines, link, "Confirm email address", addresses),
    )


def account_exists_email(to: str, base_url: str) -> OutgoingEmail:
    lines = [
        f"Someone tried to create a {PRODUCT} account with {to}, but this address already has one.",
        "If that was you, sign in with your password instead; if you forgot it, choose "
        '"Forgot password" on the sign-in page.',
        "If it was not you, you can ignore this email: nothing about your account changed.",
    ]
    sign_in = console_link(base_url, SIGN_IN_ROUTE)
    addresses = [("Forgot password", console_link(base_url, FORGOT_PASSWORD_ROUTE))]
    return OutgoingEmail(
        to=to,
        subject=f"You already have a {PRODUCT} account",
        text=_text([*lines[:2], f"Sign in: {sign_in}"], addresses) + "\n\n" + lines[2],
        html=_html_page("You already have an account", lines, sign_in, "Sign in", addresses),
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
        'If this was not you, reset your password now with "Forgot password" on the sign-in page, '
        "and check your account's sessions (Account Settings → Security).",
    ]
    addresses = [
        ("Forgot password", console_link(base_url, FORGOT_PASSWORD_ROUTE)),
        ("Sign in", console_link(base_url, SIGN_IN_ROUTE)),
    ]
    return OutgoingEmail(
        to=to,
        subject=f"Your {PRODUCT} password was changed",
        text=_text(lines, addresses),
        html=_html_page("Your password was changed", lines, None, None, addresses),
    )


def account_locked_email(to: str, base_url: str, token: str, expires_at: datetime, failures: int) -> OutgoingEmail:
    link = _link(base_url, "/unlock", token)
    lines = [
        f"Password sign-in to the {PRODUCT} account for {to} is paused: the wrong password was tried "
        f"{failures} times in a row, from one or more addresses.",
        "Someone may be guessing your password. Until you unlock it, nobody can sign in to this account with "
        "a password, you included. The link opens a page where you unlock it; it works once and expires at "
        f'{_when(expires_at)} (24 hours). A password reset ("Forgot password") unlocks it too.',
        "If the attempts were not yours, choose a new, unique password and turn on two-factor authentication.",
    ]
    text = "\n\n".join([lines[0], f"Unlock password sign-in: {link}", *lines[1:]])
    return OutgoingEmail(
        to=to,
        subject=f"{PRODUCT}: password sign-in to your account is paused",
        text=text,
        html=_html_page("Password sign-in is paused", lines, link, "Unlock password sign-in"),
    )


# --- names other people chose, inside our emails -------------------------------------------
#
# An organization's name and an inviter's display name are typed by whoever made them
# and reach an address nobody confirmed: left as they are, "Kuploy Support: sign in at
# evil.com/login" would be a phishing mail sent from our domain. So before such a name
# goes into an email, anything a mail client could turn into a link goes, and so do
# control and format characters (bidi overrides that make "moc.live" read as
# "evil.com", zero-width characters that hide a link from this very filter).

# Separators browsers and IDNA accept between the labels of a host name.
_DOT = r"[.\u3002\uff0e\uff61]"
_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
# A dotted host name (its last label has letters only, so "2.0" and "v1.2" stay) or an
# IPv4 address.
_HOST = rf"(?:(?:{_LABEL}{_DOT})+(?:[^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})|\d{{1,3}}(?:{_DOT}\d{{1,3}}){{3}})(?!\w)"
# A word is link-ish when it has a scheme (scheme://…), starts with www. (linked
# without a scheme), or holds a host name anywhere: evil.com, evil.com/login,
# mailto:x@evil.com, user:pw@evil.com:8080/x.
_LINKISH = re.compile(rf"[a-z][a-z0-9+.-]*://|(?:^|\W)www\d{{0,3}}{_DOT}|{_HOST}", re.IGNORECASE)
# Mail clients link these as mailto:, which sends nobody anywhere; an inviter without a
# display name is shown by their (verified) address, which must survive.
_EMAIL_ADDRESS = re.compile(rf"[\w.+'-]+@{_HOST}", re.IGNORECASE)
NAMELESS_ORGANIZATION = "(name not shown)"
NAMELESS_INVITER = "Someone"


def _without_control_or_format(text: str) -> str:
    """Whitespace of any kind becomes a space; other Cc and every Cf character goes."""
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")
        elif unicodedata.category(char) not in ("Cc", "Cf"):
            kept.append(char)
    return "".join(kept)


def _keeps(word: str) -> bool:
    return _EMAIL_ADDRESS.fullmatch(word) is not None or _LINKISH.search(word) is None


def inert_name(name: str, fallback: str) -> str:
    """A name someone else chose, as it may appear in an email: no word that could
    become a link, no control or format characters, whitespace collapsed; `fallback`
    when nothing is left. Control and format characters go first, so that a zero-width
    space cannot hide "evil.com" from the link filter."""
    words = [word for word in _without_control_or_format(name).split() if _keeps(word)]
    return " ".join(words).strip(" -–—:;,") or fallback


def invitation_email(
    to: str, base_url: str, token: str, org_name: str, inviter: str, role: str, expires_at: datetime
) -> OutgoingEmail:
    link = f"{base_url.rstrip('/')}/invitations/{token}"
    org_name = inert_name(org_name, NAMELESS_ORGANIZATION)
    inviter = inert_name(inviter, NAMELESS_INVITER)
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
        "If this was not you, reset your password now with “Forgot password” on the sign-in page, "
        "check your account's sessions (Account Settings → Security), and contact your platform administrator.",
    ]
    addresses = [
        ("Forgot password", console_link(base_url, FORGOT_PASSWORD_ROUTE)),
        ("Sign in", console_link(base_url, SIGN_IN_ROUTE)),
    ]
    return OutgoingEmail(
        to=to,
        # Only the first letter: a headline may name GitHub or GitLab.
        subject=f"{PRODUCT} security notice: {headline[:1].lower()}{headline[1:]}",
        text=_text(lines, addresses),
        html=_html_page(headline, lines, None, None, addresses),
    )
