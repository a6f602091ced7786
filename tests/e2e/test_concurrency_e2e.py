"""Requests at the same instant over HTTP: one account per address, and no request
sees another's body or answer (each Lambda environment runs one invocation at a time)."""

from __future__ import annotations

import re
import secrets
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
    emails_to,
    log_in,
    outside_window_edge,
    sign_up,
    strong_password,
    token_of,
    unique_email,
    verification_link,
)

pytestmark = pytest.mark.e2e

SIGN_UPS = 8
# Sign-ups racing for one address.
RACERS = 5
EMAILS_PER_ADDRESS_PER_HOUR = 3
BUDGET_RACE_ROUNDS = 10
T = TypeVar("T")


def _at_once(
    server: DevServer, count: int, call: Callable[[httpx.Client, int], T], source_ips: list[str] | None = None
) -> list[T]:
    """`call(client, i)` from `count` threads released together, each on its own
    connection (from `source_ips[i]` when given)."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        with server.client(source_ip=source_ips[i] if source_ips else None) as own:
            barrier.wait(timeout=30)
            return call(own, i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def _fresh_ips(count: int) -> list[str]:
    """Loopback addresses no other test uses, so no limit another request spent applies."""
    chosen: set[str] = set()
    while len(chosen) < count:
        chosen.add(f"127.0.{secrets.randbelow(200) + 30}.{secrets.randbelow(250) + 2}")
    return sorted(chosen)


def _names(text: str, ip: str) -> bool:
    """Whether `text` names `ip` itself (127.0.31.2 is not named by 127.0.31.25)."""
    return re.search(rf"(?<![\d.]){re.escape(ip)}(?!\.?\d)", text) is not None


def test_concurrent_sign_ups_with_one_email_make_exactly_one_account(server: DevServer, client: httpx.Client):
    # All racers (and the later sign-up) must fall in one hourly email window, with room
    # for some fifteen argon2 checks on a busy machine.
    outside_window_edge(3600, margin_seconds=120)
    email = unique_email("Racer")
    # Each request spells the address differently; all are the same address. Each racer
    # comes from its own address, which its email names.
    spellings = [email.upper() if i % 2 else email.lower() for i in range(RACERS)]
    passwords = [strong_password() for _ in range(RACERS)]
    racer_ips = _fresh_ips(RACERS)

    answers = _at_once(
        server,
        RACERS,
        lambda http, i: http.post("/auth/signup", json={"email": spellings[i], "password": passwords[i]}),
        racer_ips,
    )

    # Every request has been answered, so every email the race sends is in the outbox.
    # The address gets at most 3 emails an hour (each sign-up sends a link only while
    # the address has budget left) and at least one, or nobody could verify. None may
    # say "account exists" (that would mean one of them saw a *verified* account).
    sent = emails_to(client, email)
    subjects = [m["subject"] for m in sent]
    assert 1 <= len(sent) <= EMAILS_PER_ADDRESS_PER_HOUR, subjects
    assert all("already" not in subject.lower() for subject in subjects), subjects
    tokens = [token_of(verification_link(m)) for m in sent]
    assert len(set(tokens)) == len(tokens)
    senders = [[i for i, ip in enumerate(racer_ips) if _names(m["text"], ip)] for m in sent]
    assert all(len(sender) == 1 for sender in senders), [m["text"] for m in sent]

    # Each emailed link is pending, bound to the password of the sign-up that sent it,
    # until one verifies the account: the first one pressed wins, the others are refused.
    verified = [client.post("/auth/verify-email", json={"token": token}) for token in tokens]
    assert [answer.status_code for answer in verified] == [200] + [400] * (len(tokens) - 1), [
        answer.text for answer in verified
    ]
    winner = senders[0][0]

    # Exactly one account, with the password of the sign-up whose link was pressed. Each
    # login comes from a fresh address of its own, and the wrong ones (at most 4) come
    # first, so no lockout can touch the right one however the limits are counted.
    def log_in_fresh(password: str) -> httpx.Response:
        with server.client(source_ip=_fresh_ips(1)[0]) as fresh:
            return log_in(fresh, email, password)

    losers = [log_in_fresh(password) for i, password in enumerate(passwords) if i != winner]
    assert [answer.status_code for answer in losers] == [401] * (RACERS - 1), [answer.text for answer in losers]
    won = log_in_fresh(passwords[winner])
    assert won.status_code == 200, won.text

    me = client.get("/me", headers=bearer(won.json()["access_token"]))
    assert me.status_code == 200, me.text
    assert me.json()["email"] == email.lower()
    assert me.json()["email_verified"] is True

    # A later sign-up meets the one, now verified, account: an "account exists" email
    # while the address has budget left this hour, nothing once the race used it up.
    # Either way the answer is the same 202 and nothing changes: the winner's password
    # still signs in, the new one does not.
    later_password = strong_password()
    sign_up(client, email, later_password)
    after = emails_to(client, email)
    if len(sent) < EMAILS_PER_ADDRESS_PER_HOUR:
        assert len(after) == len(sent) + 1, [m["subject"] for m in after]
        assert "already" in after[-1]["subject"].lower()
    else:
        assert len(after) == len(sent), [m["subject"] for m in after]
    assert log_in_fresh(later_password).status_code == 401
    assert log_in_fresh(passwords[winner]).status_code == 200

    # Checked last so that the account checks above report too: every racer got the
    # documented answer, 202 {"status": "verification_sent"}.
    assert [(a.status_code, a.json()) for a in answers] == [(202, {"status": "verification_sent"})] * RACERS


def test_racing_sign_ups_never_send_more_than_three_emails(server: DevServer, client: httpx.Client):
    """The hourly limit holds under a race too. The sign-up that creates the account
    and those that find it race for the address's budget; when the latter take all of
    it first, the creator must not send a fourth email. The window is narrow, so this
    races several fresh addresses (a race test: it can miss the bug, never invent it)."""
    outside_window_edge(3600, margin_seconds=60)
    counts: list[int] = []
    for _ in range(BUDGET_RACE_ROUNDS):
        email = unique_email("Budget")

        def sign_up_as(http: httpx.Client, _: int, email: str = email) -> httpx.Response:
            return http.post("/auth/signup", json={"email": email, "password": strong_password()})

        answers = _at_once(server, SIGN_UPS, sign_up_as)
        assert [a.status_code for a in answers] == [202] * SIGN_UPS, [a.text for a in answers]
        counts.append(len(emails_to(client, email)))
        if counts[-1] > EMAILS_PER_ADDRESS_PER_HOUR:
            break
    assert all(1 <= count <= EMAILS_PER_ADDRESS_PER_HOUR for count in counts), f"emails per racing address: {counts}"


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
