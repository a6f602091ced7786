"""Throttling through the handlers on moto: login lockouts per (account, client IP) and
per client IP, the account's ceiling of consecutive failures and its unlock link, their
expiry, the client IP that counts, counters that live in DynamoDB, races, and the hourly
limits on emails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest

from kuploy_access import wiring
from kuploy_access.adapters.dynamodb.keys import COUNTER_SK, REFRESH_TOKEN_PK_PREFIX, login_failures_pk, rate_counter_pk
from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle
from kuploy_access.domain.errors import InvalidCredentials
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    LOGIN_FAILURES_PER_IP,
    pair_key,
)
from kuploy_access.domain.rate_limits import VERIFICATION_EMAILS_PER_ADDRESS, RateLimited
from kuploy_access.services.sessions import ClientInfo
from tests.integration import support
from tests.integration.gateway_client import SOURCE_IP, GatewayClient
from tests.integration.support import PASSWORD, assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


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


@pytest.fixture
def client(aws, service_clock):
    """Every test here counts within one window, whenever it runs."""
    return GatewayClient(aws)


WRONG = "not the passphrase"
ACCOUNT_LIMIT = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
IP_LIMIT = LOGIN_FAILURES_PER_IP.limit


def log_in(client: GatewayClient, email: str, password: str = PASSWORD, source_ip: str = SOURCE_IP, **headers: str):
    return client.request(
        "POST", "/auth/login", {"email": email, "password": password}, headers=headers or None, source_ip=source_ip
    )


def fail(client: GatewayClient, email: str, times: int, **kwargs: Any) -> None:
    for attempt in range(times):
        answer = log_in(client, email, f"{WRONG} {attempt}", **kwargs)
        assert_problem(answer, 401, "invalid_credentials")


def assert_rate_limited(answer: Any, clock: support.ServiceClock | None = None) -> int:
    assert_problem(answer, 429, "rate_limited")
    retry_after = answer.headers.get("retry-after", "")
    assert retry_after.isdigit(), answer.headers
    seconds = int(retry_after)
    assert 0 < seconds <= 900, seconds
    if clock is not None:
        # Seconds to the end of the 15-minute window.
        left = support.RATE_WINDOW_SECONDS - int(clock.now().timestamp()) % support.RATE_WINDOW_SECONDS
        assert abs(seconds - left) <= 2, (seconds, left)
    return seconds


def counter_pk(limit: Any, key: str, clock: support.ServiceClock) -> str:
    """The counter of `limit` for `key` in the window the service is in (the format is
    pinned in tests/unit/test_table_keys.py)."""
    return rate_counter_pk(limit, key, clock.now())


def hits(pk: str) -> int:
    item = support.raw_item(pk, COUNTER_SK)
    return int(item["hits"]) if item else 0


# --- per account -------------------------------------------------------------------------


def test_five_failures_then_429_with_retry_after(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)

    answer = log_in(client, "ada@example.com", WRONG)

    assert_rate_limited(answer, service_clock)
    assert answer.headers["cache-control"] == "no-store"
    # Other spellings of the address are the same account.
    assert_rate_limited(log_in(client, " ADA@Example.com", WRONG))


def test_the_right_password_is_refused_during_the_lockout(client):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)

    right = log_in(client, "ada@example.com")
    wrong = log_in(client, "ada@example.com", WRONG)

    assert_rate_limited(right)
    assert_rate_limited(wrong)
    # Nothing tells the guesser that this one was right.
    assert right.json()["code"] == wrong.json()["code"]
    assert right.headers.keys() == wrong.headers.keys()
    assert support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX) == []


def test_failures_from_one_address_do_not_keep_the_owner_out_elsewhere(client):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT, source_ip="198.51.100.66")
    assert_rate_limited(log_in(client, "ada@example.com", source_ip="198.51.100.66"))

    assert log_in(client, "ada@example.com", source_ip="198.51.100.99").status == 200


def test_failures_spread_over_addresses_do_not_trip_the_pair_limit(client):
    client.sign_up_and_verify("ada@example.com")
    for index in range(ACCOUNT_LIMIT + 3):
        fail(client, "ada@example.com", 1, source_ip=f"198.51.100.{index + 1}")

    assert log_in(client, "ada@example.com", source_ip="198.51.100.1").status == 200


def test_an_ipv6_client_is_counted_by_its_64(client):
    """Whoever holds a /64 may send from any of its addresses: one budget for all of them."""
    client.sign_up_and_verify("ada@example.com")
    for interface in range(1, ACCOUNT_LIMIT + 1):
        fail(client, "ada@example.com", 1, source_ip=f"2001:db8:4:2::{interface:x}")

    assert_rate_limited(log_in(client, "ada@example.com", source_ip="2001:db8:4:2:ffff:ffff:ffff:ffff"))
    assert log_in(client, "ada@example.com", source_ip="2001:db8:4:3::1").status == 200


# --- the account's ceiling and its unlock link ---------------------------------------------


def fail_from_many(client: GatewayClient, email: str, times: int) -> None:
    for index in range(times):
        fail(client, email, 1, source_ip=f"10.20.{index // 4}.{index % 4 + 1}")


def test_100_failures_in_a_row_lock_password_sign_in_until_the_emailed_link_is_followed(client, aws):
    client.sign_up_and_verify("ada@example.com")
    fail_from_many(client, "ada@example.com", CONSECUTIVE_FAILURES_BEFORE_LOCK)

    # The right password from a fresh address answers what a wrong one does.
    locked = log_in(client, "ada@example.com", source_ip="192.0.2.77")
    wrong = log_in(client, "nobody@example.com", WRONG, source_ip="192.0.2.78")
    assert_problem(locked, 401, "invalid_credentials")
    assert locked.json() == wrong.json()
    # The owner got one email with the link, and the account's trail says why.
    sent = [email for email in aws.all() if "/unlock?token=" in email["text"]]
    assert len(sent) == 1 and sent[0]["to"] == "ada@example.com"
    token = client.last_link("ada@example.com", "/unlock")
    assert token not in repr(support.scan())

    page = client.request("GET", f"/unlock?token={token}")
    assert page.status == 200 and "<form" in page.text
    assert_problem(log_in(client, "ada@example.com", source_ip="192.0.2.77"), 401, "invalid_credentials")

    assert client.request("POST", "/auth/unlock", {"token": token}).json() == {"status": "unlocked"}
    assert log_in(client, "ada@example.com", source_ip="192.0.2.77").status == 200
    assert_problem(client.request("POST", "/auth/unlock", {"token": token}), 400, "invalid_token")


def test_the_unlock_form_unlocks_once(client):
    client.sign_up_and_verify("ada@example.com")
    fail_from_many(client, "ada@example.com", CONSECUTIVE_FAILURES_BEFORE_LOCK)
    token = client.last_link("ada@example.com", "/unlock")

    form_type = {"Content-Type": "application/x-www-form-urlencoded"}
    form = client.request("POST", "/unlock", raw=f"token={token}".encode(), headers=form_type)
    again = client.request("POST", "/unlock", raw=f"token={token}".encode(), headers=form_type)

    assert form.status == 200 and "works again" in form.text
    assert again.status == 400
    assert log_in(client, "ada@example.com", source_ip="192.0.2.77").status == 200


def test_two_hundred_parallel_guesses_from_one_address_get_at_most_five_password_checks(
    aws, monkeypatch, service_clock
):
    """Every thread has read the counters (all zero) before any of them writes, so only
    the conditional increments can hold the budget."""
    client = GatewayClient(aws)
    client.sign_up_and_verify("ada@example.com")
    service = wiring.login_service()
    checks: list[str] = []
    real_verify = service.hasher.verify

    def counted(password_hash: str, password: str) -> bool:
        checks.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(service.hasher, "verify", counted)
    support.meet_before(monkeypatch, DynamoLoginThrottle, "_increment", 200)
    bot = ClientInfo("203.0.113.200", "bot")

    def guess(index: int) -> str:
        try:
            service.log_in("ada@example.com", f"guess {index}", bot)
        except (InvalidCredentials, RateLimited) as refused:
            return refused.code
        return "signed in"

    outcomes = support.run_together(200, guess)

    answers = [value for kind, value in outcomes if kind == "ok"]
    assert len(answers) == 200, [value for kind, value in outcomes if kind != "ok"][:3]
    assert len(checks) <= ACCOUNT_LIMIT
    assert answers.count("invalid_credentials") == len(checks)
    assert answers.count("rate_limited") == 200 - len(checks)
    pair = pair_key("ada@example.com", bot.ip)
    assert hits(counter_pk(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair, service_clock)) == len(checks)


def test_unknown_addresses_lock_out_the_same_way(client):
    """A lockout must not tell which addresses have accounts."""
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)
    fail(client, "nobody@example.com", ACCOUNT_LIMIT)

    known = log_in(client, "ada@example.com", WRONG)
    unknown = log_in(client, "nobody@example.com", WRONG)

    assert_rate_limited(known)
    assert_rate_limited(unknown)
    assert known.json()["title"] == unknown.json()["title"]


def test_one_locked_account_does_not_lock_another_from_the_same_ip(client):
    client.sign_up_and_verify("ada@example.com")
    client.sign_up_and_verify("bob@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)
    assert_rate_limited(log_in(client, "ada@example.com"))

    assert log_in(client, "bob@example.com").status == 200


def test_a_spoofed_x_forwarded_for_neither_resets_nor_splits_the_account_limit(client):
    client.sign_up_and_verify("ada@example.com")
    for index in range(ACCOUNT_LIMIT):
        fail(client, "ada@example.com", 1, **{"X-Forwarded-For": f"192.0.2.{index + 1}"})

    for spoofed in ("192.0.2.200", "192.0.2.201, 203.0.113.7", "unknown"):
        assert_rate_limited(log_in(client, "ada@example.com", **{"X-Forwarded-For": spoofed}))


# --- per client IP -----------------------------------------------------------------------


def test_fifty_failures_from_one_source_ip_lock_that_ip_out_whatever_x_forwarded_for_says(client, service_clock):
    """Password spraying: one guess each at many addresses from one client. The client is
    API Gateway's sourceIp; a header the client writes itself changes nothing."""
    client.sign_up_and_verify("ada@example.com")
    sprayer, neighbour = "198.51.100.50", "198.51.100.51"
    for index in range(IP_LIMIT):
        fail(client, f"spray{index}@example.com", 1, source_ip=sprayer, **{"X-Forwarded-For": f"192.0.2.{index}"})

    # A fresh address and a new header value do not buy the sprayer a new budget...
    spoofed = log_in(client, "fresh@example.com", WRONG, source_ip=sprayer, **{"X-Forwarded-For": "192.0.2.250"})
    assert_rate_limited(spoofed, service_clock)
    assert_rate_limited(log_in(client, "fresh2@example.com", WRONG, source_ip=sprayer))
    assert_rate_limited(log_in(client, "ada@example.com", source_ip=sprayer))  # even with the right password
    # ...while another client IP is not affected, for unknown and real addresses alike,
    # even when its header claims to be the sprayer.
    framed = {"X-Forwarded-For": sprayer}
    assert_problem(log_in(client, "fresh@example.com", WRONG, source_ip=neighbour), 401, "invalid_credentials")
    assert log_in(client, "ada@example.com", source_ip=neighbour, **framed).status == 200
    # The counters are keyed by the source IP alone.
    assert hits(counter_pk(LOGIN_FAILURES_PER_IP, sprayer, service_clock)) == IP_LIMIT
    for index in (0, 1, IP_LIMIT - 1):
        assert hits(counter_pk(LOGIN_FAILURES_PER_IP, f"192.0.2.{index}", service_clock)) == 0


