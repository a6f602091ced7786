"""Brute-force and email-flood protection over real HTTP.

Limits (README, domain/login_throttle.py and rate_limits.py): 5 failed logins per
(account, client IP) and 50 per client IP in a fixed 15-minute window, then 429
`rate_limited` with `Retry-After`; after 100 failures in a row on an account, password
sign-in needs the unlock link emailed to its owner (the answer stays 401
`invalid_credentials`); 3 emails per address per hour for each kind (verification,
reset), still answering 202.

The client IP is the connection's address (API Gateway's `sourceIp`), never a header
the client sends. Each test here connects from its own loopback address (127.0.0.x),
so its failures neither use up nor depend on the budget of 127.0.0.1, where the rest
of the suite runs.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    emails_to,
    log_in,
    outside_window_edge,
    reset_emails_to,
    reset_link,
    sign_up,
    signed_up_and_verified,
    strong_password,
    token_of,
    unique_email,
    verification_link,
)

pytestmark = pytest.mark.e2e

LOGIN_WINDOW_S = 15 * 60
EMAIL_WINDOW_S = 60 * 60
ACCOUNT_FAILURES = 5
IP_FAILURES = 50
EMAILS_PER_HOUR = 3


@pytest.fixture(scope="module", autouse=True)
def loopback_aliases() -> None:
    """Linux routes all of 127.0.0.0/8 to the loopback interface; elsewhere skip."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.99", 0))
        except OSError:
            pytest.skip("this OS does not route 127.0.0.0/8 to loopback: cannot vary the client IP")


@pytest.fixture
def from_ip(server: DevServer) -> Iterator[Callable[[str], httpx.Client]]:
    opened: list[httpx.Client] = []

    def open_client(source_ip: str) -> httpx.Client:
        http = server.client(source_ip=source_ip)
        opened.append(http)
        return http

    yield open_client
    for http in opened:
        http.close()


def _spoofed() -> dict[str, str]:
    """Headers a client might forge to look like someone else, fresh on every request."""
    fake = f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    return {"X-Forwarded-For": fake, "X-Real-IP": fake, "Forwarded": f"for={fake}", "True-Client-IP": fake}


def _assert_rate_limited(answer: httpx.Response) -> int:
    assert_problem(answer, 429, "rate_limited")
    retry_after = answer.headers.get("retry-after")
    assert retry_after is not None, answer.headers
    assert retry_after.isdigit(), f"Retry-After must be whole seconds, got {retry_after!r}"
    seconds = int(retry_after)
    assert 1 <= seconds <= LOGIN_WINDOW_S, seconds
    return seconds


def test_five_failures_lock_that_address_out_of_the_account_but_not_the_owner(from_ip):
    outside_window_edge(LOGIN_WINDOW_S)
    attacker, owner = from_ip("127.0.0.41"), from_ip("127.0.0.42")
    email, password = signed_up_and_verified(attacker)

    # Five wrong passwords, each under another spelling of the address and with forged
    # client-IP headers: all count against the one (account, address) pair.
    spellings = [email, email.upper(), email.lower(), email.swapcase(), f"  {email}  "]
    for attempt, spelling in enumerate(spellings, start=1):
        answer = attacker.post(
            "/auth/login", json={"email": spelling, "password": f"Wrong-Guess-{attempt}-x"}, headers=_spoofed()
        )
        assert_problem(answer, 401, "invalid_credentials")

    # The sixth, even with the right password, is refused: a lockout that let the right
    # password through would tell the guesser when they found it.
    _assert_rate_limited(attacker.post("/auth/login", json={"email": email, "password": password}, headers=_spoofed()))
    # The lock is on that address only: knowing the email is not enough to keep its
    # owner out, who signs in from their own address as usual.
    assert log_in(owner, email, password).status_code == 200
    # ...and only on that account: the attacker's address may still sign in elsewhere.
    other_email, other_password = signed_up_and_verified(attacker)
    assert log_in(attacker, other_email, other_password).status_code == 200


