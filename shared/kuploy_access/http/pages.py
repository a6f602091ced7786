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

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2328}"
    "button{background:#1f6feb;color:#fff;border:0;border-radius:6px;padding:.6rem 1.2rem;"
    "font-size:1rem;cursor:pointer}"
    ".error{color:#b42318}"
    "label{display:block;margin:1rem 0 .3rem}input[type=password]{font-size:1rem;padding:.5rem;width:100%;"
    "box-sizing:border-box;margin-bottom:1rem}"
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


def confirm_form(action: str, token: str, explanation: str, button: str) -> str:
    return (
        f"<p>{html.escape(explanation)}</p>"
        f'<form method="post" action="{html.escape(action, quote=True)}">'
        f'<input type="hidden" name="token" value="{html.escape(token, quote=True)}">'
        f'<button type="submit">{html.escape(button)}</button></form>'
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
