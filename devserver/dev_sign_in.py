"""The local server's sign-in page for the local providers (`make dev`): a button per
configured provider, and the page a flow returns to, which shows its `login_code` (or
its `error`) and how to exchange it. Local only, under /_dev/."""

from __future__ import annotations

import html
import json
import os
from urllib.parse import parse_qs, urlencode

from devserver.responses import GatewayResponse

DEV_SIGN_IN_PATH = "/_dev/sign-in"
DEV_SIGNED_IN_PATH = "/_dev/signed-in"
# The local providers' addresses ({"github": "http://127.0.0.1:…", ...}), for tests and people.
DEV_PROVIDERS_PATH = "/_dev/providers"
LOCAL_PROVIDERS_VARIABLE = "KUPLOY_LOCAL_PROVIDERS"


def return_address(public_base_url: str) -> str:
    """The address every local flow returns to (on the local allow-list)."""
    return f"{public_base_url.rstrip('/')}{DEV_SIGNED_IN_PATH}"


def _page(title: str, body: str) -> GatewayResponse:
    document = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>"
        f'<body style="font-family:sans-serif;max-width:640px;margin:2em auto">{body}</body></html>'
    )
    return GatewayResponse(200, [("Content-Type", "text/html; charset=utf-8")], document.encode())


def sign_in_page() -> GatewayResponse:
    from kuploy_access.config import read_oauth_settings
    from kuploy_access.domain.identities import PROVIDER_NAMES, Provider

    settings = read_oauth_settings(os.environ)
    back = return_address(os.environ["PUBLIC_BASE_URL"])
    buttons = "".join(
        f'<p><a href="/auth/oauth/{p.provider}/start?{html.escape(urlencode({"redirect_to": back}))}" '
        'style="display:inline-block;padding:10px 16px;border:1px solid #888;border-radius:6px">'
        f"Sign in with {html.escape(PROVIDER_NAMES[Provider(p.provider)])}</a></p>"
        for p in settings.providers
    )
    return _page(
        "Sign in (local providers)",
        "<h1>Sign in with a local provider</h1>"
        "<p>These buttons go to local stand-ins for GitHub, Google and GitLab. Their page asks for a user id; "
        "a new id signs in with a verified address: the id itself if it is one, else id@example.com.</p>"
        + (buttons or "<p>No provider is configured.</p>"),
    )


def signed_in_page(query: str) -> GatewayResponse:
    params = {name: values[0] for name, values in parse_qs(query).items()}
    if "login_code" in params:
        code = params["login_code"]
        exchange = (
            f"curl -s {os.environ['PUBLIC_BASE_URL'].rstrip('/')}/auth/oauth/exchange "
            f"-H 'content-type: application/json' -d '{json.dumps({'login_code': code})}'"
        )
        body = (
            "<h1>Signed in at the provider</h1><p>Exchange this login code for tokens within 60 seconds, once:</p>"
            f"<pre>{html.escape(exchange)}</pre>"
        )
    elif "linked" in params:
        body = f"<h1>Linked</h1><p>{html.escape(params['linked'])} is linked to your account.</p>"
    else:
        body = f"<h1>Not signed in</h1><p>error: <code>{html.escape(params.get('error', 'none'))}</code></p>"
    return _page("Provider sign-in", body + f'<p><a href="{DEV_SIGN_IN_PATH}">Sign in again</a></p>')


def providers_document() -> GatewayResponse:
    listed = os.environ.get(LOCAL_PROVIDERS_VARIABLE, "{}")
    return GatewayResponse(200, [("Content-Type", "application/json")], listed.encode())
