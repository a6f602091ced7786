"""The browser session's cookies (`http/refresh_cookie.py`): reading them from a payload
2.0 event, the CSRF check, and the exact Set-Cookie headers (docs/api.md, "Browser
sessions: the refresh token as a cookie")."""

from __future__ import annotations

import hmac
import json
import re
from typing import Any

import pytest
from pydantic import ValidationError

from kuploy_access.domain.errors import CsrfFailed, InvalidRefreshToken, NotFound, TokenReused, ValidationFailed
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.http import refresh_cookie
from kuploy_access.http.refresh_cookie import (
    CSRF_COOKIE,
    REFRESH_COOKIE,
    BrowserCookies,
    RefusedRefreshCookie,
    clearing_cookies,
    clearing_cookies_when_refused,
    request_cookies,
    session_cookies,
    signed_out,
    tokens_answer,
    wants_cookie,
)
from kuploy_access.http.schemas.sessions import RefreshRequest, Tokens

THIRTY_DAYS = 30 * 24 * 3600
CSRF_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")


def event(cookies: list[str] | None = None, cookie_header: str | None = None) -> dict[str, Any]:
    made: dict[str, Any] = {"headers": {"content-type": "application/json"}}
    if cookies is not None:
        made["cookies"] = cookies
    if cookie_header is not None:
        made["headers"]["cookie"] = cookie_header
    return made


def browser(*pairs: str) -> BrowserCookies:
    return BrowserCookies.of(event(list(pairs)))


# --- reading ------------------------------------------------------------------------------


