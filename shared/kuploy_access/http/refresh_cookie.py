"""Browser sessions: the refresh token in an HttpOnly cookie instead of the answer's
body (docs/api.md, "Browser sessions: the refresh token as a cookie").

A console page keeps its access token in memory; what survives a reload is the refresh
token, and a script on the page must never be able to read it. So a token-issuing
request that carries `X-Token-Delivery: cookie` gets the tokens body without
`refresh_token`, and two cookies:

- `__Secure-kuploy_refresh`: the refresh token. HttpOnly (no script reads it), Secure,
  SameSite=Strict (no other site's request carries it), and sent only to the
  `/auth/` routes (refresh and sign-out among them): the other routes never see it.
- `__Host-kuploy_csrf`: a random value the page's script reads and echoes in
  `X-CSRF-Token` (double submit). A request that spends the refresh cookie must carry
  it, so a request made by another site (which can neither read the cookie nor set the
  header) is refused even where SameSite is not honoured. `__Host-`: only this host,
  over HTTPS, with `Path=/` and no `Domain` can set it, so a sibling subdomain cannot
  plant a value of its choosing.

A cookie whose name arrives twice (one planted beside the browser's own) counts as
absent, as the OAuth flow's cookie does: the server cannot tell which one it set.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Depends, Response
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.shared.cookies import Cookie, SameSite
from pydantic.json_schema import SkipJsonSchema

from kuploy_access.domain.errors import CsrfFailed, DomainError, InvalidRefreshToken, TokenReused, ValidationFailed
from kuploy_access.domain.sessions import SESSION_ABSOLUTE_LIFETIME, TokenPair
from kuploy_access.http.api import problem_answer
from kuploy_access.http.schemas.sessions import Tokens

REFRESH_COOKIE = "__Secure-kuploy_refresh"
REFRESH_COOKIE_PATH = "/auth/"
CSRF_COOKIE = "__Host-kuploy_csrf"
CSRF_COOKIE_PATH = "/"  # `__Host-` requires it
DELIVERY_HEADER = "X-Token-Delivery"
CSRF_HEADER = "X-CSRF-Token"
COOKIE_DELIVERY = "cookie"
# As long as a session can live: the session's own expiry refuses the token sooner
# when it ends first.
COOKIE_MAX_AGE = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())
# secrets.token_urlsafe(32) is 43 characters; anything much longer is not ours.
MAX_CSRF_LENGTH = 128

COOKIE_DELIVERY_NOTE = (
    "With `X-Token-Delivery: cookie` the tokens answer leaves out `refresh_token` and sets it as the HttpOnly "
    "`__Secure-kuploy_refresh` cookie, with the `__Host-kuploy_csrf` cookie (docs/api.md, "
    "'Browser sessions: the refresh token as a cookie')."
)

TokenDelivery = Annotated[
    Literal["cookie"] | SkipJsonSchema[None],
    Header(
        alias=DELIVERY_HEADER,
        title=DELIVERY_HEADER,
        description="`cookie`: answer the tokens without `refresh_token` and set it as the HttpOnly "
        "`__Secure-kuploy_refresh` cookie (Path=/auth/), with the `__Host-kuploy_csrf` cookie the page echoes in "
        "`X-CSRF-Token`. For browsers; other clients leave it out.",
    ),
]
CsrfToken = Annotated[
    str | SkipJsonSchema[None],
    Header(
        alias=CSRF_HEADER,
        title=CSRF_HEADER,
        max_length=MAX_CSRF_LENGTH,
        description="With the refresh cookie instead of a body token: the value of the `__Host-kuploy_csrf` "
        "cookie (else 403 `csrf_failed`).",
    ),
]


def request_cookies(event: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The request's cookies by name, with every value a repeated name has.

    Payload 2.0 hands the cookies apart, in `cookies`; a Cookie header is read only when
    that list is absent (reading both would count each cookie twice)."""
    listed = event.get("cookies")
    if listed:
        pairs = [part for entry in listed for part in str(entry).split(";")]
    else:
        headers = event.get("headers") or {}
        header = next((str(value) for name, value in headers.items() if str(name).lower() == "cookie"), "")
        pairs = header.split(";")
    found: dict[str, tuple[str, ...]] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if separator and name.strip():
            found[name.strip()] = (*found.get(name.strip(), ()), value.strip())
    return found


