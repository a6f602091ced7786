"""Fixed-window limits: window arithmetic, Retry-After, the error, and the fake limiter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.errors import DomainError
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP, LOGIN_FAILURES_PER_IP
from kuploy_access.domain.rate_limits import (
    RESET_EMAILS_PER_ADDRESS,
    VERIFICATION_EMAILS_PER_ADDRESS,
    RateLimit,
    RateLimited,
)
from tests.unit.fakes import FakeRateLimiter, FakeTokens, FakeUsers

QUARTER = RateLimit("test-quarter", 5, timedelta(minutes=15))
HOURLY = RateLimit("test-hourly", 3, timedelta(hours=1))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def epoch(text: str) -> int:
    return int(at(text).timestamp())


# --- the limits ----------------------------------------------------------------------


def test_the_configured_limits():
    assert (LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit, LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window) == (
        5,
        timedelta(minutes=15),
    )
    assert (LOGIN_FAILURES_PER_IP.limit, LOGIN_FAILURES_PER_IP.window) == (50, timedelta(minutes=15))
    assert (VERIFICATION_EMAILS_PER_ADDRESS.limit, VERIFICATION_EMAILS_PER_ADDRESS.window) == (3, timedelta(hours=1))
    assert (RESET_EMAILS_PER_ADDRESS.limit, RESET_EMAILS_PER_ADDRESS.window) == (3, timedelta(hours=1))


def test_every_limit_has_its_own_name():
    names = [
        limit.name
        for limit in (
            LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
            LOGIN_FAILURES_PER_IP,
            VERIFICATION_EMAILS_PER_ADDRESS,
            RESET_EMAILS_PER_ADDRESS,
        )
    ]
    assert len(set(names)) == len(names)


# --- window math ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "start"),
    [
        ("2025-03-01 09:30:00", "2025-03-01 09:30:00"),
        ("2025-03-01 09:37:12", "2025-03-01 09:30:00"),
        ("2025-03-01 09:44:59.999", "2025-03-01 09:30:00"),
        ("2025-03-01 09:45:00", "2025-03-01 09:45:00"),
        ("2025-03-01 23:59:59", "2025-03-01 23:45:00"),
    ],
)
def test_quarter_hour_windows_start_on_the_quarter(now, start):
    assert QUARTER.window_start(at(now)) == epoch(start)
    assert QUARTER.window_end(at(now)) == epoch(start) + 900


def test_hour_windows_start_on_the_hour():
    assert HOURLY.window_start(at("2025-03-01 09:59:59")) == epoch("2025-03-01 09:00:00")
    assert HOURLY.window_end(at("2025-03-01 09:59:59")) == epoch("2025-03-01 10:00:00")
    assert HOURLY.window_start(at("2025-03-01 10:00:00")) == epoch("2025-03-01 10:00:00")


def test_window_start_does_not_depend_on_the_time_zone():
    moment = at("2025-03-01 09:37:12")
    shifted = moment.astimezone(datetime.fromisoformat("2025-03-01T00:00:00+05:30").tzinfo)
    assert QUARTER.window_start(shifted) == QUARTER.window_start(moment)


@pytest.mark.parametrize(
    ("now", "retry_after"),
    [
        ("2025-03-01 09:30:00", 900),
        ("2025-03-01 09:37:12", 468),
        ("2025-03-01 09:44:59", 1),
        ("2025-03-01 09:44:59.999", 1),
    ],
)
def test_retry_after_is_the_seconds_left_in_the_window(now, retry_after):
    assert QUARTER.retry_after(at(now)) == retry_after


@pytest.mark.parametrize("limit", [QUARTER, HOURLY, LOGIN_FAILURES_PER_IP, RESET_EMAILS_PER_ADDRESS])
def test_retry_after_is_at_least_one_second_and_at_most_the_window(limit):
    window = int(limit.window.total_seconds())
    moment = at("2025-03-01 08:59:00")
    for step in range(0, 2 * window, 7):
        now = moment + timedelta(seconds=step, microseconds=(step * 7919) % 1_000_000)
        wait = limit.retry_after(now)
        assert 1 <= wait <= window
        # Waiting that long always reaches the next window.
        assert limit.window_start(now + timedelta(seconds=wait)) > limit.window_start(now)


# --- the error -----------------------------------------------------------------------


def test_rate_limited_is_429_rate_limited_with_retry_after():
    error = RateLimited(120)
    assert isinstance(error, DomainError)
    assert error.status == 429
    assert error.code == "rate_limited"
    assert error.retry_after == 120
    assert "120" in error.detail


def test_rate_limited_keeps_a_given_detail():
    error = RateLimited(5, "Slow down")
    assert (error.detail, error.retry_after) == ("Slow down", 5)


# --- the fake limiter (so the service tests stand on fixed-window semantics) ---------


@pytest.fixture
def limiter() -> FakeRateLimiter:
    return FakeRateLimiter(FakeUsers(FakeTokens()))


def test_consume_allows_the_limit_then_refuses_until_the_next_window(limiter):
    now = at("2025-03-01 09:00:00")
    assert [limiter.consume(HOURLY, "a", now) for _ in range(5)] == [True, True, True, False, False]
    assert limiter.consume(HOURLY, "a", at("2025-03-01 09:59:59")) is False
    assert limiter.consume(HOURLY, "a", at("2025-03-01 10:00:00")) is True


def test_consume_counts_per_key_and_per_limit(limiter):
    now = at("2025-03-01 09:00:00")
    for _ in range(3):
        assert limiter.consume(HOURLY, "a", now)
    assert limiter.consume(HOURLY, "b", now)
    assert limiter.consume(RateLimit("test-other", 3, timedelta(hours=1)), "a", now)
