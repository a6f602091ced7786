"""HTML pages behind emailed links.

A GET only shows a page; the person confirms with a button that POSTs, because mail
scanners fetch links before people click them. Pages carry a token in their URL, so
they never leak it through Referer and can not be framed.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from aws_lambda_powertools.event_handler import Response

from kuploy_access.http.problems import TRANSPORT_HEADERS

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}"
    "button{background:#1f6feb;color:#fff;border:0;border-radius:6px;padding:.6rem 1.2rem;"
    "font-size:1rem;cursor:pointer}"
    ".error{color:#b42318}"
    "label{display:block;margin:1rem 0 .3rem}input[type=password],input[type=email],input[type=text]"
    "{font-size:1rem;padding:.5rem;width:100%;box-sizing:border-box;margin-bottom:1rem}"
    "dt{font-weight:600}dd{margin:0 0 .6rem}hr{margin:2rem 0}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()

PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    **TRANSPORT_HEADERS,
}


def page(title: str, body_html: str, status: int = 200) -> Response[Any]:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        f"<title>{html.escape(title)} · Kuploy</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body_html}</body></html>"
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
        f'<form method="post" action="{html.escape(action, quote=True)}">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        f"{_hidden(extra or {})}"
        f'<button type="submit">{html.escape(button)}</button></form>'
    )


def link(href: str, text: str) -> str:
    return f'<p><a href="{html.escape(href, quote=True)}">{html.escape(text)}</a></p>'


def details(rows: list[tuple[str, str]]) -> str:
    cells = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    return f"<dl>{cells}</dl>"


def sign_in_form(action: str, email: str, intro: str, buttons: list[tuple[str, str]]) -> str:
    """Email (fixed) and password, and one submit button per action (name="action")."""
    submit = "".join(
        f'<button type="submit" name="action" value="{html.escape(value, quote=True)}">{html.escape(label)}</button> '
        for value, label in buttons
    )
    return (
        f"<p>{html.escape(intro)}</p>"
        f'<form method="post" action="{html.escape(action, quote=True)}">'
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
        f'<form method="post" action="{html.escape(action, quote=True)}">'
        '<input type="hidden" name="action" value="signup">'
        '<label for="new-name">Your name</label>'
        '<input id="new-name" type="text" name="name" autocomplete="name" maxlength="100">'
        '<label for="new-email">Email</label>'
        f'<input id="new-email" type="email" name="email" value="{html.escape(email, quote=True)}" readonly>'
        '<label for="new-password">Choose a password</label>'
        '<input id="new-password" type="password" name="password" autocomplete="new-password" '
        'minlength="8" maxlength="256" required>'
        '<button type="submit">Create account</button></form>'
    )


def message(text: str, error: bool = False) -> str:
    css = ' class="error"' if error else ""
    return f"<p{css}>{html.escape(text)}</p>"


def password_form(action: str, token: str) -> str:
    return (
        "<p>Choose a new password: at least 8 characters, not one of the commonly used ones. "
        "Every device signed in to your account will be signed out.</p>"
        f'<form method="post" action="{html.escape(action, quote=True)}">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        '<label for="password">New password</label>'
        '<input id="password" type="password" name="password" autocomplete="new-password" '
        'minlength="8" maxlength="256" required>'
        '<button type="submit">Set new password</button></form>'
    )
