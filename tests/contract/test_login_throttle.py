"""LoginThrottle: the budgets of domain/login_throttle.py, taken before a password is
checked (services/login.py, passwords.py, two_factor.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from kuploy_access.domain import login_throttle as domain
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    LOGIN_FAILURES_PER_IP,
    UNLOCK_EMAIL_INTERVAL,
    AttemptRefused,
    LoginAttempt,
    Refusal,
)
from kuploy_access.domain.one_time_tokens import TokenKind
from kuploy_access.services.ports.tokens import TokenNotUsable
from tests.contract.account_side import ADA, NOW, AccountSide, a_token, account_side, an_event, verified

IP = "198.51.100.20"
OTHER_IP = "203.0.113.9"
PAIR_BUDGET = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
IP_BUDGET = LOGIN_FAILURES_PER_IP.limit
NEXT_WINDOW = NOW + LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window
CEILING = 3  # see `low_ceiling`


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


@pytest.fixture
def low_ceiling(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The account's ceiling at 3 failures, not 100, in the domain, the adapter and the
    fake alike: a lock costs three attempts (one test below takes the real ceiling)."""
    from kuploy_access.adapters.dynamodb import login_throttle as adapter
    from tests.unit import fakes

    for module in (domain, adapter, fakes):
        assert module.CONSECUTIVE_FAILURES_BEFORE_LOCK == CONSECUTIVE_FAILURES_BEFORE_LOCK
        monkeypatch.setattr(module, "CONSECUTIVE_FAILURES_BEFORE_LOCK", CEILING)
    yield


def fail(side: AccountSide, times: int, address: str = ADA, ip: str = IP) -> list[LoginAttempt]:
    """Attempts whose password was wrong: taken and never settled."""
    return [side.throttle.take(address, ip, NOW) for _ in range(times)]


def refusal(side: AccountSide, address: str = ADA, ip: str = IP) -> AttemptRefused:
    with pytest.raises(AttemptRefused) as refused:
        side.throttle.take(address, ip, NOW)
    return refused.value


def lock(side: AccountSide, ip: str, address: str = ADA) -> None:
    """Fail from `ip` until the account is at its ceiling (the last attempt is refused)."""
    for _ in range(CEILING + 1):
        try:
            side.throttle.take(address, ip, NOW)
        except AttemptRefused as refused:
            assert refused.refusal is Refusal.ACCOUNT_LOCKED
            return
    raise AssertionError("the account did not lock")


# --- taking attempts --------------------------------------------------------------------


def test_an_attempt_names_the_account_and_its_failures_so_far(side: AccountSide) -> None:
    user = verified(side)

    attempts = fail(side, 3)

    assert attempts == [LoginAttempt(ADA, IP, NOW, user.id, n) for n in range(3)]
    assert side.throttle.take("nobody@example.com", IP, NOW) == LoginAttempt("nobody@example.com", IP, NOW, None, 0)


def test_a_pair_gets_five_attempts_a_window(side: AccountSide) -> None:
    user = verified(side)
    fail(side, PAIR_BUDGET)

    refused = refusal(side)

    assert (refused.refusal, refused.user_id) == (Refusal.PAIR, user.id)
    # Only the pair: the account from elsewhere and others from here still may try.
    assert side.throttle.take(ADA, OTHER_IP, NOW).consecutive_failures == PAIR_BUDGET  # the refusal took nothing
    assert side.throttle.take("bob@example.com", IP, NOW).consecutive_failures == 0
    assert side.throttle.take(ADA, IP, NEXT_WINDOW).consecutive_failures == PAIR_BUDGET + 1


