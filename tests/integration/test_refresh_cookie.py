"""Browser sessions through the handlers on moto: the refresh token as an HttpOnly cookie,
the double-submit CSRF cookie, rotation, refusals and sign-out (docs/api.md, "Browser
sessions: the refresh token as a cookie")."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from kuploy_access.adapters.dynamodb.keys import (
    REFRESH_TOKEN_PK_PREFIX,
    REFRESH_TOKEN_SK,
    refresh_token_pk,
    session_sk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind, hash_secret, new_secret
from tests.integration import support
from tests.integration.gateway_client import SOURCE_IP, GatewayClient
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import PASSWORD, meet_before, run_together

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

REFRESH = "__Secure-kuploy_refresh"
CSRF = "__Host-kuploy_csrf"
THIRTY_DAYS = 30 * 24 * 3600
COOKIE_MODE = {"X-Token-Delivery": "cookie"}
BROWSER_TOKEN_FIELDS = {"access_token", "token_type", "expires_in"}
TOKEN_FIELDS = BROWSER_TOKEN_FIELDS | {"refresh_token"}
CLEARED = [
    f"{REFRESH}=; Path=/auth/; Max-Age=0; HttpOnly; Secure; SameSite=Strict",
    f"{CSRF}=; Path=/; Max-Age=0; Secure; SameSite=Strict",
]


@dataclass
class Raw:
    """An answer with every Set-Cookie header (GatewayClient's answer keeps one per name)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def set_cookies(self) -> list[str]:
        return [value for name, value in self.headers if name.lower() == "set-cookie"]

    def header(self, name: str) -> str:
        return next(value for key, value in self.headers if key.lower() == name.lower())


@dataclass
class Jar:
    """A browser's two cookies, as the last answer set them."""

    refresh: str
    csrf: str

    def header(self) -> str:
        return f"{REFRESH}={self.refresh}; {CSRF}={self.csrf}"


def send(
    client: GatewayClient,
    path: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    cookie: str | None = None,
    token: str | None = None,
) -> Raw:
    sent = {"Content-Type": "application/json", "User-Agent": "Browser/1.0"} | (headers or {})
    if cookie is not None:
        sent["Cookie"] = cookie  # the local gateway hands it to the function as payload 2.0's `cookies`
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    answer = client.gateway.handle("POST", path, "", list(sent.items()), json.dumps(body).encode(), SOURCE_IP)
    return Raw(answer.status, answer.headers, answer.body)


def jar_of(answer: Raw) -> Jar:
    """The two cookies of a cookie-mode tokens answer, checked attribute by attribute."""
    assert answer.status == 200, answer.body
    assert set(answer.json()) == BROWSER_TOKEN_FIELDS, answer.json()
    refresh, csrf = answer.set_cookies
    refresh_value = refresh.removeprefix(f"{REFRESH}=").split(";")[0]
    csrf_value = csrf.removeprefix(f"{CSRF}=").split(";")[0]
    assert (
        refresh == f"{REFRESH}={refresh_value}; Path=/auth/; Max-Age={THIRTY_DAYS}; HttpOnly; Secure; SameSite=Strict"
    )
    assert csrf == f"{CSRF}={csrf_value}; Path=/; Max-Age={THIRTY_DAYS}; Secure; SameSite=Strict"
    assert len(refresh_value) >= 43 and len(csrf_value) == 43
    assert refresh_value not in answer.body.decode()
    return Jar(refresh_value, csrf_value)


def browser_sign_in(client: GatewayClient, email: str = "ada@example.com") -> Jar:
    client.sign_up_and_verify(email, PASSWORD)
    return jar_of(send(client, "/auth/login", {"email": email, "password": PASSWORD}, headers=COOKIE_MODE))


def cookie_refresh(client: GatewayClient, jar: Jar, csrf: str | None = None) -> Raw:
    headers = {"X-CSRF-Token": jar.csrf if csrf is None else csrf}
    return send(client, "/auth/refresh", {}, headers=headers, cookie=jar.header())


def cookie_log_out(client: GatewayClient, jar: Jar, csrf: str | None = None) -> Raw:
    headers = {"X-CSRF-Token": jar.csrf if csrf is None else csrf}
    return send(client, "/auth/logout", {}, headers=headers, cookie=jar.header())


def body_refresh(client: GatewayClient, refresh_token: str) -> Raw:
    return send(client, "/auth/refresh", {"refresh_token": refresh_token})


def assert_problem(answer: Raw, status: int, code: str) -> dict[str, Any]:
    assert answer.status == status, answer.body
    assert answer.header("content-type") == "application/problem+json"
    problem: dict[str, Any] = answer.json()
    assert problem["code"] == code, problem
    return problem


def session_item(refresh_token: str) -> dict[str, Any]:
    record = support.raw_item(refresh_token_pk(hash_secret(refresh_token)), REFRESH_TOKEN_SK)
    assert record is not None
    item = support.raw_item(user_pk(record["user_id"]), session_sk(record["session_id"]))
    assert item is not None
    return item


def refresh_items() -> list[dict[str, Any]]:
    return support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX)