def test_the_cookies_list_of_payload_2_is_read_by_name() -> None:
    found = request_cookies(event([f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1", "theme=dark"]))

    assert found == {REFRESH_COOKIE: ("r1",), CSRF_COOKIE: ("c1",), "theme": ("dark",)}


def test_a_cookie_header_is_read_when_the_event_has_no_cookies_list() -> None:
    found = request_cookies(event(cookie_header=f"{REFRESH_COOKIE}=r1; {CSRF_COOKIE}=c1"))

    assert found == {REFRESH_COOKIE: ("r1",), CSRF_COOKIE: ("c1",)}


def test_the_header_name_is_matched_in_any_case() -> None:
    found = request_cookies({"headers": {"Cookie": f"{CSRF_COOKIE}=c1"}})

    assert found == {CSRF_COOKIE: ("c1",)}


def test_with_a_cookies_list_the_cookie_header_is_not_read_again() -> None:
    """Both sources hold the same cookies when both are there: reading both would count
    each twice, and a cookie sent twice counts as absent."""
    both = event([f"{REFRESH_COOKIE}=r1"], cookie_header=f"{REFRESH_COOKIE}=r1")

    assert request_cookies(both) == {REFRESH_COOKIE: ("r1",)}
    assert BrowserCookies.of(both).refresh_token == "r1"


def test_an_entry_holding_several_pairs_and_values_holding_equals_signs() -> None:
    found = request_cookies(event([f"{REFRESH_COOKIE}=a=b==; {CSRF_COOKIE}=c", " spaced = v ", "novalue", "=orphan"]))

    assert found == {REFRESH_COOKIE: ("a=b==",), CSRF_COOKIE: ("c",), "spaced": ("v",)}


def test_no_cookies_at_all() -> None:
    assert request_cookies({}) == {}
    assert request_cookies(event([])) == {}
    assert BrowserCookies.of({}) == BrowserCookies(refresh_token="", refresh_cookie_sent=False, csrf="")


def test_the_two_cookies_of_a_browser_session() -> None:
    assert browser(f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1") == BrowserCookies(
        refresh_token="r1", refresh_cookie_sent=True, csrf="c1"
    )


def test_a_refresh_cookie_sent_twice_counts_as_absent_but_as_sent() -> None:
    """One planted beside the browser's own (a sibling subdomain can set a `__Secure-`
    cookie for the parent domain): the server cannot tell which it set."""
    cookies = browser(f"{REFRESH_COOKIE}=mine", f"{REFRESH_COOKIE}=planted", f"{CSRF_COOKIE}=c1")

    assert cookies.refresh_token == ""
    assert cookies.refresh_cookie_sent is True
    assert cookies.csrf == "c1"


def test_a_csrf_cookie_sent_twice_counts_as_absent() -> None:
    cookies = browser(f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1", f"{CSRF_COOKIE}=c1")

    assert cookies.csrf == ""
    with pytest.raises(CsrfFailed):
        cookies.check_csrf("c1")


def test_a_cookie_sent_twice_in_the_header_counts_as_absent() -> None:
    cookies = BrowserCookies.of(event(cookie_header=f"{REFRESH_COOKIE}=a; {REFRESH_COOKIE}=b"))

    assert cookies.refresh_token == ""
    assert cookies.refresh_cookie_sent is True


# --- the CSRF check -------------------------------------------------------------------------


def test_the_csrf_header_equal_to_the_cookie_passes() -> None:
    browser(f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1").check_csrf("c1")


@pytest.mark.parametrize(
    ("cookies", "header"),
    [
        ((f"{CSRF_COOKIE}=c1",), "c2"),  # mismatch
        ((f"{CSRF_COOKIE}=c1",), "c1 "),  # not trimmed into a match
        ((f"{CSRF_COOKIE}=c1",), "C1"),  # case matters
        ((f"{CSRF_COOKIE}=c1",), None),  # header missing
        ((f"{CSRF_COOKIE}=c1",), ""),  # header empty
        ((), "c1"),  # cookie missing
        ((f"{CSRF_COOKIE}=",), ""),  # both empty: never a match
        ((f"{CSRF_COOKIE}=",), None),
        ((), None),
        ((), ""),
    ],
)
def test_a_csrf_header_that_is_missing_empty_or_different_fails(cookies: tuple[str, ...], header: str | None) -> None:
    with pytest.raises(CsrfFailed) as refused:
        browser(f"{REFRESH_COOKIE}=r1", *cookies).check_csrf(header)

    assert (refused.value.status, refused.value.code) == (403, "csrf_failed")


def test_the_csrf_comparison_takes_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    browser(f"{CSRF_COOKIE}=c1").check_csrf("c1")

    assert compared == [(b"c1", b"c1")]


def test_spending_the_cookie_checks_csrf_first() -> None:
    assert browser(f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1").spend("c1") == "r1"
    with pytest.raises(CsrfFailed):
        browser(f"{REFRESH_COOKIE}=r1", f"{CSRF_COOKIE}=c1").spend("c2")
    # Sent twice: a forged request is still told csrf_failed, not something else.
    with pytest.raises(CsrfFailed):
        browser(f"{REFRESH_COOKIE}=a", f"{REFRESH_COOKIE}=b", f"{CSRF_COOKIE}=c1").spend(None)


def test_spending_without_a_single_refresh_cookie_is_422() -> None:
    with pytest.raises(ValidationFailed):
        browser(f"{CSRF_COOKIE}=c1").spend("c1")
    with pytest.raises(ValidationFailed):
        browser(f"{REFRESH_COOKIE}=a", f"{REFRESH_COOKIE}=b", f"{CSRF_COOKIE}=c1").spend("c1")


def test_only_the_exact_delivery_value_asks_for_the_cookie() -> None:
    assert wants_cookie("cookie") is True
    assert wants_cookie(None) is False
    assert wants_cookie("body") is False


# --- Set-Cookie ---------------------------------------------------------------------------------


def test_a_session_sets_the_refresh_cookie_and_a_fresh_csrf_cookie_with_exact_attributes() -> None:
    refresh, csrf = (str(cookie) for cookie in session_cookies("the-refresh-token"))

    assert refresh == (
        f"{REFRESH_COOKIE}=the-refresh-token; Path=/auth/; Max-Age={THIRTY_DAYS}; HttpOnly; Secure; SameSite=Strict"
    )
    name, _, rest = csrf.partition("=")
    value, _, attributes = rest.partition(";")
    assert name == "__Host-kuploy_csrf"
    assert CSRF_VALUE.fullmatch(value), value
    # Readable by the page (no HttpOnly); `__Host-`: Secure, Path=/, no Domain.
    assert attributes == f" Path=/; Max-Age={THIRTY_DAYS}; Secure; SameSite=Strict"


def test_every_session_gets_its_own_csrf_value() -> None:
    values = {str(session_cookies("t")[1]).split(";")[0] for _ in range(20)}

    assert len(values) == 20


def test_the_names_carry_their_prefixes_and_the_max_age_is_a_sessions_lifetime() -> None:
    assert REFRESH_COOKIE == "__Secure-kuploy_refresh"
    assert CSRF_COOKIE == "__Host-kuploy_csrf"
    assert refresh_cookie.COOKIE_MAX_AGE == THIRTY_DAYS


def test_clearing_sets_both_cookies_empty_with_max_age_0_on_their_own_paths() -> None:
    assert [str(cookie) for cookie in clearing_cookies()] == [
        f"{REFRESH_COOKIE}=; Path=/auth/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
        f"{CSRF_COOKIE}=; Path=/; Max-Age=0; Secure; SameSite=Strict",
    ]


# --- answers ------------------------------------------------------------------------------------

PAIR = TokenPair(access_token="the-access-token", refresh_token="the-refresh-token", expires_in=900)


def sent_json(answer: Any) -> str:
    """The body as the resolver sends it (a `Tokens`, serialized as JSON)."""
    body = answer.body
    assert isinstance(body, Tokens)
    return body.model_dump_json()


def test_the_body_mode_answer_is_the_usual_pair_and_sets_nothing() -> None:
    answer = tokens_answer(PAIR, in_cookie=False)

    assert answer.status_code == 200
    assert answer.cookies == []
    assert json.loads(sent_json(answer)) == {
        "access_token": "the-access-token",
        "refresh_token": "the-refresh-token",
        "token_type": "Bearer",
        "expires_in": 900,
    }


def test_the_cookie_mode_answer_leaves_the_refresh_token_out_of_the_body() -> None:
    answer = tokens_answer(PAIR, in_cookie=True)

    assert answer.status_code == 200
    body = json.loads(sent_json(answer))
    assert body == {"access_token": "the-access-token", "token_type": "Bearer", "expires_in": 900}
    assert "the-refresh-token" not in sent_json(answer)
    assert str(answer.cookies[0]).split(";")[0] == f"{REFRESH_COOKIE}=the-refresh-token"
    assert [cookie.name for cookie in answer.cookies] == [REFRESH_COOKIE, CSRF_COOKIE]


def test_signing_out_clears_both_cookies_only_when_asked() -> None:
    assert signed_out(clear_cookies=False).cookies == []
    cleared = signed_out(clear_cookies=True)
    assert cleared.status_code == 204
    assert [str(cookie) for cookie in cleared.cookies] == [str(cookie) for cookie in clearing_cookies()]


def test_the_tokens_schema_no_longer_requires_the_refresh_token() -> None:
    schema = Tokens.model_json_schema(mode="serialization")

    assert schema["required"] == ["access_token", "expires_in"]
    assert schema["properties"]["refresh_token"]["type"] == "string"
    assert "default" not in schema["properties"]["refresh_token"]


# --- the request body -----------------------------------------------------------------------------


def test_a_body_without_refresh_token_leaves_it_to_the_cookie() -> None:
    assert RefreshRequest.model_validate({}).presented() is None
    assert RefreshRequest.model_validate({"refresh_token": "t"}).presented() == "t"
    # An explicit empty token is a body token, refused as before the cookie existed.
    assert RefreshRequest.model_validate({"refresh_token": ""}).presented() == ""


@pytest.mark.parametrize("body", [{"refresh_token": None}, {"refresh_token": 5}, {"refresh_token": "x" * 513}])
def test_a_malformed_body_token_is_still_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RefreshRequest.model_validate(body)


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", [InvalidRefreshToken(), TokenReused(), InvalidRefreshToken("expired")])
def test_a_refused_token_in_cookie_mode_becomes_a_refusal_that_clears_the_cookies(refusal: Exception) -> None:
    with pytest.raises(RefusedRefreshCookie) as raised, clearing_cookies_when_refused(in_cookie=True):
        raise refusal

    assert raised.value.refusal is refusal


def test_in_body_mode_the_refusal_is_left_as_it_is() -> None:
    with pytest.raises(TokenReused), clearing_cookies_when_refused(in_cookie=False):
        raise TokenReused()


def test_other_errors_pass_through_in_cookie_mode() -> None:
    with pytest.raises(NotFound), clearing_cookies_when_refused(in_cookie=True):
        raise NotFound()
