"""Sign-in with GitHub, Google and GitLab: the configured providers, a flow's start and
callback, the login code's exchange, and linking or unlinking a provider of one's own
account. The only function that loads Authlib, joserfc and requests (README, "Sign in
with GitHub, Google and GitLab")."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.shared.cookies import Cookie, SameSite

from kuploy_access.domain.identities import (
    BROWSER_COOKIE,
    BROWSER_COOKIE_PATH,
    OAUTH_FLOW_LIFETIME,
    PROVIDER_NAMES,
)
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.http.api import count, counting_failures, create_app, lambda_entry
from kuploy_access.http.deps import Client, Cookies, LiveSessionUser, SudoUser
from kuploy_access.http.openapi_docs import route
from kuploy_access.http.refresh_cookie import (
    COOKIE_DELIVERY_NOTE,
    TokenDelivery,
    json_answer,
    tokens_answer,
    wants_cookie,
)
from kuploy_access.http.schemas.login import MfaRequired
from kuploy_access.http.schemas.oauth import (
    ExchangeRequest,
    LinkRequest,
    LinkStarted,
    ProviderList,
    ProviderSummary,
)
from kuploy_access.http.schemas.sessions import Tokens
from kuploy_access.services.oauth import StartedFlow
from kuploy_access.wiring import oauth_service

app = create_app()

ProviderId = Annotated[str, Path(max_length=32, description="`github`, `google` or `gitlab`")]


def _browser_cookie(secret: str, max_age: int) -> Cookie:
    # Lax: the provider's redirect back is a top-level GET, which carries it; a
    # cross-site POST or an embedded request does not.
    return Cookie(
        name=BROWSER_COOKIE,
        value=secret,
        path=BROWSER_COOKIE_PATH,
        secure=True,
        http_only=True,
        same_site=SameSite.LAX_MODE,
        max_age=max_age,
    )


def _redirect(location: str, cookie: Cookie) -> Response[Any]:
    return Response(
        status_code=302,
        headers={"Location": location, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        cookies=[cookie],
    )


def _single(values: list[str] | None) -> str:
    """A callback's parameter: "" when absent or repeated (the service refuses both with
    a redirect; a 422 here would strand the person on a JSON page)."""
    return values[0] if values is not None and len(values) == 1 else ""


def _started(flow: StartedFlow) -> Cookie:
    if flow.browser_secret is None:
        return _browser_cookie("", 0)
    return _browser_cookie(flow.browser_secret, int(OAUTH_FLOW_LIFETIME.total_seconds()))


@app.get(
    "/auth/providers",
    operation_id="listSignInProviders",
    **route("sign-in providers", "The sign-in providers of this platform", (200, "Configured only"), signed_in=False),
)
def list_providers() -> ProviderList:
    configured = oauth_service().configured_providers()
    return ProviderList(providers=[ProviderSummary(id=p.value, name=PROVIDER_NAMES[p]) for p in configured])


@app.get(
    "/auth/oauth/<provider>/start",
    operation_id="startProviderSignIn",
    **route(
        "sign-in providers",
        "Start signing in with a provider",
        (302, "To the provider (state, PKCE S256, and for OpenID Connect a nonce)"),
        description="Sets the `__Host-kuploy_oauth` cookie (HttpOnly, Secure, SameSite=Lax) that binds the flow to "
        "this browser for 10 minutes. `redirect_to` must equal one of the allowed addresses exactly; the callback "
        "returns there.",
        signed_in=False,
        s404="provider_not_configured",
        s422="validation_error",
        s429="rate_limited",
    ),
)
def start(provider: ProviderId, redirect_to: Annotated[str, Query(max_length=2048)], client: Client) -> Response[Any]:
    flow = oauth_service().start_sign_in(provider, redirect_to, client)
    return _redirect(flow.location, _started(flow))


@app.get(
    "/auth/oauth/<provider>/callback",
    operation_id="finishProviderFlow",
    **route(
        "sign-in providers",
        "The provider's redirect back",
        (302, "To the flow's `redirect_to`, with `login_code`, `linked`, or `error`"),
        description="Sign-in: `?login_code=` (single use, 60 s; POST /auth/oauth/exchange). "
        "Link: `?linked=<provider>`. Any refusal: `?error=` one of `access_denied`, `provider_error`, "
        "`invalid_state`, `browser_mismatch`, `email_not_verified`, `email_too_similar`, `identity_in_use`, "
        "`provider_already_linked`, `account_gone`, `session_ended`, "
        "and nothing is created. Clears the flow's cookie.",
        signed_in=False,
        s404="provider_not_configured",
    ),
)
def callback(
    provider: ProviderId,
    cookies: Cookies,
    client: Client,
    code: Annotated[list[str] | None, Query()] = None,
    state: Annotated[list[str] | None, Query()] = None,
    error: Annotated[list[str] | None, Query()] = None,
) -> Response[Any]:
    # Two cookies of the name (one planted beside the browser's own) bind nothing.
    bound = cookies.get(BROWSER_COOKIE, ())
    location = oauth_service().finish(
        provider, _single(state), _single(code), _single(error), bound[0] if len(bound) == 1 else "", client
    )
    return _redirect(location, _browser_cookie("", 0))


@app.post(
    "/auth/oauth/exchange",
    operation_id="exchangeLoginCode",
    **route(
        "sign-in providers",
        "Exchange a provider sign-in's login code",
        (200, "Tokens, or the second step"),
        description="Accounts with two-factor authentication get `mfa_required` and an `mfa_token`; finish with "
        "POST /auth/login/2fa. A provider never skips 2FA. " + COOKIE_DELIVERY_NOTE,
        signed_in=False,
        s400=("invalid_token", "token_expired"),
        s422="validation_error",
    ),
)
def exchange(body: ExchangeRequest, client: Client, delivery: TokenDelivery = None) -> Response[Tokens | MfaRequired]:
    with counting_failures("ProviderExchangeFailures"):
        outcome = oauth_service().exchange(body.login_code, client)
    if isinstance(outcome, MfaChallenge):
        return json_answer(MfaRequired.model_validate(outcome))
    count("Logins")
    return tokens_answer(outcome, wants_cookie(delivery))


@app.post(
    "/me/identities/<provider>/link",
    operation_id="linkProvider",
    **route(
        "sign-in providers",
        "Link a provider to my account (sudo mode)",
        (200, "Where to send the browser"),
        description="Starts the provider's flow in link mode and sets its cookie; the callback links the provider "
        "account and redirects to `redirect_to?linked=<provider>`.",
        s401=("unauthorized", "invalid_token"),
        s403=("reauthentication_required", "api_key_not_allowed"),
        s404="provider_not_configured",
        s422="validation_error",
        s429="rate_limited",
    ),
)
def link(provider: ProviderId, body: LinkRequest, caller: SudoUser, client: Client) -> Response[LinkStarted]:
    flow = oauth_service().start_link(caller.id, caller.session_id, provider, body.redirect_to, client)
    return Response(
        status_code=200,
        content_type="application/json",
        body=LinkStarted(authorize_url=flow.location),
        headers={"Cache-Control": "no-store"},
        cookies=[_started(flow)],
    )


@app.delete(
    "/me/identities/<provider>",
    operation_id="unlinkProvider",
    **route(
        "sign-in providers",
        "Unlink a provider from my account",
        (204, "Unlinked"),
        s401=("unauthorized", "invalid_token"),
        s403="api_key_not_allowed",
        s404="not_found",
        s409="last_sign_in_method",
    ),
)
def unlink(provider: ProviderId, caller: LiveSessionUser, client: Client) -> Response[None]:
    oauth_service().unlink(caller.id, provider, client)
    return Response(status_code=204)


lambda_handler = lambda_entry(app)
