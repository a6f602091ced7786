"""Turning 2FA on or off and new recovery codes end every other session of the account
(a session signed in before the change may be someone else's); the caller's stays."""

from __future__ import annotations

import pytest

from kuploy_access.domain.access_tokens import JwtKind
from kuploy_access.domain.errors import WrongCode, WrongPassword
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.domain.two_factor import code_for_step, step_at
from kuploy_access.services.sessions import ClientInfo
from tests.unit.two_factor_fakes import SudoWorld

PASSWORD = "Analytical-Engine-1843"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")


@pytest.fixture
def world() -> SudoWorld:
    return SudoWorld()


def three_sessions(world: SudoWorld, user_id: str = "usr_01ada") -> list[str]:
    service = world.session_service()
    before = set(world.sessions.items)
    for _ in range(3):
        service.start(user_id, CLIENT)
    return sorted(set(world.sessions.items) - before)


def live(world: SudoWorld, user_id: str = "usr_01ada") -> set[str]:
    return {s.id for s in world.session_service().live_sessions(user_id, 50, None).items}


def test_enabling_2fa_ends_every_other_session(world):
    user = world.add_user()
    other = world.add_user(email="grace@example.com", user_id="usr_01grace")
    mine, *others = three_sessions(world)
    theirs = three_sessions(world, other.id)
    service = world.two_factor()
    secret = service.setup(user.id).secret
    code = code_for_step(secret, step_at(world.clock.now()))

    service.enable(user.id, code, CLIENT, keep_session=mine)

    assert live(world) == {mine}
    assert all(world.sessions.items[s].revoked_at == world.clock.now() for s in others)
    assert live(world, other.id) == set(theirs)  # nobody else's


def test_disabling_2fa_ends_every_other_session(world):
    user = world.add_user()
    secret, _ = world.turn_on_two_factor(user)
    mine, *_ = three_sessions(world)

    world.two_factor().disable(user.id, PASSWORD, world.next_code(secret), CLIENT, keep_session=mine)

    assert live(world) == {mine}
    assert not world.users.by_id[user.id].two_factor_enabled


def test_new_recovery_codes_end_every_other_session(world):
    user = world.add_user()
    secret, old_codes = world.turn_on_two_factor(user)
    mine, *_ = three_sessions(world)

    codes = world.two_factor().new_recovery_codes(user.id, world.next_code(secret), CLIENT, keep_session=mine)

    assert live(world) == {mine}
    assert set(codes).isdisjoint(old_codes)


def test_a_refused_change_ends_no_session(world):
    user = world.add_user()
    secret, _ = world.turn_on_two_factor(user)
    sessions = three_sessions(world)
    world.next_code(secret)
    with pytest.raises(WrongCode):
        world.two_factor().new_recovery_codes(user.id, "000000", CLIENT, keep_session=sessions[0])
    with pytest.raises(WrongCode):
        world.two_factor().disable(user.id, PASSWORD, "000000", CLIENT, keep_session=sessions[0])
    assert live(world) == set(sessions)


def test_the_caller_session_stays_usable(world):
    user = world.add_user()
    service = world.session_service()
    pair = service.start(user.id, CLIENT)
    mine = next(iter(world.sessions.items))
    three_sessions(world)
    secret = world.two_factor().setup(user.id).secret
    world.two_factor().enable(user.id, code_for_step(secret, step_at(world.clock.now())), CLIENT, keep_session=mine)
    refreshed = service.refresh(pair.refresh_token, CLIENT)  # the caller's session still refreshes
    assert world.codec.verify(JwtKind.ACCESS, refreshed.access_token, world.clock.now()).session_id == mine
    assert live(world) == {mine}


def test_the_password_of_2fa_disable_is_under_the_login_budgets(world):
    """A stolen token inside its sudo window is no unthrottled password oracle: wrong
    passwords here count with the login's, and the sixth from one address is 429."""
    user = world.add_user()
    secret, _ = world.turn_on_two_factor(user)
    service = world.two_factor()
    for guess in range(5):
        with pytest.raises(WrongPassword):
            service.disable(user.id, f"guess {guess}", world.next_code(secret), CLIENT)
    with pytest.raises(RateLimited):
        service.disable(user.id, PASSWORD, world.next_code(secret), CLIENT)
    assert world.throttle.consecutive["ada@example.com"] == 5
    # From another address the right password still works, and clears the count.
    service.disable(user.id, PASSWORD, world.next_code(secret), ClientInfo("198.51.100.4", "laptop"))
    assert "ada@example.com" not in world.throttle.consecutive
