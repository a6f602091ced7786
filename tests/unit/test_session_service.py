"""Sessions: refresh-token rotation with reuse detection, expiry, listing and revoking."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.domain.access_tokens import JwtKind
from kuploy_access.domain.errors import InvalidRefreshToken, NotFound, TokenReused, Unauthorized
from kuploy_access.domain.one_time_tokens import MAX_TOKEN_LENGTH, hash_secret
from kuploy_access.domain.sessions import SessionLifetimes
from kuploy_access.services.sessions import ClientInfo, SessionService
from tests.unit.support import World

USER = "usr_01ada"
OTHER_USER = "usr_01grace"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")
LAPTOP = ClientInfo(ip="198.51.100.20", user_agent="Firefox/140")


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def service(world: World) -> SessionService:
    return world.session_service()


def session_of(world: World, refresh_token: str):
    record = world.sessions.get_refresh(hash_secret(refresh_token))
    assert record is not None
    return world.sessions.items[record.session_id]


def claims(world: World, access_token: str):
    return world.codec.verify(JwtKind.ACCESS, access_token, world.clock.now())


# --- start ---------------------------------------------------------------------------


def test_start_creates_a_session_and_its_refresh_record(world, service):
    pair = service.start(USER, CLIENT)
    now = world.clock.now()
    assert len(world.sessions.items) == 1
    session = next(iter(world.sessions.items.values()))
    assert session.id.startswith("ses_")
    assert session.user_id == USER
    assert session.created_at == session.last_used_at == now
    assert session.expires_at == now + timedelta(days=30)
    assert session.idle_expires_at == now + timedelta(days=7)
    assert session.revoked_at is None
    assert (session.ip, session.user_agent) == (CLIENT.ip, CLIENT.user_agent)
    assert session.refresh_token_hash == hash_secret(pair.refresh_token)
    record = world.sessions.refresh[hash_secret(pair.refresh_token)]
    assert (record.session_id, record.user_id) == (session.id, USER)
    assert record.expires_at == now + timedelta(days=30)
    assert record.idle_expires_at == now + timedelta(days=7)
    assert record.rotated_at is None
    assert pair.refresh_token not in repr(world.sessions.items) + repr(world.sessions.refresh)


def test_access_token_carries_the_session_id(world, service):
    pair = service.start(USER, CLIENT)
    verified = claims(world, pair.access_token)
    assert verified.subject == USER
    assert verified.session_id == session_of(world, pair.refresh_token).id
    assert pair.expires_in == 900
    assert pair.token_type == "Bearer"


def test_the_signing_key_is_only_fetched_to_issue_tokens(world):
    def no_key():
        raise AssertionError("the signing key was fetched")

    service = SessionService(sessions=world.sessions, clock=world.clock, access_tokens=no_key, counter=world.counted)
    world.session_service().start(USER, CLIENT)
    session = next(iter(world.sessions.items.values()))
    assert service.is_live(USER, session.id)
    assert [s.id for s in service.live_sessions(USER, 50, None).items] == [session.id]
    service.log_out("unknown-token")
    assert service.revoke_all(USER) == 1
    with pytest.raises(NotFound):
        service.revoke(USER, session.id)


# --- refresh -------------------------------------------------------------------------


def test_refresh_answers_a_new_pair_and_rotates(world, service):
    first = service.start(USER, CLIENT)
    session_id = session_of(world, first.refresh_token).id
    created = world.clock.now()
    world.clock.advance(timedelta(hours=5))
    second = service.refresh(first.refresh_token, LAPTOP)
    now = world.clock.now()
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert claims(world, second.access_token).session_id == session_id
    assert claims(world, second.access_token).subject == USER
    old = world.sessions.refresh[hash_secret(first.refresh_token)]
    new = world.sessions.refresh[hash_secret(second.refresh_token)]
    assert old.rotated_at == now
    assert new.rotated_at is None
    assert new.session_id == session_id
    assert new.expires_at == created + timedelta(days=30)  # the absolute lifetime does not move
    assert new.idle_expires_at == now + timedelta(days=7)
    session = world.sessions.items[session_id]
    assert session.refresh_token_hash == hash_secret(second.refresh_token)
    assert session.created_at == created
    assert session.last_used_at == now
    assert session.idle_expires_at == now + timedelta(days=7)
    assert session.expires_at == created + timedelta(days=30)
    assert (session.ip, session.user_agent) == (LAPTOP.ip, LAPTOP.user_agent)
    assert len(world.sessions.items) == 1


def test_the_new_token_refreshes_again(world, service):
    pair = service.start(USER, CLIENT)
    for _ in range(3):
        pair = service.refresh(pair.refresh_token, CLIENT)
    assert service.is_live(USER, session_of(world, pair.refresh_token).id)


def test_refresh_cuts_the_user_agent(world, service):
    pair = service.start(USER, CLIENT)
    second = service.refresh(pair.refresh_token, ClientInfo("192.0.2.1", "y" * 5_000))
    assert session_of(world, second.refresh_token).user_agent == "y" * 512


def test_the_presented_token_stops_working(world, service):
    first = service.start(USER, CLIENT)
    service.refresh(first.refresh_token, CLIENT)
    with pytest.raises((TokenReused, InvalidRefreshToken)):
        service.refresh(first.refresh_token, CLIENT)


def test_reusing_a_rotated_token_revokes_the_whole_session(world, service):
    first = service.start(USER, CLIENT)
    session_id = session_of(world, first.refresh_token).id
    second = service.refresh(first.refresh_token, CLIENT)
    third = service.refresh(second.refresh_token, CLIENT)
    world.clock.advance(timedelta(minutes=1))
    with pytest.raises(TokenReused) as caught:
        service.refresh(first.refresh_token, CLIENT)
    assert (caught.value.status, caught.value.code) == (401, "token_reused")
    assert world.sessions.items[session_id].revoked_at == world.clock.now()
    assert not service.is_live(USER, session_id)
    # The newest token, descended from the same login, is dead too.
    with pytest.raises(InvalidRefreshToken) as newest:
        service.refresh(third.refresh_token, CLIENT)
    assert (newest.value.status, newest.value.code) == (401, "invalid_token")


def test_a_reuse_is_on_the_account_trail(world, service):
    first = service.start(USER, CLIENT)
    session_id = session_of(world, first.refresh_token).id
    service.refresh(first.refresh_token, CLIENT)
    with pytest.raises(TokenReused):
        service.refresh(first.refresh_token, CLIENT)
    assert world.trail.actions(USER) == ["session.token_reused"]
    assert world.trail.events[0].details == {"session_id": session_id}
    assert world.trail.events[0].ip == CLIENT.ip


def test_each_reuse_counts_once_and_a_rotation_not_at_all(world, service):
    first = service.start(USER, CLIENT)
    second = service.refresh(first.refresh_token, CLIENT)
    assert world.counted.events == []
    with pytest.raises(TokenReused):
        service.refresh(first.refresh_token, CLIENT)
    assert world.counted.events == [("RefreshTokenReuse", {})]
    # The family is over: its newest token is refused as signed out, not as another reuse.
    with pytest.raises(InvalidRefreshToken):
        service.refresh(second.refresh_token, CLIENT)
    assert world.counted.events == [("RefreshTokenReuse", {})]


def test_reuse_leaves_the_users_other_sessions_alone(world, service):
    phone = service.start(USER, CLIENT)
    laptop = service.start(USER, LAPTOP)
    service.refresh(phone.refresh_token, CLIENT)
    with pytest.raises(TokenReused):
        service.refresh(phone.refresh_token, CLIENT)
    service.refresh(laptop.refresh_token, LAPTOP)
    assert service.is_live(USER, claims(world, laptop.access_token).session_id)


def test_losing_the_race_for_a_token_is_a_reuse(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    winner = {}

    def competitor() -> None:
        # Runs after this request read the token and before it rotates it.
        winner["pair"] = service.refresh(pair.refresh_token, LAPTOP)

    world.sessions.before_rotate = competitor
    with pytest.raises(TokenReused):
        service.refresh(pair.refresh_token, CLIENT)
    assert "pair" in winner
    assert world.counted.events == [("RefreshTokenReuse", {})]
    assert world.sessions.items[session_id].revoked_at is not None
    with pytest.raises(InvalidRefreshToken):
        service.refresh(winner["pair"].refresh_token, LAPTOP)


def test_concurrent_refreshes_of_one_token_exactly_one_wins(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    barrier = threading.Barrier(8)
    won: list[str] = []
    reused: list[BaseException] = []
    other: list[BaseException] = []

    def refresh() -> None:
        barrier.wait()
        try:
            won.append(service.refresh(pair.refresh_token, CLIENT).refresh_token)
        except TokenReused as error:
            reused.append(error)
        except BaseException as error:  # collected and asserted below
            other.append(error)

    threads = [threading.Thread(target=refresh) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert other == []
    assert len(won) == 1
    assert len(reused) == 7
    assert world.sessions.items[session_id].revoked_at is not None


def test_a_token_of_a_revoked_session_is_invalid(world, service):
    pair = service.start(USER, CLIENT)
    service.revoke(USER, session_of(world, pair.refresh_token).id)
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)


@pytest.mark.parametrize("presented", ["", "unknown-token", "x" * (MAX_TOKEN_LENGTH + 1)])
def test_unknown_empty_or_oversized_token_is_invalid(world, service, presented):
    service.start(USER, CLIENT)
    with pytest.raises(InvalidRefreshToken) as caught:
        service.refresh(presented, CLIENT)
    assert (caught.value.status, caught.value.code) == (401, "invalid_token")


def test_the_stored_hash_is_not_a_refresh_token(world, service):
    pair = service.start(USER, CLIENT)
    with pytest.raises(InvalidRefreshToken):
        service.refresh(hash_secret(pair.refresh_token), CLIENT)
    service.refresh(pair.refresh_token, CLIENT)  # and the real one was not harmed


# --- expiry --------------------------------------------------------------------------


def test_idle_for_7_days_the_session_expires(world, service):
    pair = service.start(USER, CLIENT)
    world.clock.advance(timedelta(days=7))
    with pytest.raises(InvalidRefreshToken) as caught:
        service.refresh(pair.refresh_token, CLIENT)
    assert caught.value.code == "invalid_token"
    assert service.live_sessions(USER, 50, None).items == []


def test_a_refresh_just_before_7_idle_days_works(world, service):
    pair = service.start(USER, CLIENT)
    world.clock.advance(timedelta(days=7) - timedelta(seconds=1))
    service.refresh(pair.refresh_token, CLIENT)


def test_each_refresh_moves_the_idle_deadline(world, service):
    pair = service.start(USER, CLIENT)
    for _ in range(3):
        world.clock.advance(timedelta(days=6))
        pair = service.refresh(pair.refresh_token, CLIENT)
    assert service.live_sessions(USER, 50, None).items != []


def test_absolute_expiry_at_30_days_even_when_refreshed_daily(world, service):
    pair = service.start(USER, CLIENT)
    for _ in range(29):
        world.clock.advance(timedelta(days=1))
        pair = service.refresh(pair.refresh_token, CLIENT)
    world.clock.advance(timedelta(days=1))
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)
    assert service.live_sessions(USER, 50, None).items == []


def test_the_idle_deadline_never_passes_the_absolute_one(world, service):
    pair = service.start(USER, CLIENT)
    absolute = world.clock.now() + timedelta(days=30)
    for _ in range(4):  # day 24: seven more idle days would pass day 30
        world.clock.advance(timedelta(days=6))
        pair = service.refresh(pair.refresh_token, CLIENT)
    record = world.sessions.refresh[hash_secret(pair.refresh_token)]
    assert record.idle_expires_at == absolute
    assert session_of(world, pair.refresh_token).idle_expires_at == absolute
    world.clock.current = absolute - timedelta(seconds=1)
    pair = service.refresh(pair.refresh_token, CLIENT)
    world.clock.current = absolute
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)


def test_lifetimes_are_configuration(world):
    world.lifetimes = SessionLifetimes(absolute=timedelta(hours=2), idle=timedelta(minutes=30))
    service = world.session_service()
    start = world.clock.now()
    pair = service.start(USER, CLIENT)
    session = session_of(world, pair.refresh_token)
    assert session.expires_at == start + timedelta(hours=2)
    assert session.idle_expires_at == start + timedelta(minutes=30)
    world.clock.advance(timedelta(minutes=29))
    pair = service.refresh(pair.refresh_token, CLIENT)
    world.clock.advance(timedelta(minutes=30))
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)


def test_an_idle_lifetime_longer_than_the_absolute_one_is_capped_at_start(world):
    world.lifetimes = SessionLifetimes(absolute=timedelta(hours=1), idle=timedelta(days=7))
    pair = world.session_service().start(USER, CLIENT)
    session = session_of(world, pair.refresh_token)
    assert session.idle_expires_at == session.expires_at == world.clock.now() + timedelta(hours=1)


# --- log out -------------------------------------------------------------------------


def test_log_out_revokes_the_session(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    service.log_out(pair.refresh_token)
    assert world.sessions.items[session_id].revoked_at == world.clock.now()
    assert not service.is_live(USER, session_id)
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)


def test_log_out_leaves_other_sessions_alone(world, service):
    phone = service.start(USER, CLIENT)
    laptop = service.start(USER, LAPTOP)
    service.log_out(phone.refresh_token)
    listed = service.live_sessions(USER, 50, None).items
    assert [s.id for s in listed] == [claims(world, laptop.access_token).session_id]


@pytest.mark.parametrize("presented", ["", "unknown-token", "x" * (MAX_TOKEN_LENGTH + 1)])
def test_log_out_is_silent_for_unknown_tokens(world, service, presented):
    pair = service.start(USER, CLIENT)
    service.log_out(presented)
    assert service.is_live(USER, session_of(world, pair.refresh_token).id)


def test_log_out_twice_is_silent(world, service):
    pair = service.start(USER, CLIENT)
    service.log_out(pair.refresh_token)
    service.log_out(pair.refresh_token)


# --- listing -------------------------------------------------------------------------


def test_live_sessions_are_the_users_live_ones_most_recently_used_first(world, service):
    oldest = service.start(USER, CLIENT)
    world.clock.advance(timedelta(hours=1))
    middle = service.start(USER, LAPTOP)
    world.clock.advance(timedelta(hours=1))
    revoked = service.start(USER, CLIENT)
    world.clock.advance(timedelta(hours=1))
    service.start(OTHER_USER, CLIENT)
    service.refresh(oldest.refresh_token, CLIENT)  # now the most recently used
    service.log_out(revoked.refresh_token)
    listed = service.live_sessions(USER, 50, None).items
    assert [s.id for s in listed] == [
        session_of(world, oldest.refresh_token).id,
        session_of(world, middle.refresh_token).id,
    ]
    assert [s.last_used_at for s in listed] == sorted((s.last_used_at for s in listed), reverse=True)
    assert all(s.user_id == USER for s in listed)


def test_expired_sessions_are_not_listed(world, service):
    idle = service.start(USER, CLIENT)
    world.clock.advance(timedelta(days=3))
    fresh = service.start(USER, LAPTOP)
    world.clock.advance(timedelta(days=4))
    assert [s.id for s in service.live_sessions(USER, 50, None).items] == [session_of(world, fresh.refresh_token).id]
    assert not service.is_live(USER, session_of(world, idle.refresh_token).id)


def test_is_live(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    assert service.is_live(USER, session_id)
    assert not service.is_live(OTHER_USER, session_id)
    assert not service.is_live(USER, "ses_unknown")
    assert not service.is_live(USER, "")


# --- revoking ------------------------------------------------------------------------


def test_revoke_ends_one_of_my_sessions(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    service.revoke(USER, session_id)
    assert not service.is_live(USER, session_id)
    with pytest.raises(InvalidRefreshToken):
        service.refresh(pair.refresh_token, CLIENT)


def test_revoking_another_users_session_is_not_found_and_changes_nothing(world, service):
    pair = service.start(OTHER_USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    with pytest.raises(NotFound) as caught:
        service.revoke(USER, session_id)
    assert (caught.value.status, caught.value.code) == (404, "not_found")
    assert service.is_live(OTHER_USER, session_id)
    service.refresh(pair.refresh_token, CLIENT)


def test_revoking_an_unknown_or_revoked_session_is_not_found(world, service):
    pair = service.start(USER, CLIENT)
    session_id = session_of(world, pair.refresh_token).id
    with pytest.raises(NotFound):
        service.revoke(USER, "ses_unknown")
    service.revoke(USER, session_id)
    with pytest.raises(NotFound):
        service.revoke(USER, session_id)


def test_revoke_all_keeps_the_one_asked_for(world, service):
    keep = service.start(USER, CLIENT)
    others = [service.start(USER, LAPTOP) for _ in range(2)]
    gone = service.start(USER, LAPTOP)
    service.log_out(gone.refresh_token)
    stranger = service.start(OTHER_USER, CLIENT)
    keep_id = claims(world, keep.access_token).session_id
    assert service.revoke_all(USER, keep=keep_id) == 2
    assert [s.id for s in service.live_sessions(USER, 50, None).items] == [keep_id]
    for pair in others:
        with pytest.raises(InvalidRefreshToken):
            service.refresh(pair.refresh_token, LAPTOP)
    service.refresh(keep.refresh_token, CLIENT)
    service.refresh(stranger.refresh_token, CLIENT)


def test_revoke_all_without_keep_ends_every_session(world, service):
    pairs = [service.start(USER, CLIENT) for _ in range(3)]
    assert service.revoke_all(USER) == 3
    assert service.live_sessions(USER, 50, None).items == []
    for pair in pairs:
        with pytest.raises(InvalidRefreshToken):
            service.refresh(pair.refresh_token, CLIENT)
    assert service.revoke_all(USER) == 0


# --- auth_time (sudo mode) -------------------------------------------------------------------


def test_access_tokens_carry_when_the_person_signed_in(world, service):
    pair = service.start(USER, CLIENT)
    assert claims(world, pair.access_token).auth_time == int(world.clock.now().timestamp())
    session = next(iter(world.sessions.items.values()))
    assert session.auth_time == world.clock.now()


def test_start_takes_the_moment_the_factor_was_proven(world, service):
    proven = world.clock.now() - timedelta(seconds=40)
    pair = service.start(USER, CLIENT, auth_time=proven)
    assert claims(world, pair.access_token).auth_time == int(proven.timestamp())


def test_refreshes_keep_auth_time(world, service):
    signed_in_at = int(world.clock.now().timestamp())
    pair = service.start(USER, CLIENT)
    for _ in range(3):
        world.clock.advance(timedelta(minutes=14))
        pair = service.refresh(pair.refresh_token, CLIENT)
        verified = claims(world, pair.access_token)
        assert verified.auth_time == signed_in_at
        assert verified.claims["iat"] == int(world.clock.now().timestamp())
    assert world.sessions.refresh[hash_secret(pair.refresh_token)].auth_time == world.clock.now() - timedelta(
        minutes=42
    )


def test_a_session_from_before_auth_time_refreshes_to_a_stale_token(world, service):
    pair = service.start(USER, CLIENT)
    record = world.sessions.refresh[hash_secret(pair.refresh_token)]
    world.sessions.refresh[record.token_hash] = replace(record, auth_time=None)
    refreshed = service.refresh(pair.refresh_token, CLIENT)
    assert claims(world, refreshed.access_token).auth_time == 0


def test_reauthenticated_renews_auth_time_in_the_same_session(world, service):
    pair = service.start(USER, CLIENT)
    session_id = claims(world, pair.access_token).session_id or ""
    world.clock.advance(timedelta(hours=2))
    session = service.live_session(USER, session_id)
    renewed = service.reauthenticated(session, LAPTOP)
    verified = claims(world, renewed.access_token)
    assert verified.session_id == session.id
    assert verified.auth_time == int(world.clock.now().timestamp())
    stored = world.sessions.items[session.id]
    assert stored.auth_time == world.clock.now()
    assert (stored.ip, stored.user_agent) == (LAPTOP.ip, LAPTOP.user_agent)
    assert stored.idle_expires_at == world.clock.now() + timedelta(days=7)
    assert stored.expires_at == session.expires_at  # the absolute lifetime is the login's
    with pytest.raises(TokenReused):
        service.refresh(pair.refresh_token, CLIENT)


def test_live_session_refuses_ended_sessions(world, service):
    pair = service.start(USER, CLIENT)
    session_id = claims(world, pair.access_token).session_id or ""
    assert service.live_session(USER, session_id).id == session_id
    for user_id, sid in ((OTHER_USER, session_id), (USER, ""), (USER, "ses_unknown")):
        with pytest.raises(Unauthorized):
            service.live_session(user_id, sid)
    service.revoke(USER, session_id)
    with pytest.raises(Unauthorized):
        service.live_session(USER, session_id)
