"""HTML pages behind emailed links.

A GET only shows a page; the person confirms with a button that POSTs, because mail
scanners fetch links before people click them. Pages carry a token in their URL, so
they never leak it through Referer and can not be framed.

They work without JavaScript and look like the web console: its stylesheet
(`/assets/console.css`, served from the same site) and its class names, no inline
style, so the policy allows styles from this origin only.
"""

from __future__ import annotations

import html
from typing import Any

from aws_lambda_powertools.event_handler import Response

from kuploy_access.http.problems import TRANSPORT_HEADERS

STYLESHEET_PATH = "/assets/console.css"
ICON_PATH = "/assets/favicon.svg"
# Where the console's routes live (hash routing on the console's page, `/`).
CONSOLE_PATH = "/"
SIGN_IN_PATH = "/#/sign-in"
FORGOT_PASSWORD_PATH = "/#/forgot-password"

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)

PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    **TRANSPORT_HEADERS,
}


def page(title: str, body_html: str, status: int = 200) -> Response[Any]:
    """`body_html` goes inside the page's card, under the title as its heading."""
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)} · Kuploy</title>"
        f'<link rel="icon" href="{ICON_PATH}" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{STYLESHEET_PATH}"></head>'
        f'<body><header class="topbar"><a class="brand" href="{CONSOLE_PATH}">Kuploy</a></header>'
        f'<main class="narrow"><section class="card"><h1>{html.escape(title)}</h1>{body_html}</section></main>'
        "</body></html>"
    )
    return Response(
        status_code=status, content_type="text/html; charset=utf-8", body=document, headers=dict(PAGE_HEADERS)
    )


def _hidden(fields: dict[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{html.escape(k, quote=True)}" value="{html.escape(v, quote=True)}">'
        for k, v in fields.items()
        if v
    )


def confirm_form(action: str, token: str, explanation: str, button: str, extra: dict[str, str] | None = None) -> str:
    return (
        f"<p>{html.escape(explanation)}</p>"
        f'<form class="stack" method="post" action="{html.escape(action, quote=True)}">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        f"{_hidden(extra or {})}"
        f'<button class="button primary" type="submit">{html.escape(button)}</button></form>'
    )


def link(href: str, text: str) -> str:
    return f'<p><a href="{html.escape(href, quote=True)}">{html.escape(text)}</a></p>'


def action_link(href: str, text: str) -> str:
    """A link that is the page's next step (to the console), drawn as its main button."""
    return f'<p><a class="button primary" href="{html.escape(href, quote=True)}">{html.escape(text)}</a></p>'


def details(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return f"<dl>{cells}</dl>"


def sign_in_form(action: str, email: str, intro: str, buttons: list[tuple[str, str]]) -> str:
    """Email (fixed) and password, and one submit button per action (name="action"):
    the first is the main one, the others (decline) secondary."""
    submit = "".join(
        f'<button class="{"button primary" if index == 0 else "button"}" type="submit" name="action" '
        f'value="{html.escape(value, quote=True)}">{html.escape(label)}</button> '
        for index, (value, label) in enumerate(buttons)
    )
    return (
        f"<p>{html.escape(intro)}</p>"
        f'<form class="stack" method="post" action="{html.escape(action, quote=True)}">'
        '<label for="email">Email</label>'
        f'<input id="email" type="email" name="email" value="{html.escape(email, quote=True)}" '
        'autocomplete="username" readonly>'
        '<label for="password">Password</label>'
        '<input id="password" type="password" name="password" autocomplete="current-password" required>'
        '<label for="code">Authentication code (only if your account uses two-factor authentication)</label>'
        '<input id="code" type="text" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="32">'
        f"{submit}</form>"
    )


def sign_up_form(action: str, email: str, intro: str) -> str:
    return (
        f"<p>{html.escape(intro)}</p>"
        f'<form class="stack" method="post" action="{html.escape(action, quote=True)}">'
        '<input type="hidden" name="action" value="signup">'
        '<label for="new-name">Your name</label>'
        '<input id="new-name" type="text" name="name" autocomplete="name" maxlength="100">'
        '<label for="new-email">Email</label>'
        f'<input id="new-email" type="email" name="email" value="{html.escape(email, quote=True)}" readonly>'
        '<label for="new-password">Choose a password</label>'
        '<input id="new-password" type="password" name="password" autocomplete="new-password" '
        'minlength="8" maxlength="256" required>'
        '<button class="button primary" type="submit">Create account</button></form>'
    )


def message(text: str, error: bool = False) -> str:
    """A paragraph; an error is announced to screen readers as soon as the page shows it."""
    attributes = ' class="error" role="alert"' if error else ""
    return f"<p{attributes}>{html.escape(text)}</p>"


def notice(text: str) -> str:
    """What just happened, set apart from the explanations around it."""
    return f'<p class="notice">{html.escape(text)}</p>'


def password_form(action: str, token: str) -> str:
    return (
        "<p>Choose a new password: at least 8 characters, not one of the commonly used ones. "
        "Every device signed in to your account will be signed out.</p>"
        f'<form class="stack" method="post" action="{html.escape(action, quote=True)}">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        '<label for="password">New password</label>'
        '<input id="password" type="password" name="password" autocomplete="new-password" '
        'minlength="8" maxlength="256" required>'
        '<button class="button primary" type="submit">Set new password</button></form>'
    )
