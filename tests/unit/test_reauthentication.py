"""POST /auth/reauthenticate's use case: the password (and a 2FA code or a recovery code)
again, for a fresh pair of the same session."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.domain.access_tokens import JwtKind
from kuploy_access.domain.errors import (
    Conflict,
    DomainError,
    ReauthenticationRequired,
    TokenReused,
    Unauthorized,
    ValidationFailed,
    WrongCode,
    WrongPassword,
)
from kuploy_access.domain.one_time_tokens import hash_secret
from kuploy_access.domain.principal import USER, Principal
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.services.sessions import ClientInfo
from tests.unit.two_factor_fakes import SudoWorld

PASSWORD = "Analytical-Engine-1843"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")


@pytest.fixture
def world() -> SudoWorld:
    return SudoWorld()


def signed_in(world: SudoWorld, pair: TokenPair | None = None) -> tuple[Principal, TokenPair]:
    """The principal the authorizer makes of a pair's access token."""
    pair = pair or world.session_service().start("usr_01ada", CLIENT)
    verified = world.codec.verify(JwtKind.ACCESS, pair.access_token, world.clock.now())
    principal = Principal(
        type=USER, id=verified.subject, session_id=verified.session_id or "", auth_time=verified.auth_time
    )
    return principal, pair


def stale_caller(world: SudoWorld) -> tuple[Principal, TokenPair]:
    """Signed in half an hour ago: out of sudo mode."""
    world.add_user()
    caller, pair = signed_in(world)
    world.clock.advance(timedelta(minutes=30))
    return caller, pair


def test_the_password_gives_a_fresh_pair_of_the_same_session(world):
    caller, _ = stale_caller(world)
    with pytest.raises(ReauthenticationRequired):
        world.sudo().require(caller)

    done = world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)

    assert (done.user_id, done.session_id) == (caller.id, caller.session_id)
    renewed, _ = signed_in(world, done.tokens)
    assert renewed.session_id == caller.session_id
    assert renewed.auth_time == int(world.clock.now().timestamp())
    world.sudo().require(renewed)
    session = world.sessions.items[caller.session_id]
    assert session.auth_time == world.clock.now()
    assert session.refresh_token_hash == hash_secret(done.tokens.refresh_token)
    assert len(world.sessions.items) == 1  # no new session
    # On the account's trail as a re-authentication, not as a sign-in.
    assert world.trail.actions(caller.id)[-1:] == ["session.reauthenticated"]
    assert "login.succeeded" not in world.trail.actions(caller.id)[1:]


def test_the_previous_refresh_token_is_rotated(world):
    caller, old = stale_caller(world)
    done = world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)
    renewed, _ = signed_in(world, done.tokens)
    assert world.sessions.refresh[hash_secret(old.refresh_token)].rotated_at == world.clock.now()
    # The new one refreshes and keeps the fresh auth_time ...
    world.clock.advance(timedelta(minutes=1))
    refreshed, _ = signed_in(world, world.session_service().refresh(done.tokens.refresh_token, CLIENT))
    assert refreshed.auth_time == renewed.auth_time
    # ... and a copy of the old one is a reuse, as after a refresh.
    with pytest.raises(TokenReused):
        world.session_service().refresh(old.refresh_token, CLIENT)


def test_a_wrong_password_is_403_invalid_credentials_and_changes_nothing(world):
    caller, old = stale_caller(world)
    with pytest.raises(WrongPassword) as refused:
        world.reauthentication().reauthenticate(caller, "not the password", None, None, CLIENT)
    assert (refused.value.status, refused.value.code) == (403, "invalid_credentials")
    session = world.sessions.items[caller.session_id]
    assert session.refresh_token_hash == hash_secret(old.refresh_token)
    assert world.sessions.refresh[hash_secret(old.refresh_token)].rotated_at is None


def test_wrong_passwords_are_throttled_like_logins(world):
    caller, _ = stale_caller(world)
    service = world.reauthentication()
    for _ in range(5):
        with pytest.raises(WrongPassword):
            service.reauthenticate(caller, "not the password", None, None, CLIENT)
    with pytest.raises(RateLimited):
        service.reauthenticate(caller, PASSWORD, None, None, CLIENT)


def test_a_revoked_session_is_401_before_any_password_check(world):
    caller, _ = stale_caller(world)
    world.session_service().revoke(caller.id, caller.session_id)
    checks = world.hasher.verify_calls
    with pytest.raises(Unauthorized) as refused:
        world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)
    assert (refused.value.status, refused.value.code) == (401, "invalid_token")
    assert world.hasher.verify_calls == checks


def test_an_expired_session_is_401(world):
    caller, _ = stale_caller(world)
    world.clock.advance(timedelta(days=8))
    with pytest.raises(Unauthorized):
        world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)


def test_a_code_sent_for_an_account_without_2fa_is_ignored(world):
    caller, _ = stale_caller(world)
    done = world.reauthentication().reauthenticate(caller, PASSWORD, "123456", None, CLIENT)
    assert done.session_id == caller.session_id


# --- accounts with 2FA ----------------------------------------------------------------------------


def test_a_2fa_account_needs_the_password_and_a_code(world):
    caller, _ = stale_caller(world)
    secret, _ = world.turn_on_two_factor(world.users.by_id[caller.id])
    code = world.next_code(secret)
    done = world.reauthentication().reauthenticate(caller, PASSWORD, code, None, CLIENT)
    renewed, _ = signed_in(world, done.tokens)
    assert renewed.session_id == caller.session_id
    world.sudo().require(renewed)
    # The code is spent: the same code again is refused.
    with pytest.raises(WrongCode):
        world.reauthentication().reauthenticate(renewed, PASSWORD, code, None, CLIENT)