def test_an_address_gets_fifty_attempts_a_window_and_a_success_gives_its_one_back(side: AccountSide) -> None:
    accounts = [f"user{n}@example.com" for n in range(IP_BUDGET // PAIR_BUDGET)]
    attempts = [attempt for address in accounts for attempt in fail(side, PAIR_BUDGET, address)]

    assert refusal(side, "one-more@example.com").refusal is Refusal.ADDRESS
    assert refusal(side, accounts[0]).refusal is Refusal.PAIR  # the pair is named first
    assert side.throttle.take("one-more@example.com", IP, NEXT_WINDOW).consecutive_failures == 0  # none taken

    side.throttle.succeeded(attempts[-1])

    side.throttle.take("one-more@example.com", IP, NOW)
    assert refusal(side, "one-more-again@example.com").refusal is Refusal.ADDRESS


def test_a_success_clears_the_pair_and_the_accounts_count(side: AccountSide) -> None:
    verified(side)
    attempts = fail(side, PAIR_BUDGET)

    side.throttle.succeeded(attempts[-1])

    assert [attempt.consecutive_failures for attempt in fail(side, PAIR_BUDGET)] == list(range(PAIR_BUDGET))
    assert refusal(side).refusal is Refusal.PAIR


def test_a_success_records_its_event_with_it(side: AccountSide) -> None:
    user = verified(side)
    event = an_event(user.id, "login.succeeded")

    side.throttle.succeeded(side.throttle.take(ADA, IP, NOW), event)
    side.throttle.succeeded(side.throttle.take(ADA, IP, NOW))

    assert side.audit.page(user.id, 10, None).items == [event]


# --- the account's ceiling ---------------------------------------------------------------


def test_the_hundredth_consecutive_failure_locks_the_account(side: AccountSide) -> None:
    user = verified(side)
    ips = [f"192.0.2.{n}" for n in range(CONSECUTIVE_FAILURES_BEFORE_LOCK // PAIR_BUDGET)]
    for ip in ips:
        fail(side, PAIR_BUDGET, ip=ip)

    refused = refusal(side, ip=OTHER_IP)

    assert (refused.refusal, refused.user_id) == (Refusal.ACCOUNT_LOCKED, user.id)
    assert side.throttle.notice_lock(ADA, NOW) is True


@pytest.mark.usefixtures("low_ceiling")
def test_a_locked_account_takes_no_attempt_but_spends_the_budgets(side: AccountSide) -> None:
    user = verified(side)
    fail(side, CEILING)

    for _ in range(PAIR_BUDGET - CEILING):
        refused = refusal(side)
        assert (refused.refusal, refused.user_id) == (Refusal.ACCOUNT_LOCKED, user.id)

    assert refusal(side).refusal is Refusal.PAIR
    assert refusal(side, ip=OTHER_IP).refusal is Refusal.ACCOUNT_LOCKED


@pytest.mark.usefixtures("low_ceiling")
def test_an_address_without_an_account_locks_as_well(side: AccountSide) -> None:
    fail(side, CEILING, "nobody@example.com")

    refused = refusal(side, "nobody@example.com", OTHER_IP)

    assert (refused.refusal, refused.user_id) == (Refusal.ACCOUNT_LOCKED, None)
    assert side.throttle.notice_lock("nobody@example.com", NOW) is True


@pytest.mark.usefixtures("low_ceiling")
def test_the_lock_is_noticed_once_and_again_a_day_later(side: AccountSide) -> None:
    verified(side)
    fail(side, CEILING - 1)
    assert side.throttle.notice_lock(ADA, NOW) is False  # not locked yet

    lock(side, IP)

    assert side.throttle.notice_lock(ADA, NOW) is True
    assert side.throttle.notice_lock(ADA, NOW) is False
    assert side.throttle.notice_lock(ADA, NOW + UNLOCK_EMAIL_INTERVAL) is False
    later = NOW + UNLOCK_EMAIL_INTERVAL + timedelta(seconds=1)
    assert side.throttle.notice_lock(ADA, later) is True
    assert side.throttle.notice_lock(ADA, later) is False


@pytest.mark.usefixtures("low_ceiling")
def test_a_success_ends_a_lock_and_its_notice(side: AccountSide) -> None:
    verified(side)
    before_the_lock = side.throttle.take(ADA, OTHER_IP, NOW)  # settled after the others failed
    lock(side, IP)
    assert side.throttle.notice_lock(ADA, NOW)

    side.throttle.succeeded(before_the_lock)

    assert side.throttle.take(ADA, "192.0.2.1", NOW).consecutive_failures == 0
    lock(side, "192.0.2.2")
    assert side.throttle.notice_lock(ADA, NOW) is True  # a new lock: noticed at once


# --- unlock and clear_lock ------------------------------------------------------------------


@pytest.mark.usefixtures("low_ceiling")
def test_the_unlock_link_ends_the_lock_once(side: AccountSide) -> None:
    user = verified(side)
    lock(side, IP)
    assert side.throttle.notice_lock(ADA, NOW)
    link = a_token(user.id, "unlock", TokenKind.ACCOUNT_UNLOCK)
    side.tokens.put(link)
    event = an_event(user.id, "account.unlocked")

    side.throttle.unlock(link, ADA, event)

    assert side.tokens.get(TokenKind.ACCOUNT_UNLOCK, link.token_hash) is None
    assert side.throttle.take(ADA, OTHER_IP, NOW).consecutive_failures == 0
    with pytest.raises(TokenNotUsable):
        side.throttle.unlock(link, ADA, an_event(user.id, "account.unlocked"))
    assert side.audit.page(user.id, 10, None).items == [event]
    lock(side, "192.0.2.1")
    assert side.throttle.notice_lock(ADA, NOW) is True  # a new lock: noticed at once


@pytest.mark.usefixtures("low_ceiling")
def test_an_unlock_link_nobody_stored_changes_nothing(side: AccountSide) -> None:
    user = verified(side)
    lock(side, IP)

    with pytest.raises(TokenNotUsable):
        side.throttle.unlock(a_token(user.id, "forged", TokenKind.ACCOUNT_UNLOCK), ADA, an_event(user.id))

    assert refusal(side, ip=OTHER_IP).refusal is Refusal.ACCOUNT_LOCKED
    assert side.audit.page(user.id, 10, None).items == []


@pytest.mark.usefixtures("low_ceiling")
def test_clear_lock_ends_the_lock_and_the_pair_of_the_reset(side: AccountSide) -> None:
    verified(side)
    fail(side, CEILING, ip=OTHER_IP)
    for _ in range(PAIR_BUDGET - CEILING):  # locked attempts spend the pair all the same
        assert refusal(side, ip=OTHER_IP).refusal is Refusal.ACCOUNT_LOCKED
    assert side.throttle.notice_lock(ADA, NOW)
    assert refusal(side, ip=OTHER_IP).refusal is Refusal.PAIR

    side.throttle.clear_lock(ADA, IP, NOW)

    assert side.throttle.take(ADA, IP, NOW).consecutive_failures == 0
    assert refusal(side, ip=OTHER_IP).refusal is Refusal.PAIR  # another address's pair stays spent
    side.throttle.clear_lock(ADA, OTHER_IP, NOW)
    assert [attempt.consecutive_failures for attempt in fail(side, CEILING, ip=OTHER_IP)] == [0, 1, 2]
    assert refusal(side, ip=OTHER_IP).refusal is Refusal.ACCOUNT_LOCKED
    assert side.throttle.notice_lock(ADA, NOW) is True  # a new lock: noticed at once
