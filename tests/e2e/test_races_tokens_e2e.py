"""Races on single-use tokens and keys over HTTP, each checked in the table afterwards:
one password-reset token, one refresh token, one login code (the code a provider sign-in
brings back, exchanged for tokens), each presented many times at once; and 20 rotations
of one API key.

Builds on the exchange race of tests/e2e/test_oauth_e2e.py (by its answers): here with
what the table holds afterwards (the password, the sessions, the refresh tokens).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError

from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_PK_PREFIX,
    PROFILE_SK,
    REFRESH_TOKEN_PK_PREFIX,
    SESSION_SK_PREFIX,
    audit_pk,
    user_pk,
)
from tests.e2e.helpers import (
    DevServer,
    bearer,
    log_in,
    reset_emails_to,
    reset_link,
    signed_up_and_verified,
    strong_password,
    token_of,
    tokens_of,
    unique_email,
)
from tests.e2e.races import (  # noqa: F401 - server, client: this file's own server
    Addresses,
    at_once,
    client,
    codes,
    me,
    new_org,
    partition,
    person,
    rounds,
    server,
    shown,
    statuses,
    table_items,
)
from tests.e2e.test_oauth_e2e import provider_user, sign_in

pytestmark = pytest.mark.e2e

ADDRESSES = Addresses(file_octet=72)
RESETS = 10  # each hashes its new password (argon2) before it tries the token
REFRESHES = 20
EXCHANGES = 20
ROTATORS = 20


def _sessions(client: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    return [item for item in partition(client, user_pk(user_id)) if item["sk"].startswith(SESSION_SK_PREFIX)]


def _profile(client: httpx.Client, user_id: str) -> dict[str, Any]:
    [profile] = [item for item in partition(client, user_pk(user_id)) if item["sk"] == PROFILE_SK]
    return profile


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(password_hash, password)
    except VerificationError:
        return False


# --- 1. one password-reset token ---------------------------------------------------------------


@rounds
def test_one_reset_token_used_at_once_sets_one_password(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    email, password = signed_up_and_verified(client, "Forgetful")
    user_id = me(client, tokens_of(log_in(client, email, password))["access_token"])["id"]
    asked = client.post("/auth/password/forgot", json={"email": email})
    assert asked.status_code == 202, asked.text
    [mail] = reset_emails_to(client, email)
    token = token_of(reset_link(mail))
    passwords = [strong_password() for _ in range(RESETS)]

    def reset(index: int) -> Callable[[httpx.Client], httpx.Response]:
        def call(own: httpx.Client) -> httpx.Response:
            return own.post("/auth/password/reset", json={"token": token, "password": passwords[index]})

        return call

    answers = at_once(server, [reset(i) for i in range(RESETS)], ADDRESSES.take(2))

    assert statuses(answers) == [204] + [400] * (RESETS - 1), shown(answers)
    assert codes(answers) == [(400, "invalid_token")] * (RESETS - 1), shown(answers)
    [winner] = [i for i, answer in enumerate(answers) if answer.status_code == 204]
    # The table: the stored hash is the winner's password, and nobody else's; every
    # session of the account ended; the token is no longer usable.
    stored = _profile(client, user_id)["password_hash"]
    assert [i for i, candidate in enumerate(passwords) if _verifies(stored, candidate)] == [winner]
    assert not _verifies(stored, password)
    sessions = _sessions(client, user_id)
    assert sessions and all(item.get("revoked_at") for item in sessions), sessions
    assert not [item for item in table_items(client, "TOKEN#") if item.get("user_id") == user_id], "a token is left"
    again = client.post("/auth/password/reset", json={"token": token, "password": strong_password()})
    assert (again.status_code, again.json()["code"]) == (400, "invalid_token"), again.text


# --- 2. one refresh token ----------------------------------------------------------------------


@rounds
def test_one_refresh_token_used_at_once_rotates_once_and_ends_the_session(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    """docs/api.md: a refresh token works once; presenting one that was already
    exchanged is a reuse, answered 401 token_reused, and revokes its whole session. Of
    the racers one rotates; every other is a reuse, so the session ends, and the
    winner's new refresh token with it."""
    email, password = signed_up_and_verified(client, "Refresher")
    pair = tokens_of(log_in(client, email, password))
    user_id = me(client, pair["access_token"])["id"]
    [session] = _sessions(client, user_id)

    def refresh(own: httpx.Client) -> httpx.Response:
        return own.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})

    answers = at_once(server, [refresh] * REFRESHES, ADDRESSES.take(4))

    assert statuses(answers) == [200] + [401] * (REFRESHES - 1), shown(answers)
    assert codes(answers) == [(401, "token_reused")] * (REFRESHES - 1), shown(answers)
    [won] = [tokens_of(answer) for answer in answers if answer.status_code == 200]
    # The table: the session is revoked; its first refresh token was rotated once, into
    # exactly one successor.
    [after] = _sessions(client, user_id)
    assert after["session_id"] == session["session_id"] and after.get("revoked_at"), after
    refresh_items = [item for item in table_items(client, REFRESH_TOKEN_PK_PREFIX) if item["user_id"] == user_id]
    assert len(refresh_items) == 2, refresh_items
    assert sorted(bool(item.get("rotated_at")) for item in refresh_items) == [False, True], refresh_items
    # The winner's new refresh token belongs to the revoked session: refused.
    late = client.post("/auth/refresh", json={"refresh_token": won["refresh_token"]})
    assert late.status_code == 401, late.text