# --- sign-in -------------------------------------------------------------------------------------


def test_a_cookie_sign_in_answers_no_refresh_token_and_sets_both_cookies(client):
    jar = browser_sign_in(client)

    # The cookie's token is the session's, stored hashed only; it refreshes.
    assert jar.refresh not in repr(support.scan())
    assert session_item(jar.refresh)["refresh_token_hash"] == hash_secret(jar.refresh)
    assert body_refresh(client, jar.refresh).status == 200


def test_without_the_header_the_sign_in_answer_is_unchanged(client):
    client.sign_up_and_verify("ada@example.com", PASSWORD)

    answer = send(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD})

    assert answer.status == 200
    assert set(answer.json()) == TOKEN_FIELDS
    assert answer.set_cookies == []


def test_an_unknown_delivery_is_422(client):
    client.sign_up_and_verify("ada@example.com", PASSWORD)

    answer = send(
        client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}, headers={"X-Token-Delivery": "body"}
    )

    problem = assert_problem(answer, 422, "validation_error")
    assert problem["errors"][0]["in"] == "header"
    assert answer.set_cookies == []


def test_a_refused_cookie_sign_in_sets_nothing(client):
    client.sign_up_and_verify("ada@example.com", PASSWORD)

    answer = send(client, "/auth/login", {"email": "ada@example.com", "password": "wrong"}, headers=COOKIE_MODE)

    assert_problem(answer, 401, "invalid_credentials")
    assert answer.set_cookies == []


# --- refresh with the cookie ---------------------------------------------------------------------


def test_a_cookie_refresh_rotates_the_cookie_and_answers_in_cookie_mode(client):
    jar = browser_sign_in(client)

    answer = cookie_refresh(client, jar)

    rotated = jar_of(answer)
    assert rotated.refresh != jar.refresh
    assert rotated.csrf != jar.csrf
    claims = support.jwt_parts(answer.json()["access_token"])[1]
    assert session_item(rotated.refresh)["sk"] == session_sk(claims["sid"])
    # The rotated cookie works in turn.
    assert jar_of(cookie_refresh(client, rotated))


def test_a_cookie_refresh_needs_no_delivery_header_and_takes_it_too(client):
    jar = browser_sign_in(client)

    answer = send(client, "/auth/refresh", {}, headers={"X-CSRF-Token": jar.csrf} | COOKIE_MODE, cookie=jar.header())

    jar_of(answer)


@pytest.mark.parametrize(
    ("csrf_header", "csrf_cookie"),
    [
        (None, "same"),  # header missing
        ("", "same"),  # header empty
        ("wrong", "same"),  # header differs
        ("value", None),  # cookie missing
        ("value", ""),  # cookie empty
        ("value", "twice"),  # cookie sent twice
    ],
)
def test_a_cookie_refresh_without_the_matching_csrf_header_is_403_and_changes_nothing(client, csrf_header, csrf_cookie):
    jar = browser_sign_in(client)
    before = session_item(jar.refresh)
    headers = {} if csrf_header is None else {"X-CSRF-Token": csrf_header}
    cookie = f"{REFRESH}={jar.refresh}"
    if csrf_cookie == "same":
        cookie += f"; {CSRF}={jar.csrf}"
    elif csrf_cookie == "":
        cookie += f"; {CSRF}="
    elif csrf_cookie == "twice":
        cookie += f"; {CSRF}=value; {CSRF}=value"

    answer = send(client, "/auth/refresh", {}, headers=headers, cookie=cookie)

    assert_problem(answer, 403, "csrf_failed")
    assert answer.set_cookies == []
    assert session_item(jar.refresh) == before
    jar_of(cookie_refresh(client, jar))  # the old cookie still works


def test_reusing_a_rotated_cookie_is_token_reused_revokes_the_session_and_clears_the_cookies(client):
    jar = browser_sign_in(client)
    rotated = jar_of(cookie_refresh(client, jar))

    answer = cookie_refresh(client, jar)

    assert_problem(answer, 401, "token_reused")
    assert answer.header("www-authenticate") == 'Bearer realm="kuploy", error="invalid_token"'
    assert answer.set_cookies == CLEARED
    assert session_item(rotated.refresh).get("revoked_at")
    answer = cookie_refresh(client, rotated)
    assert_problem(answer, 401, "invalid_token")
    assert answer.set_cookies == CLEARED


