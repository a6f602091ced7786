"""Browser sessions over real HTTP on the local server: the refresh token as an HttpOnly
cookie with a double-submit CSRF cookie (docs/api.md, "Browser sessions: the refresh
token as a cookie").

httpx keeps Secure cookies off plain http (a browser makes an exception for
localhost; httpx does not). So these tests read the Set-Cookie headers and send the
Cookie header themselves, as the browser would, and keep httpx's own jar empty. The
tests sign in from addresses of their own (127.0.0.25 to 127.0.0.30), so login
throttling elsewhere in the session cannot touch them.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import httpx
import jwt
import pyotp
import pytest

from tests.e2e.helpers import DevServer, assert_problem, bearer, log_in, signed_up_and_verified, tokens_of

pytestmark = pytest.mark.e2e

REFRESH = "__Secure-kuploy_refresh"
CSRF = "__Host-kuploy_csrf"
THIRTY_DAYS = 30 * 24 * 3600
COOKIE_MODE = {"X-Token-Delivery": "cookie"}
BROWSER_TOKEN_FIELDS = {"access_token", "token_type", "expires_in"}
CLEARED = [
    f"{REFRESH}=; Path=/auth/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
    f"{CSRF}=; Path=/; Max-Age=0; Secure; SameSite=Strict",
]
STEP_SECONDS = 30
RACE_ROUNDS = 5


@dataclass(frozen=True)
class Jar:
    """The browser's two cookies, as the last answer set them."""

    refresh: str
    csrf: str

    def cookies(self) -> dict[str, str]:
        return {"Cookie": f"{REFRESH}={self.refresh}; {CSRF}={self.csrf}"}

    def spending(self, csrf: str | None = None) -> dict[str, str]:
        """What the console sends to spend the cookie: the cookies and the CSRF echo."""
        return self.cookies() | {"X-CSRF-Token": self.csrf if csrf is None else csrf}


def browser(server: DevServer, octet: int) -> httpx.Client:
    """A client from 127.0.0.<octet> that keeps no cookie: each request carries exactly
    the Cookie header the test gives it."""
    assert 25 <= octet <= 30, "this file's addresses"
    http = server.client(source_ip=f"127.0.0.{octet}")
    http.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return http


def set_cookies(response: httpx.Response) -> list[str]:
    return response.headers.get_list("set-cookie")