@dataclass(frozen=True)
class BrowserCookies:
    """The two cookies of a browser session, as this request carries them."""

    refresh_token: str  # "" when absent or sent more than once
    refresh_cookie_sent: bool  # its name arrived at all, once or more
    csrf: str  # "" when absent or sent more than once

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> BrowserCookies:
        cookies = request_cookies(event)
        refresh = cookies.get(REFRESH_COOKIE, ())
        return cls(
            refresh_token=_single(refresh),
            refresh_cookie_sent=bool(refresh),
            csrf=_single(cookies.get(CSRF_COOKIE, ())),
        )

    def check_csrf(self, header: str | None) -> None:
        """403 `csrf_failed` unless the header equals the CSRF cookie, both non-empty."""
        sent = header or ""
        if not sent or not self.csrf or not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise CsrfFailed()

    def spend(self, csrf_header: str | None) -> str:
        """The refresh cookie's token for a body without one: CSRF checked first, so a
        forged request changes nothing; 422 when there is no (single) cookie either."""
        if not self.refresh_cookie_sent:
            raise ValidationFailed("Send refresh_token, or the refresh cookie with X-CSRF-Token")
        self.check_csrf(csrf_header)
        if not self.refresh_token:
            raise ValidationFailed("The refresh cookie was sent more than once; sign in again")
        return self.refresh_token


def _single(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else ""


def _browser_cookies(request: Request) -> BrowserCookies:
    return BrowserCookies.of(request.resolved_event.raw_event)


RequestCookies = Annotated[BrowserCookies, Depends(_browser_cookies)]


def wants_cookie(delivery: str | None) -> bool:
    return delivery == COOKIE_DELIVERY


# --- answers ----------------------------------------------------------------------------


def session_cookies(refresh_token: str) -> list[Cookie]:
    """The two cookies of a freshly issued refresh token (a new CSRF value each time)."""
    return [_refresh_cookie(refresh_token, COOKIE_MAX_AGE), _csrf_cookie(secrets.token_urlsafe(32), COOKIE_MAX_AGE)]


def clearing_cookies() -> list[Cookie]:
    """Both cookies with Max-Age=0: the browser forgets them."""
    return [_refresh_cookie("", 0), _csrf_cookie("", 0)]


def _strict_cookie(name: str, path: str, value: str, max_age: int, http_only: bool) -> Cookie:
    return Cookie(
        name=name,
        value=value,
        path=path,
        secure=True,
        http_only=http_only,
        same_site=SameSite.STRICT_MODE,
        max_age=max_age,
    )


def _refresh_cookie(value: str, max_age: int) -> Cookie:
    return _strict_cookie(REFRESH_COOKIE, REFRESH_COOKIE_PATH, value, max_age, http_only=True)


def _csrf_cookie(value: str, max_age: int) -> Cookie:
    # Not HttpOnly: the page's script reads it to echo it in X-CSRF-Token.
    return _strict_cookie(CSRF_COOKIE, CSRF_COOKIE_PATH, value, max_age, http_only=False)


def tokens_answer(pair: TokenPair, in_cookie: bool) -> Response[Any]:
    """200 with the tokens: the usual body, or (cookie delivery) the body without
    `refresh_token` and the two cookies."""
    if not in_cookie:
        return _json(Tokens.model_validate(pair), [])
    body = Tokens(access_token=pair.access_token, token_type=pair.token_type, expires_in=pair.expires_in)
    return _json(body, session_cookies(pair.refresh_token))


def json_answer(body: Any) -> Response[Any]:
    """200 with `body` and no cookie (a sign-in's second-step challenge)."""
    return _json(body, [])


def _json(body: Any, cookies: list[Cookie]) -> Response[Any]:
    return Response(status_code=200, content_type="application/json", body=body, cookies=cookies)


def signed_out(clear_cookies: bool) -> Response[None]:
    """204, clearing both cookies when asked."""
    return Response(status_code=204, cookies=clearing_cookies() if clear_cookies else [])


# --- refusals ---------------------------------------------------------------------------


class RefusedRefreshCookie(Exception):
    """A refresh refused in cookie mode: its problem document also clears both cookies,
    so the page does not retry a dead token on every load."""

    def __init__(self, refusal: DomainError) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal


@contextmanager
def clearing_cookies_when_refused(in_cookie: bool) -> Iterator[None]:
    """Around a refresh: an unknown, reused or expired token in cookie mode becomes a
    `RefusedRefreshCookie` (answered by `answer_refusals_clearing_cookies`)."""
    try:
        yield
    except (InvalidRefreshToken, TokenReused) as refusal:
        if not in_cookie:
            raise
        raise RefusedRefreshCookie(refusal) from refusal


def answer_refusals_clearing_cookies(app: APIGatewayHttpResolver) -> None:
    """Teach `app` the answer to a `RefusedRefreshCookie`: the refusal's problem document
    (as `http/api.py` would answer it) plus the clearing Set-Cookie headers."""

    @app.exception_handler(RefusedRefreshCookie)
    def _refused(error: RefusedRefreshCookie) -> Response[Any]:
        refusal = error.refusal
        response = problem_answer(refusal.status, refusal.code, refusal.title, refusal.detail)
        response.cookies.extend(clearing_cookies())
        return response
