"""The account's own audit trail over real HTTP (`GET /me/audit-log`): a failed and a
good sign-in from two addresses, a refresh-token reuse and a re-authentication, each
with the address it came from. Its own client addresses (127.0.12.x)."""

from __future__ import annotations

import pytest

from tests.e2e.helpers import DevServer, bearer, log_in, signed_up_and_verified

pytestmark = pytest.mark.e2e


def test_the_account_sees_its_sign_ins_failures_token_reuse_and_reauthentication(server: DevServer):
    with (
        server.client(source_ip="127.0.12.1") as owner,
        server.client(source_ip="127.0.12.2") as stranger,
    ):
        email, password = signed_up_and_verified(owner)
        assert log_in(stranger, email, "Not-The-Password-9").status_code == 401
        tokens = log_in(owner, email, password).json()
        refreshed = owner.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]}).json()
        # The first refresh token again: a reuse, which ends that session.
        reused = owner.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        assert reused.status_code == 401 and reused.json()["code"] == "token_reused"
        again = log_in(owner, email, password).json()
        reauthenticated = owner.post(
            "/auth/reauthenticate", json={"password": password}, headers=bearer(again["access_token"])
        )
        assert reauthenticated.status_code == 200, reauthenticated.text

        trail = owner.get("/me/audit-log", headers=bearer(reauthenticated.json()["access_token"]))
        assert trail.status_code == 200, trail.text
        events = [(event["action"], event["ip"]) for event in reversed(trail.json()["items"])]
        assert events == [
            ("login.failed", "127.0.12.2"),
            ("login.succeeded", "127.0.12.1"),
            ("session.token_reused", "127.0.12.1"),
            ("login.succeeded", "127.0.12.1"),
            ("session.reauthenticated", "127.0.12.1"),
        ], events
        assert refreshed["refresh_token"] not in trail.text and password not in trail.text
        # The old name answers the same trail.
        old_name = owner.get("/me/security-log", headers=bearer(reauthenticated.json()["access_token"]))
        assert old_name.json() == trail.json()