def test_an_unknown_cookie_is_invalid_token_and_clears_the_cookies(client):
    jar = Jar(new_secret(), "some-csrf-value")

    answer = cookie_refresh(client, jar)

    assert_problem(answer, 401, "invalid_token")
    assert answer.set_cookies == CLEARED


def test_the_cookie_of_an_expired_session_is_refused_and_cleared(client, service_clock):
    jar = browser_sign_in(client)
    service_clock.advance(timedelta(days=8))  # past the idle limit

    answer = cookie_refresh(client, jar)

    problem = assert_problem(answer, 401, "invalid_token")
    assert "expired" in problem["detail"]
    assert answer.set_cookies == CLEARED


def test_a_refresh_cookie_sent_twice_counts_as_absent(client):
    jar = browser_sign_in(client)
    planted = f"{REFRESH}={jar.refresh}; {REFRESH}={new_secret()}; {CSRF}={jar.csrf}"
    before = session_item(jar.refresh)

    answer = send(client, "/auth/refresh", {}, headers={"X-CSRF-Token": jar.csrf}, cookie=planted)

    assert_problem(answer, 422, "validation_error")
    assert session_item(jar.refresh) == before


def test_an_empty_body_without_a_cookie_is_still_422(client):
    answer = send(client, "/auth/refresh", {}, headers=COOKIE_MODE)

    assert_problem(answer, 422, "validation_error")
    assert answer.set_cookies == []


# --- a body token beside the cookie --------------------------------------------------------------


def test_a_body_token_wins_over_the_cookie_and_needs_no_csrf(client):
    jar = browser_sign_in(client)
    cli = client.log_in("ada@example.com", PASSWORD)
    cookie_session = session_item(jar.refresh)

    answer = send(client, "/auth/refresh", {"refresh_token": cli["refresh_token"]}, cookie=jar.header())

    assert answer.status == 200, answer.body
    assert set(answer.json()) == TOKEN_FIELDS
    assert answer.set_cookies == []
    assert session_item(jar.refresh) == cookie_session


def test_a_body_token_with_the_delivery_header_answers_in_cookie_mode(client):
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    tokens = client.log_in("ada@example.com", PASSWORD)

    jar = jar_of(send(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]}, headers=COOKIE_MODE))

    assert_problem(body_refresh(client, tokens["refresh_token"]), 401, "token_reused")
    assert_problem(cookie_refresh(client, jar), 401, "invalid_token")  # the reuse ended the session


def test_a_refused_body_refresh_sets_no_cookie(client):
    answer = send(client, "/auth/refresh", {"refresh_token": "nope"})

    assert_problem(answer, 401, "invalid_token")
    assert answer.set_cookies == []


# --- sign-out -------------------------------------------------------------------------------------


def test_a_cookie_sign_out_revokes_the_session_and_clears_both_cookies(client):
    jar = browser_sign_in(client)

    answer = cookie_log_out(client, jar)

    assert answer.status == 204, answer.body
    assert answer.body == b""
    assert answer.set_cookies == CLEARED
    assert session_item(jar.refresh).get("revoked_at")
    assert_problem(cookie_refresh(client, jar), 401, "invalid_token")


@pytest.mark.parametrize("csrf", ["", "wrong"])
def test_a_cookie_sign_out_needs_the_csrf_header(client, csrf):
    jar = browser_sign_in(client)

    answer = cookie_log_out(client, jar, csrf=csrf)

    assert_problem(answer, 403, "csrf_failed")
    assert answer.set_cookies == []
    assert not session_item(jar.refresh).get("revoked_at")


def test_a_sign_out_with_the_refresh_cookie_twice_needs_csrf_and_clears_without_revoking(client):
    jar = browser_sign_in(client)
    planted = f"{REFRESH}={jar.refresh}; {REFRESH}=planted; {CSRF}={jar.csrf}"

    assert_problem(send(client, "/auth/logout", {}, cookie=planted), 403, "csrf_failed")
    answer = send(client, "/auth/logout", {}, headers={"X-CSRF-Token": jar.csrf}, cookie=planted)

    assert answer.status == 204
    assert answer.set_cookies == CLEARED
    assert not session_item(jar.refresh).get("revoked_at")


def test_a_sign_out_with_nothing_to_end_is_204_and_clears_only_at_a_scripts_request(client):
    """No cookie and no body token. The clearing headers go only to a request with the
    delivery header: another site's form post carries neither the SameSite=Strict cookie
    nor a custom header, and must not sign the browser out."""
    plain = send(client, "/auth/logout", {})
    assert plain.status == 204
    assert plain.set_cookies == []

    scripted = send(client, "/auth/logout", {}, headers=COOKIE_MODE)
    assert scripted.status == 204
    assert scripted.set_cookies == CLEARED

    again = send(client, "/auth/logout", {}, headers=COOKIE_MODE)
    assert (again.status, again.set_cookies) == (204, CLEARED)