def test_a_recovery_code_works_once(world):
    caller, _ = stale_caller(world)
    _, codes = world.turn_on_two_factor(world.users.by_id[caller.id])
    done = world.reauthentication().reauthenticate(caller, PASSWORD, None, codes[0], CLIENT)
    assert done.session_id == caller.session_id
    assert len(world.users.by_id[caller.id].recovery_code_hashes) == 9
    assert "two_factor.recovery_code_used" in world.security_log.actions()
    renewed, _ = signed_in(world, done.tokens)
    with pytest.raises(WrongCode):
        world.reauthentication().reauthenticate(renewed, PASSWORD, None, codes[0], CLIENT)


def test_a_wrong_code_is_403_invalid_code_and_changes_nothing(world):
    caller, old = stale_caller(world)
    secret, _ = world.turn_on_two_factor(world.users.by_id[caller.id])
    world.next_code(secret)
    with pytest.raises(WrongCode) as refused:
        world.reauthentication().reauthenticate(caller, PASSWORD, "000000", None, CLIENT)
    assert (refused.value.status, refused.value.code) == (403, "invalid_code")
    with pytest.raises(WrongCode):
        world.reauthentication().reauthenticate(caller, PASSWORD, None, "aaaaa-bbbbb", CLIENT)
    assert world.sessions.items[caller.session_id].refresh_token_hash == hash_secret(old.refresh_token)


def test_a_right_code_with_a_wrong_password_is_invalid_credentials(world):
    caller, _ = stale_caller(world)
    secret, _ = world.turn_on_two_factor(world.users.by_id[caller.id])
    with pytest.raises(WrongPassword):
        world.reauthentication().reauthenticate(caller, "not the password", world.next_code(secret), None, CLIENT)


@pytest.mark.parametrize(("code", "recovery"), [(None, None), ("", ""), ("123456", "aaaaa-bbbbb")])
def test_a_2fa_account_must_send_exactly_one_factor(world, code, recovery):
    caller, _ = stale_caller(world)
    world.turn_on_two_factor(world.users.by_id[caller.id])
    checks = world.hasher.verify_calls
    with pytest.raises(ValidationFailed):
        world.reauthentication().reauthenticate(caller, PASSWORD, code, recovery, CLIENT)
    assert world.hasher.verify_calls == checks  # refused before a login attempt is spent


def test_wrong_codes_spend_the_accounts_code_attempts(world):
    caller, _ = stale_caller(world)
    secret, _ = world.turn_on_two_factor(world.users.by_id[caller.id])
    service = world.reauthentication()
    outcomes: list[type[DomainError]] = []
    for _ in range(11):
        try:
            service.reauthenticate(caller, PASSWORD, "000000", None, CLIENT)
        except DomainError as error:
            outcomes.append(type(error))
    assert outcomes[:10] == [WrongCode] * 10
    assert outcomes[10] is RateLimited
    with pytest.raises(RateLimited):  # the lockout refuses the right code too
        service.reauthenticate(caller, PASSWORD, world.next_code(secret), None, CLIENT)


# --- the transaction ---------------------------------------------------------------------------------


def test_a_refresh_racing_the_reauthentication_is_read_again(world):
    caller, old = stale_caller(world)
    raced: dict[str, TokenPair] = {}

    def refresh_first() -> None:
        raced["pair"] = world.session_service().refresh(old.refresh_token, CLIENT)

    world.sessions.before_rotate = refresh_first
    done = world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)
    assert done.session_id == caller.session_id
    session = world.sessions.items[caller.session_id]
    assert session.revoked_at is None
    assert session.refresh_token_hash == hash_secret(done.tokens.refresh_token)
    assert session.auth_time == world.clock.now()


def test_a_session_revoked_during_the_reauthentication_is_401(world):
    caller, _ = stale_caller(world)
    world.sessions.before_rotate = lambda: world.session_service().revoke(caller.id, caller.session_id)
    with pytest.raises(Unauthorized):
        world.reauthentication().reauthenticate(caller, PASSWORD, None, None, CLIENT)


def test_a_session_that_keeps_changing_is_a_conflict(world):
    caller, old = stale_caller(world)
    service = world.session_service()
    session = world.sessions.items[caller.session_id]
    current = {"token": old.refresh_token}

    def refresh_again() -> None:
        current["token"] = service.refresh(current["token"], CLIENT).refresh_token
        world.sessions.before_rotate = refresh_again

    world.sessions.before_rotate = refresh_again
    with pytest.raises(Conflict):
        service.reauthenticated(session, CLIENT)
    world.sessions.before_rotate = None


def test_an_account_without_a_password_is_told_to_sign_in_again_and_nothing_is_counted(world):
    caller, _ = stale_caller(world)
    world.users.by_id[caller.id] = replace(world.users.by_id[caller.id], password_hash=None)
    for _ in range(6):
        with pytest.raises(Conflict) as refused:
            world.reauthentication().reauthenticate(caller, "anything", None, None, CLIENT)
        assert (refused.value.status, refused.value.code) == (409, "conflict")
        assert "sign in again with your provider" in refused.value.detail
    assert world.hasher.verify_calls == 0
