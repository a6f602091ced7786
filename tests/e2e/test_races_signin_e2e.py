"""Races at sign-up and at the second step of a sign-in over HTTP, each checked in the
table afterwards: 20 sign-ups with one address, one recovery code on many challenges at
once, one TOTP step on many challenges at once.

Builds on tests/e2e/test_concurrency_e2e.py (sign-ups, by their answers and emails) and
the two-challenge races of tests/e2e/test_two_factor_e2e.py: here with more racers, and
with what the table holds afterwards (the accounts and guards, the recovery codes left,
the last TOTP step spent, the sessions made).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pyotp
import pytest

from kuploy_access.adapters.dynamodb.keys import (
    PROFILE_SK,
    SESSION_SK_PREFIX,
    USER_PK_PREFIX,
    audit_pk,
    email_guard_pk,
    user_pk,
)
from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    log_in,
    outside_window_edge,
    signed_up_and_verified,
    strong_password,
    token_of,
    tokens_of,
    unique_email,
    verification_link,
)
from tests.e2e.races import (  # noqa: F401 - server, client: this file's own server
    Addresses,
    at_once,
    client,
    codes,
    me,
    partition,
    rounds,
    server,
    shown,
    statuses,
    table_items,
)

pytestmark = pytest.mark.e2e

ADDRESSES = Addresses(file_octet=71)
SIGN_UPS = 20
EMAILS_PER_ADDRESS_PER_HOUR = 3
# Challenges racing one factor: each is a sign-in with the password (an argon2 check),
# so fewer than 20; no more than the account's budget of wrong codes (10 per 15
# minutes) either, which every check takes from before it returns it for a right code.
CHALLENGES = 8
STEP_SECONDS = 30


# --- 1. sign-ups with one address --------------------------------------------------------------


@rounds
def test_twenty_sign_ups_with_one_address_make_one_account(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    # Every racer in one hourly email window.
    outside_window_edge(3600, margin_seconds=120)
    email = unique_email("Racer")
    spellings = [email.upper() if i % 2 else email.lower() for i in range(SIGN_UPS)]

    def sign_up_as(index: int) -> Callable[[httpx.Client], httpx.Response]:
        def call(own: httpx.Client) -> httpx.Response:
            return own.post("/auth/signup", json={"email": spellings[index], "password": strong_password()})

        return call

    answers = at_once(server, [sign_up_as(i) for i in range(SIGN_UPS)], ADDRESSES.take(4))

    assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "verification_sent"})] * SIGN_UPS, shown(
        answers
    )
    address = email.lower()
    # The table: one guard for the address, naming the one account that has it.
    guards = partition(client, email_guard_pk(address))
    assert len(guards) == 1, guards
    profiles = [
        item
        for item in table_items(client, USER_PK_PREFIX)
        if item["sk"] == PROFILE_SK and item.get("email") == address
    ]
    assert [profile["user_id"] for profile in profiles] == [guards[0]["user_id"]], profiles
    [profile] = profiles
    assert profile["email_verified"] is False
    # Its emails are bounded (3 an hour per address) and at least one went out; each
    # carries a link of its own.
    sent = emails_to(client, address)
    assert 1 <= len(sent) <= EMAILS_PER_ADDRESS_PER_HOUR, [m["subject"] for m in sent]
    tokens = [token_of(verification_link(m)) for m in sent]
    assert len(set(tokens)) == len(tokens)
    # The first link verifies the one account, in the table too.
    verified = client.post("/auth/verify-email", json={"token": tokens[0]})
    assert verified.status_code == 200, verified.text
    [after] = [item for item in partition(client, user_pk(profile["user_id"])) if item["sk"] == PROFILE_SK]
    assert after["email_verified"] is True, after


# --- 2FA accounts ------------------------------------------------------------------------------


def _step_now() -> int:
    return int(time.time()) // STEP_SECONDS


def _code(secret: str, step: int) -> str:
    return str(pyotp.TOTP(secret).at(step * STEP_SECONDS))


def _enrolled(client: httpx.Client) -> dict[str, Any]:
    """A verified account with 2FA on, enabled with the current step's code (which is
    spent by that)."""
    email, password = signed_up_and_verified(client, "Two Factor")
    tokens = tokens_of(log_in(client, email, password))
    setup = client.post("/me/2fa/setup", headers=bearer(tokens["access_token"]))
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    step = _step_now()
    enabled = client.post("/me/2fa/enable", json={"code": _code(secret, step)}, headers=bearer(tokens["access_token"]))
    assert enabled.status_code == 200, enabled.text
    return {
        "email": email,
        "password": password,
        "secret": secret,
        "step": step,
        "recovery_codes": enabled.json()["recovery_codes"],
        "id": me(client, tokens["access_token"])["id"],
    }


def _challenges(client: httpx.Client, account: dict[str, Any]) -> list[str]:
    """CHALLENGES sign-ins with the right password, each waiting for its second step."""
    found = []
    for _ in range(CHALLENGES):
        answer = log_in(client, account["email"], account["password"])
        assert answer.status_code == 200 and answer.json()["mfa_required"] is True, answer.text
        found.append(answer.json()["mfa_token"])
    return found


def _second_step(mfa_token: str, **factor: str) -> Callable[[httpx.Client], httpx.Response]:
    def call(own: httpx.Client) -> httpx.Response:
        return own.post("/auth/login/2fa", json={"mfa_token": mfa_token, **factor})

    return call


def _profile(client: httpx.Client, user_id: str) -> dict[str, Any]:
    [profile] = [item for item in partition(client, user_pk(user_id)) if item["sk"] == PROFILE_SK]
    return profile


def _live_sessions(client: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    return [
        item
        for item in partition(client, user_pk(user_id))
        if item["sk"].startswith(SESSION_SK_PREFIX) and not item.get("revoked_at")
    ]


def _account_events(client: httpx.Client, user_id: str) -> Counter[str]:
    return Counter(item["action"] for item in partition(client, audit_pk(user_id)))


def _one_sign_in(answers: list[httpx.Response]) -> httpx.Response:
    """Exactly one 200 (tokens); every other answer the documented 401 invalid_code."""
    assert statuses(answers) == [200] + [401] * (CHALLENGES - 1), shown(answers)
    assert codes(answers) == [(401, "invalid_code")] * (CHALLENGES - 1), shown(answers)
    [won] = [answer for answer in answers if answer.status_code == 200]
    return won


# --- 2. one recovery code ----------------------------------------------------------------------


@rounds
def test_one_recovery_code_on_many_challenges_at_once_signs_in_once(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    account = _enrolled(client)
    challenges = _challenges(client, account)
    sessions_before = len(_live_sessions(client, account["id"]))
    recovery_code = account["recovery_codes"][0]

    answers = at_once(
        server, [_second_step(token, recovery_code=recovery_code) for token in challenges], ADDRESSES.take(2)
    )

    won = _one_sign_in(answers)
    assert me(client, tokens_of(won)["access_token"])["id"] == account["id"]
    # The table: the code is gone (nine left), one session more, one use recorded.
    assert len(_profile(client, account["id"])["recovery_code_hashes"]) == len(account["recovery_codes"]) - 1
    assert len(_live_sessions(client, account["id"])) == sessions_before + 1
    assert _account_events(client, account["id"])["two_factor.recovery_code_used"] == 1
    # The code stays spent; the next one works.
    [token] = _challenges(client, account)[:1]
    assert_problem(_second_step(token, recovery_code=recovery_code)(client), 401, "invalid_code")
    assert _second_step(token, recovery_code=account["recovery_codes"][1])(client).status_code == 200


# --- 3. one TOTP step --------------------------------------------------------------------------


@rounds
def test_one_totp_code_on_many_challenges_at_once_signs_in_once(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    account = _enrolled(client)
    challenges = _challenges(client, account)
    sessions_before = len(_live_sessions(client, account["id"]))
    # The next step's code: valid from now until a step after it (the server accepts one
    # step either side), whatever the clock does while the challenges are made.
    step = account["step"] + 1
    code = _code(account["secret"], step)

    answers = at_once(server, [_second_step(token, code=code) for token in challenges], ADDRESSES.take(2))

    won = _one_sign_in(answers)
    assert me(client, tokens_of(won)["access_token"])["id"] == account["id"]
    # The table: that step is the last one spent, and one session more.
    assert _profile(client, account["id"])["totp_last_step"] == step
    assert len(_live_sessions(client, account["id"])) == sessions_before + 1