def test_a_body_token_sign_out_is_unchanged(client):
    jar = browser_sign_in(client)
    cli = client.log_in("ada@example.com", PASSWORD)

    answer = send(client, "/auth/logout", {"refresh_token": cli["refresh_token"]}, cookie=jar.header())

    assert answer.status == 204
    assert answer.set_cookies == []
    assert session_item(cli["refresh_token"]).get("revoked_at")
    assert not session_item(jar.refresh).get("revoked_at")


# --- the second step, re-authentication and a provider's login code ------------------------------


def enable_two_factor(client: GatewayClient, clock: Any, access_token: str) -> str:
    setup = client.request("POST", "/me/2fa/setup", token=access_token).json()
    secret: str = parse_qs(urlsplit(setup["otpauth_uri"]).query)["secret"][0]
    next_step(clock)
    code = pyotp.TOTP(secret).at(int(clock.now().timestamp()))
    assert client.request("POST", "/me/2fa/enable", {"code": code}, token=access_token).status == 200
    return secret


def next_step(clock: Any) -> None:
    clock.advance(timedelta(seconds=30 - clock.now().timestamp() % 30 + 1))


def test_a_two_factor_sign_in_in_cookie_mode(client, service_clock):
    client.sign_up_and_verify("ada@example.com", PASSWORD)
    secret = enable_two_factor(client, service_clock, client.log_in("ada@example.com", PASSWORD)["access_token"])

    challenge = send(client, "/auth/login", {"email": "ada@example.com", "password": PASSWORD}, headers=COOKIE_MODE)
    assert challenge.status == 200
    assert set(challenge.json()) == {"mfa_required", "mfa_token", "expires_in"}
    assert challenge.set_cookies == []  # no session yet
    next_step(service_clock)
    code = pyotp.TOTP(secret).at(int(service_clock.now().timestamp()))

    jar = jar_of(
        send(client, "/auth/login/2fa", {"mfa_token": challenge.json()["mfa_token"], "code": code}, headers=COOKIE_MODE)
    )

    jar_of(cookie_refresh(client, jar))


def test_reauthenticating_in_cookie_mode_rotates_the_cookie_of_the_same_session(client):
    jar = browser_sign_in(client)
    access = cookie_refresh(client, jar)
    jar = jar_of(access)
    session_id = support.jwt_parts(access.json()["access_token"])[1]["sid"]

    answer = send(
        client,
        "/auth/reauthenticate",
        {"password": PASSWORD},
        headers=COOKIE_MODE,
        token=access.json()["access_token"],
    )

    fresh = jar_of(answer)
    assert support.jwt_parts(answer.json()["access_token"])[1]["sid"] == session_id
    assert_problem(cookie_refresh(client, jar), 401, "token_reused")  # the previous cookie is a reuse
    assert_problem(cookie_refresh(client, fresh), 401, "invalid_token")  # which ended the session


def test_a_provider_login_code_exchanged_in_cookie_mode(client, service_clock):
    from kuploy_access import wiring

    client.sign_up_and_verify("ada@example.com", PASSWORD)
    user_id = next(user["user_id"] for user in support.users() if user["email"] == "ada@example.com")
    code = new_secret()
    expires_at = service_clock.now() + timedelta(seconds=60)
    wiring.token_repository().put(OneTimeToken(TokenKind.LOGIN_CODE, hash_secret(code), user_id, expires_at))

    jar = jar_of(send(client, "/auth/oauth/exchange", {"login_code": code}, headers=COOKIE_MODE))

    jar_of(cookie_refresh(client, jar))


# --- a race ---------------------------------------------------------------------------------------


def test_two_refreshes_racing_with_one_cookie_let_exactly_one_through(client, monkeypatch):
    jar = browser_sign_in(client)
    client.gateway.load_all()
    rotate = DynamoSessionRepository.rotate
    meet_before(monkeypatch, DynamoSessionRepository, "rotate", 2)

    outcomes = run_together(2, lambda _: cookie_refresh(client, jar))
    monkeypatch.setattr(DynamoSessionRepository, "rotate", rotate)

    answers = [value for kind, value in outcomes if kind == "ok"]
    assert len(answers) == 2, outcomes
    won = [answer for answer in answers if answer.status == 200]
    lost = [answer for answer in answers if answer.status != 200]
    assert len(won) == 1, [(answer.status, answer.body) for answer in answers]
    assert_problem(lost[0], 401, "token_reused")
    assert lost[0].set_cookies == CLEARED
    # One new token was issued, and the loser's reuse ended the session it belongs to.
    assert len(refresh_items()) == 2
    assert_problem(cookie_refresh(client, jar_of(won[0])), 401, "invalid_token")
