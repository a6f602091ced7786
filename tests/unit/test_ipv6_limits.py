"""Per-address limits count an IPv6 client by its /64 (domain.client_address.limit_key):
whoever holds a /64 holds every address in it, so a budget per full address would be a
new budget per guess. What is recorded (sessions, the audit trail) keeps the full address."""

from __future__ import annotations

import pytest

from kuploy_access.domain.errors import InvalidCredentials, WrongPassword
from kuploy_access.domain.login_throttle import LOGIN_FAILURES_PER_ACCOUNT_AND_IP, LOGIN_FAILURES_PER_IP
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.services.sessions import ClientInfo
from tests.unit.support import reset_secret
from tests.unit.two_factor_fakes import SudoWorld

PASSWORD = "Analytical-Engine-1843"
NEW_PASSWORD = "Difference-Engine-1822"
PAIR_LIMIT = LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit


def in_one_64(interface: int) -> ClientInfo:
    """An address of the attacker's /64: any interface identifier they like."""
    return ClientInfo(f"2001:db8:4:2::{interface:x}", "bot")


NEXT_64 = ClientInfo("2001:db8:4:3::1", "the owner's laptop")


@pytest.fixture
def world() -> SudoWorld:
    return SudoWorld()


def fail(world: SudoWorld, client: ClientInfo, email: str = "ada@example.com") -> None:
    with pytest.raises(InvalidCredentials):
        world.login().log_in(email, "not-the-password", client)


def test_addresses_of_one_64_share_the_pair_budget_and_the_next_64_does_not(world):
    world.add_user()
    for interface in range(1, PAIR_LIMIT + 1):
        fail(world, in_one_64(interface))

    with pytest.raises(RateLimited):
        world.login().log_in("ada@example.com", PASSWORD, in_one_64(0xFFFF))

    world.login().log_in("ada@example.com", PASSWORD, NEXT_64)
    assert world.throttle.checks_taken == PAIR_LIMIT + 1


def test_password_spraying_from_one_64_spends_one_address_budget(world):
    world.add_user()
    for index in range(LOGIN_FAILURES_PER_IP.limit):
        fail(world, in_one_64(index + 1), email=f"user{index}@example.com")

    with pytest.raises(RateLimited):
        world.login().log_in("ada@example.com", PASSWORD, in_one_64(0xBEEF))
    world.login().log_in("ada@example.com", PASSWORD, NEXT_64)


def test_an_ipv4_mapped_address_is_the_ipv4_client(world):
    world.add_user()
    for _ in range(PAIR_LIMIT):
        fail(world, ClientInfo("198.51.100.23", "bot"))

    with pytest.raises(RateLimited):
        world.login().log_in("ada@example.com", PASSWORD, ClientInfo("::ffff:198.51.100.23", "bot"))


def test_ipv4_neighbours_keep_their_own_budgets(world):
    world.add_user()
    for _ in range(PAIR_LIMIT):
        fail(world, ClientInfo("198.51.100.23", "bot"))

    world.login().log_in("ada@example.com", PASSWORD, ClientInfo("198.51.100.24", "laptop"))


def test_sessions_and_the_trail_record_the_full_address(world):
    world.add_user()
    fail(world, in_one_64(0xB0B))
    world.login().log_in("ada@example.com", PASSWORD, in_one_64(0xA11CE))

    (session,) = world.sessions.items.values()
    assert session.ip == "2001:db8:4:2::a11ce"
    assert {event.ip for event in world.trail.events} == {"2001:db8:4:2::b0b", "2001:db8:4:2::a11ce"}


def test_a_password_change_counts_under_the_64(world):
    user = world.add_user()
    for interface in range(1, PAIR_LIMIT + 1):
        with pytest.raises(WrongPassword):
            world.passwords().change(user.id, "ses_1", "not-the-password", NEW_PASSWORD, in_one_64(interface).ip)

    with pytest.raises(RateLimited):
        world.passwords().change(user.id, "ses_1", PASSWORD, NEW_PASSWORD, in_one_64(0xFFFF).ip)


def test_a_reset_from_another_address_of_the_64_ends_its_lockout(world):
    world.add_user()
    for interface in range(1, PAIR_LIMIT + 1):
        fail(world, in_one_64(interface))
    with pytest.raises(RateLimited):
        world.login().log_in("ada@example.com", PASSWORD, in_one_64(0xFFFF))
    world.passwords().forgot("ada@example.com")

    world.passwords().reset(reset_secret(world.mailer.sent[-1]), NEW_PASSWORD, in_one_64(0xFFFF).ip)

    world.login().log_in("ada@example.com", NEW_PASSWORD, in_one_64(1))


def test_the_password_of_2fa_settings_counts_under_the_64(world):
    user = world.add_user()
    secret, _ = world.turn_on_two_factor(user)
    service = world.two_factor()
    for interface in range(1, PAIR_LIMIT + 1):
        with pytest.raises(WrongPassword):
            service.disable(user.id, "not-the-password", world.next_code(secret), in_one_64(interface))

    with pytest.raises(RateLimited):
        service.disable(user.id, PASSWORD, world.next_code(secret), in_one_64(0xFFFF))
    service.disable(user.id, PASSWORD, world.next_code(secret), NEXT_64)
