"""Requests at the same instant over HTTP: one account per address, and no request
sees another's body or answer (each Lambda environment runs one invocation at a time)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    bearer,
    log_in,
    strong_password,
    token_of,
    unique_email,
    verification_link,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

SIGN_UPS = 8
T = TypeVar("T")


def _at_once(server: DevServer, count: int, call: Callable[[httpx.Client, int], T]) -> list[T]:
    """`call(client, i)` from `count` threads released together, each on its own connection."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        with server.client() as own:
            barrier.wait(timeout=30)
            return call(own, i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_sign_ups_with_one_email_make_exactly_one_account(server: DevServer, client: httpx.Client):
    email = unique_email("Racer")
    # Each request spells the address differently; all are the same address.
    spellings = [email.upper() if i % 2 else email.lower() for i in range(SIGN_UPS)]
    passwords = [strong_password() for _ in range(SIGN_UPS)]

    answers = _at_once(
        server,
        SIGN_UPS,
        lambda http, i: http.post("/auth/signup", json={"email": spellings[i], "password": passwords[i]}),
    )

    # API.md: signing up again with a registered but unverified address sends a new
    # verification email, so every sign-up gets one; none may say "account exists"
    # (that would mean one of them saw a *verified* account) and none may be missing.
    sent = wait_for_emails(client, email, SIGN_UPS)
    assert len(sent) == SIGN_UPS, [m["subject"] for m in sent]
    assert all("already" not in m["subject"].lower() for m in sent), [m["subject"] for m in sent]
    tokens = [token_of(verification_link(m)) for m in sent]
    assert len(set(tokens)) == SIGN_UPS

    confirmed = client.post("/auth/verify-email", json={"token": tokens[-1]})
    assert confirmed.status_code == 200, confirmed.text

    # Exactly one account: the verified token belonged to the account the address
    # leads to, so exactly one of the racing passwords signs in.
    logins = [log_in(client, email, password) for password in passwords]
    winners = [answer for answer in logins if answer.status_code == 200]
    assert len(winners) == 1, [answer.status_code for answer in logins]
    assert {answer.status_code for answer in logins} == {200, 401}

    me = client.get("/me", headers=bearer(winners[0].json()["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email.lower()
    assert me.json()["email_verified"] is True

    # A later sign-up meets the one, now verified, account.
    again = client.post("/auth/signup", json={"email": email, "password": strong_password()})
    assert again.status_code == 202
    assert "already" in wait_for_emails(client, email, SIGN_UPS + 1)[-1]["subject"].lower()

    # Checked last so that the account checks above report too: every racer got the
    # documented answer, 202 {"status": "verification_sent"}.
    assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "verification_sent"})] * SIGN_UPS


def test_concurrent_requests_to_one_function_do_not_mix(server: DevServer, client: httpx.Client):
    """Sign-ups for different addresses at the same instant: each gets its own answer
    and its own email. Lambda never runs two invocations in one environment at once,
    so handlers keep per-invocation state on module-level objects; the local server
    must not share them between concurrent requests either."""
    rounds = 3
    for _ in range(rounds):
        addresses = [unique_email("Parallel") for _ in range(SIGN_UPS)]
        answers = _at_once(
            server,
            SIGN_UPS,
            lambda http, i, addresses=addresses: http.post(
                "/auth/signup", json={"email": addresses[i], "password": strong_password()}
            ),
        )
        delivered = Counter(email["to"] for email in client.get("/_dev/emails").json())
        assert [delivered[a.lower()] for a in addresses] == [1] * SIGN_UPS, "each address gets exactly its own email"
        assert [a.status_code for a in answers] == [202] * SIGN_UPS