# --- expiry ------------------------------------------------------------------------------


def test_the_lockout_ends_with_its_window(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)
    retry_after = assert_rate_limited(log_in(client, "ada@example.com"), service_clock)

    service_clock.advance(timedelta(seconds=retry_after + 1))

    assert log_in(client, "ada@example.com").status == 200
    # And the new window starts from zero.
    fail(client, "ada@example.com", ACCOUNT_LIMIT - 1)
    assert log_in(client, "ada@example.com").status == 200


def test_the_lockout_is_over_sixteen_minutes_later(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)
    assert_rate_limited(log_in(client, "ada@example.com"))

    service_clock.advance(timedelta(minutes=16))

    assert log_in(client, "ada@example.com").status == 200


def test_a_password_reset_ends_the_lockout(client):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", ACCOUNT_LIMIT)
    assert client.request("POST", "/auth/password/forgot", {"email": "ada@example.com"}).status == 202
    token = client.last_link("ada@example.com", "/reset-password")

    body = {"token": token, "password": "a brand new passphrase"}
    assert client.request("POST", "/auth/password/reset", body).status == 204

    assert log_in(client, "ada@example.com", "a brand new passphrase").status == 200


# --- counters in DynamoDB ----------------------------------------------------------------


def test_the_counters_are_table_items_with_a_ttl_and_no_address_in_the_clear(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    fail(client, "ada@example.com", 2)

    counters = [item for item in support.rate_counters() if item["pk"].startswith(support.LOGIN_COUNTERS)]

    assert sorted(item["pk"] for item in counters) == sorted(
        [
            counter_pk(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair_key("ada@example.com", SOURCE_IP), service_clock),
            counter_pk(LOGIN_FAILURES_PER_IP, SOURCE_IP, service_clock),
        ]
    )
    consecutive = support.raw_item(login_failures_pk("ada@example.com"), COUNTER_SK)
    assert consecutive is not None and int(consecutive["hits"]) == 2
    assert "ada@example.com" not in repr(consecutive)
    now = service_clock.now().timestamp()
    for item in counters:
        assert item["sk"] == COUNTER_SK
        assert int(item["hits"]) == 2
        assert now < int(item["expires_at_epoch"]) <= now + 900
        assert "ada@example.com" not in repr(item) and SOURCE_IP not in repr(item)
    ttl = boto3.client("dynamodb", region_name=support.REGION).describe_time_to_live(TableName=support.table_name())
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires_at_epoch"


def test_the_lockout_holds_across_containers(client, aws):
    client.sign_up_and_verify("ada@example.com")
    for _ in range(ACCOUNT_LIMIT):
        support.forget_containers()  # each guess lands on a new container
        fail(GatewayClient(aws), "ada@example.com", 1)

    support.forget_containers()
    assert_rate_limited(log_in(GatewayClient(aws), "ada@example.com"))
    # And the lockout is nothing but those items: without them, the right password works.
    for item in support.rate_counters():
        support.delete_raw_item(item["pk"], item["sk"])
    assert log_in(client, "ada@example.com").status == 200


# --- emails per address ------------------------------------------------------------------


def sign_up(client: GatewayClient, email: str, password: str = PASSWORD):
    return client.request("POST", "/auth/signup", {"email": email, "password": password})


def test_a_fourth_sign_up_email_in_an_hour_is_202_without_an_email(client, service_clock):
    assert VERIFICATION_EMAILS_PER_ADDRESS.limit == 3
    for _ in range(3):
        assert sign_up(client, "ada@example.com").status == 202
    link = client.last_link("ada@example.com", "/verify-email")
    sent_before = len(client.outbox.all())

    fourth = sign_up(client, "ada@example.com", "a fourth sturdy passphrase")
    resend = client.request("POST", "/auth/resend-verification", {"email": "ada@example.com"})

    assert fourth.status == 202 and fourth.json() == {"status": "verification_sent"}
    assert resend.status == 202
    assert client.outbox.all()[sent_before:] == []
    # The refused requests did not replace the link already sent, nor its password.
    assert client.request("POST", "/auth/verify-email", {"token": link}).status == 200
    assert log_in(client, "ada@example.com").status == 200
    # An hour later, the address gets emails again.
    service_clock.advance(timedelta(hours=1))
    assert sign_up(client, "ada@example.com").status == 202
    assert len(client.outbox.all()) == sent_before + 1


def test_resend_and_account_exists_emails_share_the_limit(client):
    assert sign_up(client, "ada@example.com").status == 202
    for _ in range(2):
        assert client.request("POST", "/auth/resend-verification", {"email": "ada@example.com"}).status == 202
    assert len(client.outbox.all()) == 3
    assert client.request("POST", "/auth/resend-verification", {"email": "ada@example.com"}).status == 202
    assert len(client.outbox.all()) == 3

    client.sign_up_and_verify("bob@example.com")
    for _ in range(2):
        assert sign_up(client, "bob@example.com").status == 202  # "you already have an account"
    assert len([email for email in client.outbox.all() if email["to"] == "bob@example.com"]) == 3
    assert sign_up(client, "bob@example.com").status == 202
    assert len([email for email in client.outbox.all() if email["to"] == "bob@example.com"]) == 3
