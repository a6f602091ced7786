"""Sudo mode: the age rule of `auth_time`, and the guard's service (a live session, read
once, and a recent factor)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.errors import ReauthenticationRequired, Unauthorized
from kuploy_access.domain.principal import USER, Principal
from kuploy_access.domain.sessions import SUDO_MODE_WINDOW, in_sudo_mode
from kuploy_access.services.sessions import ClientInfo
from tests.unit.two_factor_fakes import SudoWorld

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")


def seconds(moment: datetime) -> int:
    return int(moment.timestamp())


# --- the rule ------------------------------------------------------------------------------------


def test_the_window_is_ten_minutes():
    assert timedelta(minutes=10) == SUDO_MODE_WINDOW


@pytest.mark.parametrize(
    ("age", "fresh"),
    [
        (timedelta(0), True),
        (timedelta(minutes=9, seconds=59), True),
        (timedelta(minutes=10), True),
        (timedelta(minutes=10, seconds=1), False),
        (timedelta(hours=3), False),
    ],
)
def test_a_factor_counts_for_ten_minutes(age, fresh):
    assert in_sudo_mode(seconds(NOW - age), NOW) is fresh


def test_tokens_without_auth_time_are_never_in_sudo_mode():
    assert in_sudo_mode(0, NOW) is False
    assert in_sudo_mode(-5, NOW) is False


def test_the_window_is_configurable():
    two_minutes = timedelta(minutes=2)
    assert in_sudo_mode(seconds(NOW - timedelta(minutes=1)), NOW, two_minutes)
    assert not in_sudo_mode(seconds(NOW - timedelta(minutes=3)), NOW, two_minutes)
    assert in_sudo_mode(seconds(NOW - timedelta(minutes=25)), NOW, timedelta(minutes=30))


# --- the principal carries it ----------------------------------------------------------------


def test_auth_time_round_trips_through_the_authorizer_context():
    principal = Principal(type=USER, id="usr_01", session_id="ses_01", auth_time=1_764_331_200)
    context = principal.to_context()
    assert context["auth_time"] == "1764331200"
    assert Principal.from_context(context) == principal


@pytest.mark.parametrize("value", [None, "", "soon", "-3", "1.5"])
def test_a_context_without_a_usable_auth_time_means_stale(value):
    context = Principal(type=USER, id="usr_01", session_id="ses_01").to_context()
    context["auth_time"] = value  # type: ignore[assignment]
    assert Principal.from_context(context).auth_time == 0


def test_a_context_from_before_auth_time_means_stale():
    context = Principal(type=USER, id="usr_01", session_id="ses_01").to_context()
    del context["auth_time"]
    assert Principal.from_context(context).auth_time == 0


# --- the guard's service ------------------------------------------------------------------------


@pytest.fixture
def world() -> SudoWorld:
    return SudoWorld()


def caller_of(world: SudoWorld, auth_time: datetime | None = None, user_id: str = "usr_01ada") -> Principal:
    """A signed-in caller whose session is live, and whose token says `auth_time`."""
    world.session_service().start(user_id, CLIENT)
    session = next(s for s in world.sessions.items.values() if s.user_id == user_id and s.revoked_at is None)
    proven = seconds(auth_time) if auth_time is not None else 0
    return Principal(type=USER, id=user_id, session_id=session.id, auth_time=proven)


def test_a_recent_factor_and_a_live_session_pass_with_one_read(world):
    caller = caller_of(world, world.clock.now() - timedelta(minutes=9))
    world.sudo().require(caller)
    assert world.lookup.reads == 1


def test_an_old_factor_asks_for_reauthentication(world):
    caller = caller_of(world, world.clock.now() - timedelta(minutes=11))
    with pytest.raises(ReauthenticationRequired) as refused:
        world.sudo().require(caller)
    assert refused.value.status == 403
    assert refused.value.code == "reauthentication_required"
    assert "/auth/reauthenticate" in refused.value.detail
    assert world.lookup.reads == 1


def test_a_token_without_auth_time_asks_for_reauthentication(world):
    caller = caller_of(world, None)
    with pytest.raises(ReauthenticationRequired):
        world.sudo().require(caller)


def test_the_clock_moving_past_the_window_ends_sudo_mode(world):
    caller = caller_of(world, world.clock.now())
    world.sudo().require(caller)
    world.clock.advance(timedelta(minutes=10, seconds=1))
    with pytest.raises(ReauthenticationRequired):
        world.sudo().require(caller)


def test_a_configured_window_is_used(world):
    world.sudo_window = timedelta(minutes=2)
    caller = caller_of(world, world.clock.now() - timedelta(minutes=3))
    with pytest.raises(ReauthenticationRequired) as refused:
        world.sudo().require(caller)
    assert "2 minutes" in refused.value.detail


def test_a_revoked_session_is_401_even_with_a_fresh_factor(world):
    caller = caller_of(world, world.clock.now())
    world.session_service().revoke(caller.id, caller.session_id)
    with pytest.raises(Unauthorized) as refused:
        world.sudo().require(caller)
    assert (refused.value.status, refused.value.code) == (401, "invalid_token")
    assert world.lookup.reads == 1


def test_a_revoked_session_is_401_rather_than_reauthenticate(world):
    # Re-authenticating could not bring a signed-out session back: say so.
    caller = caller_of(world, world.clock.now() - timedelta(hours=1))
    world.session_service().revoke(caller.id, caller.session_id)
    with pytest.raises(Unauthorized):
        world.sudo().require(caller)


def test_an_expired_session_is_401(world):
    caller = caller_of(world, world.clock.now())
    world.clock.advance(timedelta(days=8))  # past the idle lifetime
    with pytest.raises(Unauthorized):
        world.sudo().require(
            Principal(type=USER, id=caller.id, session_id=caller.session_id, auth_time=seconds(world.clock.now()))
        )


def test_a_session_of_another_account_or_none_is_401(world):
    caller = caller_of(world, world.clock.now())
    for principal in (
        Principal(type=USER, id="usr_01other", session_id=caller.session_id, auth_time=caller.auth_time),
        Principal(type=USER, id=caller.id, session_id="", auth_time=caller.auth_time),
        Principal(type=USER, id=caller.id, session_id="ses_unknown", auth_time=caller.auth_time),
    ):
        with pytest.raises(Unauthorized):
            world.sudo().require(principal)
