"""Concurrency: one account per email and single-use tokens, enforced by the database.

Threads meet at a barrier right before the write that matters, so every thread has
passed every check the service makes in its own memory before any of them writes:
only DynamoDB's conditions can keep the invariants. (devserver.embedded_aws makes
each moto request atomic, as each real DynamoDB request is.)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kuploy_access import wiring
from kuploy_access.adapters.dynamodb.keys import email_guard_pk
from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter
from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
from kuploy_access.domain.errors import InvalidToken
from kuploy_access.domain.rate_limits import VERIFICATION_EMAILS_PER_ADDRESS
from kuploy_access.services.sessions import ClientInfo
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import meet_before, run_together


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module (creating one costs more than most tests here)."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the shared world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


TIMEOUT = support.TIMEOUT


def racer(index: int) -> ClientInfo:
    return ClientInfo(ip=f"198.51.100.{index + 1}", user_agent=f"Racer/{index}")


def _verifies(service: Any, secret: str) -> bool:
    try:
        service.verify_email(secret)
    except InvalidToken:
        return False
    return True


@pytest.mark.parametrize("threads", [2, 8])
def test_simultaneous_sign_ups_with_one_email_make_one_account(aws, monkeypatch, service_clock, threads):
    service = wiring.signup_service()
    # Every thread reaches the conditional write at the same instant.
    meet_before(monkeypatch, DynamoUserRepository, "create", threads)
    spellings = ["race@example.com", "Race@Example.com", "RACE@EXAMPLE.COM", "race@EXAMPLE.com"]

    outcomes = run_together(
        threads,
        lambda i: service.sign_up(spellings[i % len(spellings)], f"{support.PASSWORD} {i}", racer(i), f"Racer {i}"),
    )

    assert [kind for kind, _ in outcomes] == ["ok"] * threads, outcomes
    accounts = support.users()
    guards = support.email_guards()
    assert len(accounts) == 1, accounts
    assert len(guards) == 1, guards
    assert guards[0]["pk"] == email_guard_pk("race@example.com")
    assert guards[0]["user_id"] == accounts[0]["user_id"]
    # Every sign-up got its verification email, to the one address, up to the limit of
    # 3 sign-up emails per address and hour; the others were still answered alike...
    sent = aws.all()
    assert len(sent) == min(threads, VERIFICATION_EMAILS_PER_ADDRESS.limit), sent
    assert {email["to"] for email in sent} == {"race@example.com"}
    tokens = support.verification_tokens()
    assert 1 <= len(tokens) <= threads
    assert {token["user_id"] for token in tokens} == {accounts[0]["user_id"]}
    # ...and every emailed link was pending until the first one verified the account, with
    # the password of the sign-up that sent it (the email names the racer's address).
    links = [re.search(r"token=([A-Za-z0-9_\-]+)", email["text"]).group(1) for email in sent]  # type: ignore[union-attr]
    verified = [link for link in links if _verifies(service, link)]
    assert verified == links[:1], verified
    winner = next(i for i in range(threads) if racer(i).ip in sent[0]["text"])
    stored = support.users()[0]["password_hash"]
    assert wiring.password_hasher().verify(stored, f"{support.PASSWORD} {winner}")
    assert support.verification_tokens() == []


def test_simultaneous_sign_ups_never_send_more_emails_than_the_hourly_limit(aws, monkeypatch, service_clock):
    """The worst order of a race: the sign-up that created the account reaches the email
    counter only after all the others have (a slow thread, a cold container)."""
    threads = 8
    service = wiring.signup_service()
    meet_before(monkeypatch, DynamoUserRepository, "create", threads)
    mine = threading.local()
    others_counted = threading.Semaphore(0)
    create = DynamoUserRepository.create
    consume = DynamoRateLimiter.consume

    def recording_create(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = create(self, *args, **kwargs)
        mine.created = True
        return result

    def late_consume(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(mine, "created", False):
            for _ in range(threads - 1):
                assert others_counted.acquire(timeout=TIMEOUT)
            return consume(self, *args, **kwargs)
        try:
            return consume(self, *args, **kwargs)
        finally:
            others_counted.release()

    monkeypatch.setattr(DynamoUserRepository, "create", recording_create)
    monkeypatch.setattr(DynamoRateLimiter, "consume", late_consume)

    outcomes = run_together(threads, lambda i: service.sign_up("late@example.com", f"{support.PASSWORD} {i}", racer(i)))

    assert [kind for kind, _ in outcomes] == ["ok"] * threads, outcomes
    assert len(support.users()) == 1
    sent = aws.all()
    assert {email["to"] for email in sent} == {"late@example.com"}
    assert len(sent) <= VERIFICATION_EMAILS_PER_ADDRESS.limit, [email["subject"] for email in sent]


def test_simultaneous_sign_ups_through_the_local_gateway_each_get_their_own_answer(aws, monkeypatch):
    """`make dev` serves requests on threads; each must get its own route's answer.

    Lambda never runs two invocations in one execution environment at once, and the
    Powertools resolver relies on that (it keeps the current request on the app).
    """
    client = GatewayClient(aws)
    client.gateway.load_all()
    meet_before(monkeypatch, DynamoUserRepository, "create", 4)

    outcomes = run_together(
        4,
        lambda i: client.request("POST", "/auth/signup", {"email": "twin@example.com", "password": support.PASSWORD}),
    )

    answers = [value for kind, value in outcomes if kind == "ok"]
    assert len(answers) == 4, outcomes
    assert {(a.status, a.body) for a in answers} == {(202, b'{"status":"verification_sent"}')}
    assert len(support.users()) == 1
    assert len(support.email_guards()) == 1


def test_simultaneous_sign_ups_with_different_emails_all_succeed(aws, monkeypatch):
    service = wiring.signup_service()
    meet_before(monkeypatch, DynamoUserRepository, "create", 4)

    outcomes = run_together(4, lambda i: service.sign_up(f"person{i}@example.com", support.PASSWORD, racer(i)))

    assert [kind for kind, _ in outcomes] == ["ok"] * 4, outcomes
    assert sorted(user["email"] for user in support.users()) == [f"person{i}@example.com" for i in range(4)]
    assert len(support.email_guards()) == 4


@pytest.mark.parametrize("threads", [2, 6])
def test_one_token_verified_at_once_from_several_threads_succeeds_once(aws, monkeypatch, threads):
    client = GatewayClient(aws)
    service = wiring.signup_service()
    service.sign_up("once@example.com", support.PASSWORD, racer(0))
    token = client.last_link("once@example.com", "/verify-email")
    # Every thread has read the token (it is still there for all of them) before any
    # of them consumes it: only the conditional delete can make it single-use.
    meet_before(monkeypatch, DynamoUserRepository, "verify_email", threads)

    outcomes = run_together(threads, lambda i: service.verify_email(token))

    kinds = [kind for kind, _ in outcomes]
    assert kinds.count("ok") == 1, outcomes
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(refused) == threads - 1
    assert all(isinstance(error, InvalidToken) for error in refused), refused
    assert support.users()[0]["email_verified"] is True
    assert support.verification_tokens() == []


@pytest.mark.parametrize("links", [2, 3])
def test_different_pending_links_verified_at_once_verify_once(aws, monkeypatch, service_clock, links):
    """Pending links of one account, each from its own sign-up, clicked at the same
    instant: exactly one wins and the account gets its password; the others are refused
    by the account's "still unverified" condition, never half-applied."""
    service = wiring.signup_service()
    for i in range(links):
        service.sign_up("both@example.com", f"{support.PASSWORD} {i}", racer(i))
    sent = aws.all()
    assert len(sent) == links
    tokens = [re.search(r"token=([A-Za-z0-9_\-]+)", email["text"]).group(1) for email in sent]  # type: ignore[union-attr]
    # Every thread has read its own (still pending) link before any transaction runs.
    meet_before(monkeypatch, DynamoUserRepository, "verify_email", links)

    outcomes = run_together(links, lambda i: service.verify_email(tokens[i]))

    winners = [i for i, (kind, _) in enumerate(outcomes) if kind == "ok"]
    assert len(winners) == 1, outcomes
    refused = [value for kind, value in outcomes if kind == "error"]
    assert all(isinstance(error, InvalidToken) for error in refused), refused
    account = support.users()[0]
    assert account["email_verified"] is True
    hasher = wiring.password_hasher()
    assert hasher.verify(account["password_hash"], f"{support.PASSWORD} {winners[0]}")
    for loser in set(range(links)) - set(winners):
        assert not hasher.verify(account["password_hash"], f"{support.PASSWORD} {loser}")
    # The losers' links were consumed by nobody, then deleted as leftovers.
    assert support.verification_tokens() == []