# --- 3. one login code -------------------------------------------------------------------------


@rounds
def test_one_login_code_exchanged_at_once_signs_in_once(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    """A sign-in with a provider comes back with a login code (60 s, single use): of the
    racers exchanging it one gets tokens, the others 400 invalid_token, and the account
    has exactly one session."""
    listed = client.get("/_dev/providers")
    assert listed.status_code == 200, listed.text
    user = provider_user(listed.json(), "github", unique_email("Octo"))
    back = f"{server.public_base_url}/_dev/signed-in"
    with server.client(source_ip=ADDRESSES.one()) as browser:
        params = sign_in(browser, user, back)
    assert set(params) == {"login_code"}, params

    def exchange(own: httpx.Client) -> httpx.Response:
        return own.post("/auth/oauth/exchange", json={"login_code": params["login_code"]})

    answers = at_once(server, [exchange] * EXCHANGES, ADDRESSES.take(4))

    assert statuses(answers) == [200] + [400] * (EXCHANGES - 1), shown(answers)
    assert codes(answers) == [(400, "invalid_token")] * (EXCHANGES - 1), shown(answers)
    [won] = [tokens_of(answer) for answer in answers if answer.status_code == 200]
    user_id = me(client, won["access_token"])["id"]
    sessions = _sessions(client, user_id)
    assert len(sessions) == 1 and not sessions[0].get("revoked_at"), sessions


# --- 4. rotations of one API key ---------------------------------------------------------------


@rounds
def test_twenty_rotations_of_one_api_key_make_one_successor(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    """With an hour of grace: one rotation commits (201, the new key), the others find no
    live key to rotate (404 not_found); the old key keeps working until its grace ends,
    and has exactly one successor."""
    owner = person(client, "Key Owner")
    org_id = new_org(client, owner)
    made = client.post(
        f"/orgs/{org_id}/api-keys", json={"description": "ci", "preset": "deploy"}, headers=bearer(owner["token"])
    )
    assert made.status_code == 201, made.text
    old = made.json()

    def rotate(own: httpx.Client) -> httpx.Response:
        return own.post(
            f"/orgs/{org_id}/api-keys/{old['id']}/rotate",
            json={"grace_period_hours": 1},
            headers=bearer(owner["token"]),
        )

    answers = at_once(server, [rotate] * ROTATORS, ADDRESSES.take(4))

    assert statuses(answers) == [201] + [404] * (ROTATORS - 1), shown(answers)
    assert codes(answers) == [(404, "not_found")] * (ROTATORS - 1), shown(answers)
    [new] = [answer.json() for answer in answers if answer.status_code == 201]
    keys = {item["key_id"]: item for item in table_items(client, API_KEY_PK_PREFIX) if item["org_id"] == org_id}
    assert set(keys) == {old["id"], new["id"]}, keys
    assert keys[old["id"]]["rotated_to"] == new["id"], keys[old["id"]]
    assert keys[old["id"]].get("revoked_at"), keys[old["id"]]  # its end, an hour away
    assert keys[new["id"]].get("revoked_at") is None and keys[new["id"]].get("rotated_to") is None, keys[new["id"]]
    assert Counter(item["action"] for item in partition(client, audit_pk(org_id)))["api_key.rotated"] == 1
    # Both keys work during the grace period.
    for secret in (old["key"], new["key"]):
        answer = client.get(f"/orgs/{org_id}", headers=bearer(secret))
        assert answer.status_code == 200, answer.text
