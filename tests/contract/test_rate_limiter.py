"""RateLimiter: fixed-window budgets per limit and key (sign-up and reset emails,
invitations, 2FA codes, organizations created)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kuploy_access.domain.rate_limits import RateLimit
from tests.contract.account_side import NOW, AccountSide, account_side

THREE_A_QUARTER = RateLimit("contract-three", 3, timedelta(minutes=15))
TWO_AN_HOUR = RateLimit("contract-two", 2, timedelta(hours=1))
NEXT_WINDOW = NOW + timedelta(minutes=15)


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def spend(side: AccountSide, limit: RateLimit, key: str, times: int) -> list[bool]:
    return [side.limiter.consume(limit, key, NOW) for _ in range(times)]


def test_a_budget_is_taken_one_at_a_time_until_it_is_spent(side: AccountSide) -> None:
    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 0

    assert spend(side, THREE_A_QUARTER, "ada", 5) == [True, True, True, False, False]

    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 3  # a refusal takes nothing


def test_count_changes_nothing(side: AccountSide) -> None:
    spend(side, THREE_A_QUARTER, "ada", 2)

    for _ in range(3):
        assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 2
    assert spend(side, THREE_A_QUARTER, "ada", 2) == [True, False]


def test_every_moment_of_a_window_shares_its_budget(side: AccountSide) -> None:
    window_start = NOW.replace(minute=0, second=0)
    side.limiter.consume(THREE_A_QUARTER, "ada", window_start)
    side.limiter.consume(THREE_A_QUARTER, "ada", NOW)

    last_second = window_start + timedelta(minutes=15, seconds=-1)
    assert side.limiter.consume(THREE_A_QUARTER, "ada", last_second) is True
    assert side.limiter.consume(THREE_A_QUARTER, "ada", NOW) is False


def test_the_next_window_has_a_whole_budget(side: AccountSide) -> None:
    spend(side, THREE_A_QUARTER, "ada", 3)

    assert side.limiter.count(THREE_A_QUARTER, "ada", NEXT_WINDOW) == 0
    assert [side.limiter.consume(THREE_A_QUARTER, "ada", NEXT_WINDOW) for _ in range(4)] == [True, True, True, False]
    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 3


def test_keys_and_limits_have_budgets_of_their_own(side: AccountSide) -> None:
    spend(side, THREE_A_QUARTER, "ada", 3)

    assert side.limiter.consume(THREE_A_QUARTER, "bob", NOW) is True
    assert spend(side, TWO_AN_HOUR, "ada", 3) == [True, True, False]
    assert side.limiter.count(THREE_A_QUARTER, "bob", NOW) == 1
    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 3


def test_release_gives_one_back(side: AccountSide) -> None:
    spend(side, THREE_A_QUARTER, "ada", 3)

    side.limiter.release(THREE_A_QUARTER, "ada", NOW)

    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 2
    assert spend(side, THREE_A_QUARTER, "ada", 2) == [True, False]


def test_release_never_goes_below_nothing(side: AccountSide) -> None:
    side.limiter.consume(THREE_A_QUARTER, "ada", NOW)

    for _ in range(3):
        side.limiter.release(THREE_A_QUARTER, "ada", NOW)
    side.limiter.release(THREE_A_QUARTER, "bob", NOW)  # never taken

    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 0
    assert side.limiter.count(THREE_A_QUARTER, "bob", NOW) == 0
    assert spend(side, THREE_A_QUARTER, "ada", 4) == [True, True, True, False]


def test_release_gives_back_to_its_own_window_only(side: AccountSide) -> None:
    spend(side, THREE_A_QUARTER, "ada", 3)
    side.limiter.consume(THREE_A_QUARTER, "ada", NEXT_WINDOW)

    side.limiter.release(THREE_A_QUARTER, "ada", NEXT_WINDOW)

    assert side.limiter.count(THREE_A_QUARTER, "ada", NEXT_WINDOW) == 0
    assert side.limiter.count(THREE_A_QUARTER, "ada", NOW) == 3