def jar_of(response: httpx.Response) -> Jar:
    """The cookies of a cookie-mode tokens answer, checked attribute by attribute; the
    body carries no refresh token."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == BROWSER_TOKEN_FIELDS, body
    assert body["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    refresh, csrf = set_cookies(response)
    refresh_value = refresh.removeprefix(f"{REFRESH}=").split(";")[0]
    csrf_value = csrf.removeprefix(f"{CSRF}=").split(";")[0]
    assert (
        refresh == f"{REFRESH}={refresh_value}; Path=/auth/; Max-Age={THIRTY_DAYS}; HttpOnly; Secure; SameSite=Strict"
    )
    assert csrf == f"{CSRF}={csrf_value}; Path=/; Max-Age={THIRTY_DAYS}; Secure; SameSite=Strict"
    assert len(refresh_value) >= 43, refresh_value
    assert len(csrf_value) == 43, csrf_value
    assert refresh_value not in response.text
    return Jar(refresh_value, csrf_value)


def browser_log_in(http: httpx.Client, email: str, password: str) -> httpx.Response:
    return http.post("/auth/login", json={"email": email, "password": password}, headers=COOKIE_MODE)


def signed_in(http: httpx.Client) -> tuple[str, str, Jar, str]:
    """A new account signed in by a browser: email, password, cookies, access token."""
    email, password = signed_up_and_verified(http)
    response = browser_log_in(http, email, password)
    return email, password, jar_of(response), response.json()["access_token"]


def cookie_refresh(http: httpx.Client, jar: Jar, csrf: str | None = None) -> httpx.Response:
    return http.post("/auth/refresh", json={}, headers=jar.spending(csrf))


def sessions_of(http: httpx.Client, access_token: str) -> httpx.Response:
    return http.get("/me/sessions", headers=bearer(access_token))


def sid_of(access_token: str) -> str:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return str(claims["sid"])


# --- sign-in and refresh ----------------------------------------------------------------------------


def test_a_browser_sign_in_keeps_the_refresh_token_out_of_the_body(server: DevServer) -> None:
    with browser(server, 25) as http:
        email, password, jar, access = signed_in(http)
        me = http.get("/me", headers=bearer(access))
        assert me.status_code == 200, me.text
        assert me.json()["email"] == email.lower()
        # A command-line client, no header: the answer it always had.
        cli = tokens_of(log_in(http, email, password))
        assert set_cookies(log_in(http, email, password)) == []
        assert cli["refresh_token"] != jar.refresh
        assert len(http.cookies) == 0


def test_a_cookie_refresh_answers_new_tokens_and_rotates_the_cookie(server: DevServer) -> None:
    with browser(server, 25) as http:
        _, _, jar, access = signed_in(http)

        response = cookie_refresh(http, jar)

        rotated = jar_of(response)
        assert rotated.refresh != jar.refresh
        assert rotated.csrf != jar.csrf
        fresh = response.json()["access_token"]
        assert fresh != access
        assert sid_of(fresh) == sid_of(access)
        assert sessions_of(http, fresh).status_code == 200
        # And again with the rotated cookie: a reload after a reload.
        jar_of(cookie_refresh(http, rotated))


def test_a_body_token_wins_over_the_cookie(server: DevServer) -> None:
    with browser(server, 25) as http:
        email, password, jar, _ = signed_in(http)
        cli = tokens_of(log_in(http, email, password))

        response = http.post("/auth/refresh", json={"refresh_token": cli["refresh_token"]}, headers=jar.cookies())

        assert tokens_of(response)["refresh_token"] != cli["refresh_token"]
        assert set_cookies(response) == []
        jar_of(cookie_refresh(http, jar))  # the cookie's session was not touched


# --- CSRF ---------------------------------------------------------------------------------------------


def test_a_refresh_without_the_matching_csrf_header_is_refused_and_rotates_nothing(server: DevServer) -> None:
    with browser(server, 26) as http:
        _, _, jar, _ = signed_in(http)

        missing = http.post("/auth/refresh", json={}, headers=jar.cookies())
        wrong = cookie_refresh(http, jar, csrf="x" * 43)
        empty = cookie_refresh(http, jar, csrf="")
        no_csrf_cookie = http.post(
            "/auth/refresh", json={}, headers={"Cookie": f"{REFRESH}={jar.refresh}", "X-CSRF-Token": jar.csrf}
        )

        for refused in (missing, wrong, empty, no_csrf_cookie):
            assert_problem(refused, 403, "csrf_failed")
            assert set_cookies(refused) == []
        # Nothing was spent: the same cookie still refreshes, once.
        jar_of(cookie_refresh(http, jar))


def test_a_sign_out_without_the_csrf_header_is_refused(server: DevServer) -> None:
    with browser(server, 26) as http:
        _, _, jar, access = signed_in(http)

        refused = http.post("/auth/logout", json={}, headers=jar.cookies())

        assert_problem(refused, 403, "csrf_failed")
        assert sessions_of(http, access).status_code == 200


# --- reuse and sign-out ----------------------------------------------------------------------------


def test_reusing_an_old_cookie_revokes_the_session_and_clears_the_cookies(server: DevServer) -> None:
    with browser(server, 27) as http:
        _, _, jar, _ = signed_in(http)
        response = cookie_refresh(http, jar)
        rotated = jar_of(response)
        newest_access = response.json()["access_token"]

        reused = cookie_refresh(http, jar)

        assert_problem(reused, 401, "token_reused")
        assert set_cookies(reused) == CLEARED
        # The whole session ended: the newest cookie and the session routes refuse.
        after = cookie_refresh(http, rotated)
        assert_problem(after, 401, "invalid_token")
        assert set_cookies(after) == CLEARED
        assert_problem(sessions_of(http, newest_access), 401, "invalid_token")


def test_signing_out_clears_the_cookies_and_revokes_the_session(server: DevServer) -> None:
    with browser(server, 27) as http:
        email, password, jar, access = signed_in(http)
        other = tokens_of(log_in(http, email, password))

        response = http.post("/auth/logout", json={}, headers=jar.spending())

        assert response.status_code == 204, response.text
        assert set_cookies(response) == CLEARED
        assert_problem(cookie_refresh(http, jar), 401, "invalid_token")
        assert_problem(sessions_of(http, access), 401, "invalid_token")
        # Only that session: the same person's other one lives on.
        assert [s["id"] for s in sessions_of(http, other["access_token"]).json()["items"]] == [
            sid_of(other["access_token"])
        ]
        # Signing out again, cookies gone: nothing to end, still 204.
        again = http.post("/auth/logout", json={}, headers=COOKIE_MODE)
        assert (again.status_code, set_cookies(again)) == (204, CLEARED)


# --- the second step and re-authentication -------------------------------------------------------


def test_a_two_factor_sign_in_and_a_reauthentication_in_cookie_mode(server: DevServer) -> None:
    with browser(server, 28) as http:
        email, password, jar, access = signed_in(http)
        setup = http.post("/me/2fa/setup", headers=bearer(access))
        assert setup.status_code == 200, setup.text
        totp = pyotp.TOTP(setup.json()["secret"])
        step = int(time.time()) // STEP_SECONDS
        enabled = http.post("/me/2fa/enable", json={"code": totp.at(step * STEP_SECONDS)}, headers=bearer(access))
        assert enabled.status_code == 200, enabled.text

        challenge = browser_log_in(http, email, password)
        assert challenge.status_code == 200, challenge.text
        assert challenge.json()["mfa_required"] is True
        assert set_cookies(challenge) == []
        # The next step's code: unused (enabling spent this step's) and valid now and
        # for the step after, whenever the window turns.
        second = http.post(
            "/auth/login/2fa",
            json={"mfa_token": challenge.json()["mfa_token"], "code": totp.at((step + 1) * STEP_SECONDS)},
            headers=COOKIE_MODE,
        )
        jar = jar_of(second)
        refreshed = cookie_refresh(http, jar)
        jar = jar_of(refreshed)

        # Sudo mode for the same session, the new refresh token again a cookie.
        recovery = enabled.json()["recovery_codes"][0]
        again = http.post(
            "/auth/reauthenticate",
            json={"password": password, "recovery_code": recovery},
            headers=bearer(refreshed.json()["access_token"]) | COOKIE_MODE,
        )
        fresh = jar_of(again)
        assert sid_of(again.json()["access_token"]) == sid_of(second.json()["access_token"])
        jar_of(cookie_refresh(http, fresh))


def test_reauthenticating_in_cookie_mode_spends_the_previous_cookie(server: DevServer) -> None:
    with browser(server, 28) as http:
        _, password, jar, access = signed_in(http)

        again = http.post("/auth/reauthenticate", json={"password": password}, headers=bearer(access) | COOKIE_MODE)

        jar_of(again)
        assert_problem(cookie_refresh(http, jar), 401, "token_reused")


# --- a race --------------------------------------------------------------------------------------------


def refreshing_together(server: DevServer, jar: Jar, tabs: int) -> list[httpx.Response]:
    """`tabs` cookie refreshes with one cookie, each on its own connection, released at once."""
    barrier = threading.Barrier(tabs)

    def tab(_: int) -> httpx.Response:
        with browser(server, 30) as own:
            barrier.wait(timeout=30)
            return cookie_refresh(own, jar)

    with ThreadPoolExecutor(max_workers=tabs) as pool:
        return list(pool.map(tab, range(tabs)))


def test_two_tabs_refreshing_with_one_cookie_at_once_let_exactly_one_through(server: DevServer) -> None:
    """The console serialises refreshes across its tabs; two that race anyway get one
    winner, and the loser's reuse ends the session (the rule lives in DynamoDB)."""
    with browser(server, 29) as http:
        for _ in range(RACE_ROUNDS):
            _, _, jar, _ = signed_in(http)

            answers = refreshing_together(server, jar, 2)

            assert sorted(answer.status_code for answer in answers) == [200, 401], [a.text for a in answers]
            won = next(answer for answer in answers if answer.status_code == 200)
            lost = next(answer for answer in answers if answer.status_code == 401)
            winner = jar_of(won)
            assert_problem(lost, 401, "token_reused")
            assert set_cookies(lost) == CLEARED
            assert_problem(cookie_refresh(http, winner), 401, "invalid_token")
