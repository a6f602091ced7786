"""Sudo mode over real HTTP on the local server (issue 11, part 4).

A sensitive route refuses a token whose `auth_time` is older than 10 minutes (403
`reauthentication_required`); `POST /auth/reauthenticate` with the password (and a 2FA
code for an account with 2FA) answers a fresh pair of the same session, with which the
route works. The stale tokens are minted with the server's signing key (the suite
chose it) from a real session's claims, with an `auth_time` 11 minutes old.

Every test signs in from an address of its own, so login throttling elsewhere in the
session cannot touch it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import jwt
import pyotp
import pytest

from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    log_in,
    signed_up_and_verified,
    strong_password,
    tokens_of,
)

pytestmark = pytest.mark.e2e

STALE_SECONDS = 11 * 60
STEP_SECONDS = 30


def from_address(server: DevServer, last_octet: int) -> httpx.Client:
    return server.client(source_ip=f"127.0.11.{last_octet}")


def claims_of(access_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(access_token, options={"verify_signature": False})
    return claims


def stale(signing_key: str, access_token: str) -> str:
    """The same caller and session, issued now, whose factor was proven 11 minutes ago."""
    now = int(time.time())
    claims = claims_of(access_token) | {
        "iat": now,
        "exp": now + 600,
        "jti": f"e2e-{uuid.uuid4().hex}",
        "auth_time": now - STALE_SECONDS,
    }
    return jwt.encode(claims, signing_key.encode(), algorithm="HS256", headers={"typ": "at+jwt"})


def signed_in(http: httpx.Client) -> tuple[str, str, dict[str, Any]]:
    email, password = signed_up_and_verified(http)
    return email, password, tokens_of(log_in(http, email, password))


def test_a_stale_token_must_reauthenticate_with_the_password(server: DevServer, signing_key: str) -> None:
    with from_address(server, 1) as http:
        _, password, tokens = signed_in(http)
        session_id = claims_of(tokens["access_token"])["sid"]
        token = stale(signing_key, tokens["access_token"])

        # Ordinary routes take the stale token; the sensitive ones ask for a recent sign-in.
        created = http.post("/orgs", json={"name": "Analytical Engines"}, headers=bearer(token))
        assert created.status_code == 201, created.text
        keys = f"/orgs/{created.json()['id']}/api-keys"
        new_key = {"description": "deploy from CI", "preset": "deploy"}
        refused = assert_problem(http.post(keys, json=new_key, headers=bearer(token)), 403, "reauthentication_required")
        assert "/auth/reauthenticate" in refused["detail"]
        assert http.get(keys, headers=bearer(token)).json()["items"] == []

        wrong = http.post("/auth/reauthenticate", json={"password": "not the password"}, headers=bearer(token))
        assert_problem(wrong, 403, "invalid_credentials")
        pair = tokens_of(http.post("/auth/reauthenticate", json={"password": password}, headers=bearer(token)))
        renewed = claims_of(pair["access_token"])
        assert renewed["sid"] == session_id
        assert abs(renewed["auth_time"] - time.time()) < 60

        made = http.post(keys, json=new_key, headers=bearer(pair["access_token"]))
        assert made.status_code == 201, made.text
        assert made.json()["key"].startswith("kpy_")
        # Still one session, and its new refresh token keeps the fresh auth_time.
        sessions = http.get("/me/sessions", headers=bearer(pair["access_token"])).json()["items"]
        assert [s["id"] for s in sessions] == [session_id]
        refreshed = tokens_of(http.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]}))
        assert claims_of(refreshed["access_token"])["auth_time"] == renewed["auth_time"]
        # The pair from before re-authenticating is spent.
        reused = http.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert_problem(reused, 401, "token_reused")


def test_a_2fa_account_reauthenticates_with_the_password_and_a_code(server: DevServer, signing_key: str) -> None:
    with from_address(server, 2) as http:
        email, password, tokens = signed_in(http)
        session_id = claims_of(tokens["access_token"])["sid"]
        setup = http.post("/me/2fa/setup", headers=bearer(tokens["access_token"]))
        assert setup.status_code == 200, setup.text
        totp = pyotp.TOTP(setup.json()["secret"])
        step = int(time.time()) // STEP_SECONDS
        enabled = http.post(
            "/me/2fa/enable", json={"code": totp.at(step * STEP_SECONDS)}, headers=bearer(tokens["access_token"])
        )
        assert enabled.status_code == 200, enabled.text

        token = stale(signing_key, tokens["access_token"])
        change = {"current_password": password, "new_password": strong_password()}
        assert_problem(http.post("/me/password", json=change, headers=bearer(token)), 403, "reauthentication_required")

        reauthenticate = "/auth/reauthenticate"
        assert_problem(
            http.post(reauthenticate, json={"password": password}, headers=bearer(token)), 422, "validation_error"
        )
        # The next step's code: unused (the enabling code spent this step) and valid now
        # and for the step after, whenever the window turns.
        code = totp.at((step + 1) * STEP_SECONDS)
        pair = tokens_of(http.post(reauthenticate, json={"password": password, "code": code}, headers=bearer(token)))
        assert claims_of(pair["access_token"])["sid"] == session_id

        changed = http.post("/me/password", json=change, headers=bearer(pair["access_token"]))
        assert changed.status_code == 204, changed.text
        assert log_in(http, email, change["new_password"]).json()["mfa_required"] is True


def test_an_ended_session_cannot_reauthenticate(server: DevServer, signing_key: str) -> None:
    with from_address(server, 3) as http:
        _, password, tokens = signed_in(http)
        assert http.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]}).status_code == 204
        token = stale(signing_key, tokens["access_token"])
        change = {"current_password": password, "new_password": strong_password()}
        for access in (tokens["access_token"], token):
            assert_problem(http.post("/me/password", json=change, headers=bearer(access)), 401, "invalid_token")
            again = http.post("/auth/reauthenticate", json={"password": password}, headers=bearer(access))
            assert_problem(again, 401, "invalid_token")