def test_100_failures_in_a_row_pause_password_sign_in_until_the_owner_unlocks_it(server, from_ip):
    outside_window_edge(LOGIN_WINDOW_S, margin_seconds=90)
    owner = from_ip("127.1.0.1")
    email, password = signed_up_and_verified(owner)
    # A botnet: 25 addresses, 4 guesses each, so no per-address limit is ever reached.
    for index in range(25):
        bot = from_ip(f"127.1.{index + 1}.9")
        for attempt in range(4):
            assert_problem(log_in(bot, email, f"Guess-{index}-{attempt}-x"), 401, "invalid_credentials")

    # The right password, from the owner's untouched address, answers like a wrong one.
    locked = log_in(owner, email, password)
    wrong = log_in(owner, unique_email("Nobody"), password)
    assert_problem(locked, 401, "invalid_credentials")
    assert locked.json() == wrong.json()

    # The owner got the unlock link; its page changes nothing until the button is pressed.
    sent = [m for m in emails_to(owner, email) if "/unlock?token=" in m["text"]]
    assert len(sent) == 1, [m["subject"] for m in emails_to(owner, email)]
    link = next(word for word in sent[0]["text"].split() if "/unlock?token=" in word)
    token = token_of(link)
    assert owner.get(f"/unlock?token={token}").status_code == 200
    assert log_in(owner, email, password).status_code == 401
    unlocked = owner.post(
        "/unlock", content=f"token={token}", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert unlocked.status_code == 200, unlocked.text
    assert log_in(owner, email, password).status_code == 200
    # Single use.
    assert_problem(owner.post("/auth/unlock", json={"token": token}), 400, "invalid_token")


def test_a_success_before_the_limit_starts_the_count_again(from_ip):
    outside_window_edge(LOGIN_WINDOW_S)
    http = from_ip("127.0.0.43")
    email, password = signed_up_and_verified(http)
    for _ in range(2):
        for _ in range(ACCOUNT_FAILURES - 1):
            assert_problem(log_in(http, email, "Wrong-Password-1"), 401, "invalid_credentials")
        # A person who mistyped a few times and then got it right is not locked out.
        assert log_in(http, email, password).status_code == 200


def test_a_password_reset_lifts_the_lockout_of_the_address_it_came_from(from_ip):
    outside_window_edge(LOGIN_WINDOW_S)
    http = from_ip("127.0.0.44")
    email, _ = signed_up_and_verified(http)
    for _ in range(ACCOUNT_FAILURES):
        log_in(http, email, "Wrong-Password-1")
    _assert_rate_limited(log_in(http, email, "Wrong-Password-1"))

    # The owner proves control of the inbox and sets a new password: they can sign in
    # at once instead of waiting out the window.
    assert http.post("/auth/password/forgot", json={"email": email}).status_code == 202
    token = token_of(reset_link(reset_emails_to(http, email)[-1]))
    new_password = strong_password()
    assert http.post("/auth/password/reset", json={"token": token, "password": new_password}).status_code == 204
    assert log_in(http, email, new_password).status_code == 200


def test_a_spoofed_forwarded_for_does_not_reset_the_per_ip_limit(from_ip):
    outside_window_edge(LOGIN_WINDOW_S, margin_seconds=60)
    sprayer, bystander = from_ip("127.0.0.45"), from_ip("127.0.0.46")
    email, password = signed_up_and_verified(bystander)

    # Password spraying: one guess at each of many addresses (so no account reaches its
    # own limit), each request claiming another client IP in its headers.
    for n in range(IP_FAILURES):
        answer = sprayer.post(
            "/auth/login",
            json={"email": f"spray-{n}-{uuid.uuid4().hex[:8]}@example.com", "password": "Summer2024!x"},
            headers=_spoofed(),
        )
        assert_problem(answer, 401, "invalid_credentials")

    # The connection's address has used its 50 failures: the next login from it is
    # refused, even the right password of an untouched account, whatever the headers say.
    _assert_rate_limited(sprayer.post("/auth/login", json={"email": email, "password": password}, headers=_spoofed()))
    _assert_rate_limited(sprayer.post("/auth/login", json={"email": email, "password": password}))
    # Another address is not affected, and neither is the account.
    assert log_in(bystander, email, password).status_code == 200


def test_forgot_password_sends_at_most_three_emails_an_hour(from_ip):
    outside_window_edge(EMAIL_WINDOW_S)
    http = from_ip("127.0.0.47")
    email, password = signed_up_and_verified(http)

    answers = [
        http.post("/auth/password/forgot", json={"email": spelling}) for spelling in (email,) * 2 + (email.upper(),) * 2
    ]
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1, "the refused request answers exactly like the others"
    sent = reset_emails_to(http, email)
    assert len(sent) == EMAILS_PER_HOUR, [m["subject"] for m in sent]

    # The refused fourth request did not break the link the person already has.
    new_password = strong_password()
    reset = http.post("/auth/password/reset", json={"token": token_of(reset_link(sent[-1])), "password": new_password})
    assert reset.status_code == 204, reset.text
    assert log_in(http, email, new_password).status_code == 200
    assert log_in(http, email, password).status_code == 401

    # An address without an account: the same 202 every time, no email at all.
    nobody = unique_email("Nobody")
    for _ in range(EMAILS_PER_HOUR + 1):
        answer = http.post("/auth/password/forgot", json={"email": nobody})
        assert (answer.status_code, answer.text) == (202, answers[0].text)
    assert emails_to(http, nobody) == []


def test_sign_up_and_resend_verification_send_at_most_three_emails_an_hour(from_ip):
    outside_window_edge(EMAIL_WINDOW_S)
    http = from_ip("127.0.0.48")
    email, password = unique_email("Flood"), strong_password()
    sign_up(http, email, password)
    resent = [http.post("/auth/resend-verification", json={"email": email}) for _ in range(EMAILS_PER_HOUR)]
    assert [a.status_code for a in resent] == [202] * EMAILS_PER_HOUR, [a.text for a in resent]
    # A sign-up again over the limit: the same 202, no email, and its password is not taken.
    sign_up(http, email, strong_password())

    sent = emails_to(http, email)
    assert len(sent) == EMAILS_PER_HOUR, [m["subject"] for m in sent]
    # The refused requests changed nothing: the sign-up's link still sets its password.
    signed_up = token_of(verification_link(sent[0]))
    assert http.post("/auth/verify-email", json={"token": signed_up}).status_code == 200
    assert log_in(http, email, password).status_code == 200

    # Reset emails have their own budget.
    assert http.post("/auth/password/forgot", json={"email": email}).status_code == 202
    assert len(reset_emails_to(http, email)) == 1


def test_requests_that_send_no_email_do_not_use_up_the_budget(from_ip):
    """Resend-verification and forgot-password for an address without an account send
    nothing. If they still counted, anyone could send three of them an hour and the
    person who then signs up with that address would never get their link."""
    outside_window_edge(EMAIL_WINDOW_S)
    http = from_ip("127.0.0.49")
    email, password = unique_email("Future"), strong_password()
    for _ in range(EMAILS_PER_HOUR):
        assert http.post("/auth/resend-verification", json={"email": email}).status_code == 202
        assert http.post("/auth/password/forgot", json={"email": email}).status_code == 202
    assert emails_to(http, email) == []

    sign_up(http, email, password)
    sent = emails_to(http, email)
    assert len(sent) == 1, "the sign-up's verification email was not sent"
    assert http.post("/auth/verify-email", json={"token": token_of(verification_link(sent[0]))}).status_code == 200

    assert http.post("/auth/password/forgot", json={"email": email}).status_code == 202
    assert len(reset_emails_to(http, email)) == 1, "the account's first reset email was not sent"