def test_the_token_read_itself_does_not_make_it_single_use(aws, monkeypatch):
    """Control for the test above: the threads really did all find the token."""
    service = wiring.signup_service()
    service.sign_up("control@example.com", support.PASSWORD, racer(0))
    token = GatewayClient(aws).last_link("control@example.com", "/verify-email")
    found: list[bool] = []
    original_get = DynamoTokenRepository.get

    def recording_get(self: Any, *args: Any) -> Any:
        result = original_get(self, *args)
        found.append(result is not None)
        return result

    monkeypatch.setattr(DynamoTokenRepository, "get", recording_get)
    meet_before(monkeypatch, DynamoUserRepository, "verify_email", 2)

    run_together(2, lambda i: service.verify_email(token))

    assert found == [True, True]


def test_concurrent_requests_to_two_routes_of_one_function_keep_their_status(aws):
    """Sign-up and resend-verification run in one function; both answer 202, whatever runs beside them."""
    client = GatewayClient(aws)
    client.gateway.load_all()

    def request(i: int) -> Any:
        if i % 2:
            return client.request("POST", "/auth/signup", {"email": f"p{i}@example.com", "password": support.PASSWORD})
        return client.request("POST", "/auth/resend-verification", {"email": f"p{i}@example.com"})

    for _ in range(3):
        outcomes = run_together(4, request)
        answers = [(value.status, value.json()["status"]) for kind, value in outcomes if kind == "ok"]
        assert answers == [(202, "accepted"), (202, "verification_sent")] * 2, answers
