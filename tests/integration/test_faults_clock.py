"""The services' clock jumping (services/ports/clock.py, moved by the `service_clock`
fixture), through the handlers on moto: forward past expiries, backward across steps
and windows. Expired things stay expired, a used TOTP step or refresh token stays used,
a rate-limit window keeps its count; each case checks what the table holds."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp

from kuploy_access.adapters.dynamodb.keys import PROFILE_SK, REFRESH_TOKEN_PK_PREFIX, user_pk
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP
from kuploy_access.domain.sessions import ACCESS_TOKEN_LIFETIME, SESSION_ABSOLUTE_LIFETIME
from tests.integration.fault_fixtures import client  # noqa: F401 - fixtures
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import PASSWORD, new_user
from tests.integration.support import assert_problem, items_with_prefix, rate_counters, raw_item, users

ADA = "ada@example.com"
STEP = timedelta(seconds=30)
WRONG = "not the passphrase"


def log_in(client: GatewayClient, password: str = PASSWORD):
    return client.request("POST", "/auth/login", {"email": ADA, "password": password})


def refresh(client: GatewayClient, token: str):
    return client.request("POST", "/auth/refresh", {"refresh_token": token})


# --- one-time tokens and access tokens ---------------------------------------------------------


def test_a_verification_link_is_expired_after_a_jump_forward_and_a_new_one_works(client, service_clock):
    assert client.request("POST", "/auth/signup", {"email": ADA, "password": PASSWORD, "name": "Ada"}).status == 202
    link = client.last_link(ADA, "/verify-email")

    service_clock.advance(timedelta(hours=25))

    assert_problem(client.request("POST", "/auth/verify-email", {"token": link}), 400, "token_expired")
    (user,) = users()
    assert user["email_verified"] is False
    assert client.request("POST", "/auth/resend-verification", {"email": ADA}).status == 202
    fresh = client.last_link(ADA, "/verify-email")
    assert client.request("POST", "/auth/verify-email", {"token": fresh}).status == 200
    assert users()[0]["email_verified"] is True


def test_an_access_token_signed_by_a_clock_that_ran_behind_is_expired(client, service_clock):
    new_user(client, ADA)
    # Behind the real clock (which the authorizer reads) by more than a token's life,
    # whatever offset the fixture started with.
    behind = service_clock.offset + ACCESS_TOKEN_LIFETIME + timedelta(minutes=1)
    service_clock.advance(-behind)

    stale = log_in(client).json()["access_token"]

    assert_problem(client.request("GET", "/me", token=stale), 401, "token_expired")
    service_clock.advance(behind)
    assert client.request("GET", "/me", token=log_in(client).json()["access_token"]).status == 200


# --- refresh tokens ------------------------------------------------------------------------------


def test_a_refresh_after_a_jump_past_the_session_lifetime_is_refused_and_writes_nothing(client, service_clock):
    client.sign_up_and_verify(ADA, PASSWORD)
    token = client.log_in(ADA, PASSWORD)["refresh_token"]
    before = items_with_prefix(REFRESH_TOKEN_PK_PREFIX)

    service_clock.advance(SESSION_ABSOLUTE_LIFETIME + timedelta(minutes=1))

    assert_problem(refresh(client, token), 401, "invalid_token")
    assert items_with_prefix(REFRESH_TOKEN_PK_PREFIX) == before


def test_a_rotated_refresh_token_is_still_a_reuse_after_a_jump_back(client, service_clock):
    client.sign_up_and_verify(ADA, PASSWORD)
    first = client.log_in(ADA, PASSWORD)["refresh_token"]
    rotated = refresh(client, first)
    assert rotated.status == 200, rotated.text
    second = rotated.json()["refresh_token"]

    service_clock.advance(-timedelta(hours=1))

    # Earlier than its rotation, by the clock: used all the same, and the session ends.
    assert_problem(refresh(client, first), 401, "token_reused")
    assert_problem(refresh(client, second), 401, "invalid_token")
    # A jump back does not revive it once the clock is right again.
    service_clock.advance(timedelta(hours=1))
    assert refresh(client, second).status == 401


# --- TOTP steps ----------------------------------------------------------------------------------


def _fresh_step(service_clock) -> None:
    service_clock.advance(timedelta(seconds=30 - service_clock.now().timestamp() % 30 + 1))


def _second_step(client: GatewayClient, code: str):
    started = log_in(client)
    assert started.status == 200 and started.json()["mfa_required"] is True, started.text
    return client.request("POST", "/auth/login/2fa", {"mfa_token": started.json()["mfa_token"], "code": code})


def test_a_totp_step_used_before_a_jump_back_is_not_accepted_again(client, service_clock):
    user_id, token = new_user(client, ADA)
    setup = client.request("POST", "/me/2fa/setup", token=token)
    totp = pyotp.TOTP(parse_qs(urlsplit(setup.json()["otpauth_uri"]).query)["secret"][0])
    _fresh_step(service_clock)
    enabled = client.request("POST", "/me/2fa/enable", {"code": totp.at(service_clock.now())}, token=token)
    assert enabled.status == 200, enabled.text
    service_clock.advance(2 * STEP)
    used_at = service_clock.now()
    assert _second_step(client, totp.at(used_at)).status == 200
    used_step = int(used_at.timestamp()) // 30

    service_clock.advance(-STEP)

    # One step back, the used code is "the next step's" and inside the window: refused,
    # as is the code of the step the clock now shows (older than the one used).
    assert_problem(_second_step(client, totp.at(used_at)), 401, "invalid_code")
    assert_problem(_second_step(client, totp.at(service_clock.now())), 401, "invalid_code")
    stored = raw_item(user_pk(user_id), PROFILE_SK)
    assert stored is not None and int(stored["totp_last_step"]) == used_step
    # The clock is right again: the next step's code works, once.
    service_clock.advance(2 * STEP)
    assert _second_step(client, totp.at(service_clock.now())).status == 200


# --- rate-limit windows --------------------------------------------------------------------------


def test_a_small_jump_back_keeps_the_window_count_and_a_jump_back_a_window_gives_no_more_than_one(
    client, service_clock
):
    # Both of the window's edges at least 2 minutes away (the fixture keeps only its end
    # away: one run in fifteen began within a minute of its start, and the jump back below
    # left that window).
    service_clock.clear_of_window_start(timedelta(minutes=2))
    new_user(client, ADA)
    limit = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
    for _ in range(limit):
        assert log_in(client, WRONG).status == 401
    assert_problem(log_in(client), 429, "rate_limited")
    counted = rate_counters()

    service_clock.advance(-timedelta(minutes=1))
    assert_problem(log_in(client), 429, "rate_limited")

    # A whole window back: that window's budget, and not one attempt more.
    service_clock.advance(-LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window)
    for _ in range(limit):
        assert log_in(client, WRONG).status == 401
    assert_problem(log_in(client), 429, "rate_limited")
    # Back at the right time, the first window still holds its count.
    service_clock.advance(LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window + timedelta(minutes=1))
    assert_problem(log_in(client), 429, "rate_limited")
    assert all(item in rate_counters() for item in counted)
