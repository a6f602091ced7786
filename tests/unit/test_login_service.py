"""Password login on the in-memory fakes."""

from __future__ import annotations

import base64
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind, TokenRejected
from kuploy_access.domain.errors import EmailNotVerified, InvalidCredentials, ValidationFailed
from kuploy_access.domain.one_time_tokens import hash_secret
from kuploy_access.domain.rate_limits import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, RateLimited
from kuploy_access.domain.sessions import MAX_USER_AGENT_LENGTH
from kuploy_access.services.login import ClientInfo
from tests.unit.fakes import FakeHasher
from tests.unit.jwt_helpers import TEST_KEY
from tests.unit.support import World

PASSWORD = "Analytical-Engine-1843"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")


@pytest.fixture
def world() -> World:
    return World()


def only_session(world: World):
    assert len(world.sessions.items) == 1
    return next(iter(world.sessions.items.values()))


# --- success -------------------------------------------------------------------------


def test_success_answers_a_token_pair(world):
    user = world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert pair.token_type == "Bearer"
    assert pair.expires_in == 900
    assert pair.as_dict() == {
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "token_type": "Bearer",
        "expires_in": 900,
    }
    verified = JwtCodec(TEST_KEY).verify(JwtKind.ACCESS, pair.access_token, world.clock.now())
    assert verified.subject == user.id
    assert verified.session_id == only_session(world).id
    assert verified.session_id.startswith("ses_")
    assert verified.expires_at == int((world.clock.now() + timedelta(minutes=15)).timestamp())


def test_access_token_is_refused_by_a_codec_with_another_key(world):
    world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    with pytest.raises(TokenRejected) as caught:
        JwtCodec(b"x" * 32).verify(JwtKind.ACCESS, pair.access_token, world.clock.now())
    assert caught.value.code == "invalid_token"


def test_access_token_expires_after_15_minutes(world):
    world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    with pytest.raises(TokenRejected) as caught:
        world.codec.verify(JwtKind.ACCESS, pair.access_token, world.clock.now() + timedelta(minutes=15))
    assert caught.value.code == "token_expired"


def test_access_token_is_not_an_mfa_challenge(world):
    world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    with pytest.raises(TokenRejected):
        world.codec.verify(JwtKind.MFA_CHALLENGE, pair.access_token, world.clock.now())


def test_session_record(world):
    user = world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    session = only_session(world)
    now = world.clock.now()
    assert session.user_id == user.id
    assert session.created_at == session.last_used_at == now
    assert session.expires_at == now + timedelta(days=30)
    assert session.idle_expires_at == now + timedelta(days=7)
    assert session.revoked_at is None
    assert session.ip == CLIENT.ip
    assert session.user_agent == CLIENT.user_agent
    assert session.refresh_token_hash == hash_secret(pair.refresh_token)
    assert pair.refresh_token not in session.refresh_token_hash


def test_refresh_token_is_opaque_and_long(world):
    world.add_user()
    pair = world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert pair.refresh_token.count(".") == 0  # not a JWT
    raw = base64.urlsafe_b64decode(pair.refresh_token + "=" * (-len(pair.refresh_token) % 4))
    assert len(raw) * 8 >= 128


def test_each_login_is_its_own_session(world):
    world.add_user()
    service = world.login()
    first = service.log_in("ada@example.com", PASSWORD, CLIENT)
    second = service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert len(world.sessions.items) == 2
    assert first.refresh_token != second.refresh_token
    first_claims = world.codec.verify(JwtKind.ACCESS, first.access_token, world.clock.now())
    second_claims = world.codec.verify(JwtKind.ACCESS, second.access_token, world.clock.now())
    assert first_claims.session_id != second_claims.session_id
    assert first_claims.token_id != second_claims.token_id


def test_email_is_compared_case_insensitively(world):
    user = world.add_user(email="ada@example.com")
    pair = world.login().log_in("  ADA@Example.COM ", PASSWORD, CLIENT)
    assert world.codec.verify(JwtKind.ACCESS, pair.access_token, world.clock.now()).subject == user.id


def test_password_is_normalised_before_checking(world):
    composed = "Cr\u00e8me-br\u00fbl\u00e9e-1987"
    world.add_user(password=composed)
    world.login().log_in("ada@example.com", unicodedata.normalize("NFD", composed), CLIENT)
    assert len(world.sessions.items) == 1


def test_user_agent_is_cut_to_512_characters(world):
    world.add_user()
    agent = "Mozilla/5.0 " + "x" * 2_000
    world.login().log_in("ada@example.com", PASSWORD, ClientInfo(ip="198.51.100.1", user_agent=agent))
    session = only_session(world)
    assert MAX_USER_AGENT_LENGTH == 512
    assert len(session.user_agent) == 512
    assert session.user_agent == agent[:512]


# --- refusals ------------------------------------------------------------------------


def test_wrong_password_is_invalid_credentials(world):
    world.add_user()
    with pytest.raises(InvalidCredentials) as caught:
        world.login().log_in("ada@example.com", PASSWORD + "x", CLIENT)
    assert caught.value.code == "invalid_credentials"
    assert caught.value.status == 401
    assert world.sessions.items == {}
    assert world.hasher.dummy_checks == 0


def test_unknown_email_is_invalid_credentials_after_a_dummy_check(world):
    world.add_user()
    with pytest.raises(InvalidCredentials) as caught:
        world.login().log_in("nobody@example.com", PASSWORD, CLIENT)
    assert caught.value.code == "invalid_credentials"
    assert world.hasher.dummy_checks == 1
    assert world.sessions.items == {}


def test_wrong_password_and_unknown_email_answer_alike(world):
    world.add_user()
    service = world.login()
    with pytest.raises(InvalidCredentials) as wrong:
        service.log_in("ada@example.com", "not-the-password", CLIENT)
    with pytest.raises(InvalidCredentials) as unknown:
        service.log_in("nobody@example.com", "not-the-password", CLIENT)
    assert (wrong.value.status, wrong.value.code, wrong.value.detail) == (
        unknown.value.status,
        unknown.value.code,
        unknown.value.detail,
    )


@pytest.mark.parametrize("email", ["not-an-email", "", "ada@", "a" * 300 + "@example.com"])
def test_invalid_email_syntax_is_invalid_credentials_not_a_validation_error(world, email):
    with pytest.raises(InvalidCredentials) as caught:
        world.login().log_in(email, PASSWORD, CLIENT)
    assert not isinstance(caught.value, ValidationFailed)
    assert caught.value.code == "invalid_credentials"
    assert world.hasher.dummy_checks == 1


def test_account_without_a_password_is_invalid_credentials(world):
    user = world.add_user()
    world.users.by_id[user.id] = type(user)(**{**user.__dict__, "password_hash": None})
    with pytest.raises(InvalidCredentials):
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.hasher.dummy_checks == 1


def test_unverified_with_the_right_password_is_email_not_verified(world):
    world.add_user(verified=False)
    with pytest.raises(EmailNotVerified) as caught:
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert caught.value.code == "email_not_verified"
    assert caught.value.status == 403
    assert world.sessions.items == {}


def test_unverified_with_a_wrong_password_is_invalid_credentials(world):
    # Never reveal that an address has an (unverified) account to someone without its password.
    world.add_user(verified=False)
    with pytest.raises(InvalidCredentials):
        world.login().log_in("ada@example.com", "not-the-password", CLIENT)


# --- rehashing -----------------------------------------------------------------------


def test_hash_from_an_older_hasher_is_replaced_on_login(world):
    user = world.add_user(hasher=FakeHasher("v1"))
    world.hasher = type(world.hasher)("v2")
    world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    stored = world.users.get(user.id).password_hash
    assert stored.startswith("fake$v2$")
    assert stored == FakeHasher("v2").hash(PASSWORD)
    # And the next login works with the new hash.
    world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert len(world.sessions.items) == 2


def test_rehash_stores_the_normalised_password(world):
    composed = "Cr\u00e8me-br\u00fbl\u00e9e-1987"
    user = world.add_user(password=composed, hasher=FakeHasher("v1"))
    world.hasher = type(world.hasher)("v2")
    world.login().log_in("ada@example.com", unicodedata.normalize("NFD", composed), CLIENT)
    assert world.users.get(user.id).password_hash == FakeHasher("v2").hash(composed)


def test_current_hash_is_left_alone(world):
    user = world.add_user()
    before = world.users.get(user.id).password_hash
    calls = world.hasher.hash_calls
    world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.users.get(user.id).password_hash == before
    assert world.hasher.hash_calls == calls


def test_no_rehash_on_a_failed_login(world):
    user = world.add_user(hasher=FakeHasher("v1"))
    world.hasher = type(world.hasher)("v2")
    with pytest.raises(InvalidCredentials):
        world.login().log_in("ada@example.com", "not-the-password", CLIENT)
    assert world.users.get(user.id).password_hash == FakeHasher("v1").hash(PASSWORD)


def test_no_rehash_for_an_unverified_account(world):
    user = world.add_user(verified=False, hasher=FakeHasher("v1"))
    world.hasher = type(world.hasher)("v2")
    with pytest.raises(EmailNotVerified):
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.users.get(user.id).password_hash == FakeHasher("v1").hash(PASSWORD)


# --- throttling ----------------------------------------------------------------------

WINDOW = timedelta(minutes=15)


def fail(service, email: str = "ada@example.com", times: int = 1, client: ClientInfo = CLIENT) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            service.log_in(email, "not-the-password", client)


def window_end(now: datetime) -> datetime:
    """The end of the fixed 15-minute window holding `now` (windows start on the epoch)."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % 900 + 900, UTC)


def test_the_limits_are_5_per_account_and_50_per_ip_in_15_minutes():
    assert (LOGIN_FAILURES_PER_ACCOUNT.limit, LOGIN_FAILURES_PER_ACCOUNT.window) == (5, WINDOW)
    assert (LOGIN_FAILURES_PER_IP.limit, LOGIN_FAILURES_PER_IP.window) == (50, WINDOW)


def test_four_failures_do_not_stop_the_right_password(world):
    world.add_user()
    service = world.login()
    fail(service, times=4)
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert len(world.sessions.items) == 1


def test_after_5_failures_even_the_right_password_is_refused_with_retry_after(world):
    world.add_user()
    service = world.login()
    world.clock.advance(timedelta(minutes=3, seconds=20))
    fail(service, times=5)
    verify_calls, dummy_checks = world.hasher.verify_calls, world.hasher.dummy_checks
    with pytest.raises(RateLimited) as caught:
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert caught.value.status == 429
    assert caught.value.code == "rate_limited"
    now = world.clock.now()
    assert caught.value.retry_after == int((window_end(now) - now).total_seconds())
    assert 1 <= caught.value.retry_after <= 900
    assert world.sessions.items == {}
    # Refused before any password check: the lockout does not tell a guesser when they hit it.
    assert (world.hasher.verify_calls, world.hasher.dummy_checks) == (verify_calls, dummy_checks)


def test_a_wrong_password_during_a_lockout_is_rate_limited_and_not_counted(world):
    world.add_user()
    service = world.login()
    fail(service, times=5)
    for _ in range(20):
        with pytest.raises(RateLimited):
            service.log_in("ada@example.com", "not-the-password", CLIENT)
    assert world.limiter.count(LOGIN_FAILURES_PER_ACCOUNT, "ada@example.com", world.clock.now()) == 5


def test_the_lockout_ends_with_its_window(world):
    world.add_user()
    service = world.login()
    fail(service, times=5)
    with pytest.raises(RateLimited) as caught:
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    world.clock.advance(timedelta(seconds=caught.value.retry_after - 1))
    with pytest.raises(RateLimited) as still:
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert still.value.retry_after == 1
    world.clock.advance(timedelta(seconds=1))
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert len(world.sessions.items) == 1


def test_an_attacker_failing_on_purpose_cannot_extend_the_lockout(world):
    world.add_user()
    service = world.login()
    fail(service, times=5)
    end = window_end(world.clock.now())
    while world.clock.now() < end - timedelta(minutes=1):
        with pytest.raises(RateLimited):
            service.log_in("ada@example.com", "still-guessing", CLIENT)
        world.clock.advance(timedelta(minutes=1))
    world.clock.current = end
    service.log_in("ada@example.com", PASSWORD, CLIENT)


def test_unknown_emails_are_locked_out_the_same_way(world):
    world.add_user()
    service = world.login()
    fail(service, "ada@example.com", times=5)
    fail(service, "nobody@example.com", times=5)
    with pytest.raises(RateLimited) as known:
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    with pytest.raises(RateLimited) as unknown:
        service.log_in("nobody@example.com", PASSWORD, CLIENT)
    assert (known.value.status, known.value.code, known.value.detail, known.value.retry_after) == (
        unknown.value.status,
        unknown.value.code,
        unknown.value.detail,
        unknown.value.retry_after,
    )


def test_account_failures_count_across_ips_and_letter_case(world):
    world.add_user()
    service = world.login()
    for index in range(5):
        fail(service, "ADA@Example.com" if index % 2 else "ada@example.com", client=ClientInfo(f"192.0.2.{index}", "x"))
    with pytest.raises(RateLimited):
        service.log_in("ada@example.com", PASSWORD, ClientInfo("198.51.100.99", "another device"))


def test_a_locked_account_does_not_lock_another_account(world):
    world.add_user()
    world.add_user(email="grace@example.com", user_id="usr_01grace")
    service = world.login()
    fail(service, "ada@example.com", times=5)
    service.log_in("grace@example.com", PASSWORD, CLIENT)


def test_50_failures_from_one_ip_across_many_accounts_lock_that_ip(world):
    world.add_user()
    service = world.login()
    for index in range(49):
        fail(service, f"user{index}@example.com")
    service.log_in("ada@example.com", PASSWORD, CLIENT)  # 49 failures: still allowed
    fail(service, "user49@example.com")
    with pytest.raises(RateLimited) as caught:
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert caught.value.code == "rate_limited"
    assert 1 <= caught.value.retry_after <= 900
    # Another address is not affected, and the IP lockout ends with its window.
    service.log_in("ada@example.com", PASSWORD, ClientInfo("198.51.100.2", "elsewhere"))
    world.clock.current = window_end(world.clock.now())
    service.log_in("ada@example.com", PASSWORD, CLIENT)


def test_a_success_clears_the_account_counter(world):
    world.add_user()
    service = world.login()
    fail(service, times=4)
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.limiter.count(LOGIN_FAILURES_PER_ACCOUNT, "ada@example.com", world.clock.now()) == 0
    fail(service, times=4)  # a fresh budget of five
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    # The per-IP counter is not reset by a success (one good account must not launder spraying).
    assert world.limiter.count(LOGIN_FAILURES_PER_IP, CLIENT.ip, world.clock.now()) == 8


def test_failures_are_recorded_for_unknown_email_and_wrong_password(world):
    world.add_user()
    service = world.login()
    fail(service, "ada@example.com")
    fail(service, "Nobody@Example.com")
    assert world.limiter.failures == [("ada@example.com", CLIENT.ip), ("nobody@example.com", CLIENT.ip)]


def test_a_malformed_email_is_counted_under_its_raw_form(world):
    service = world.login()
    fail(service, "  Not-An-Email ")
    assert world.limiter.failures == [("not-an-email", CLIENT.ip)]


def test_no_failure_is_recorded_for_email_not_verified(world):
    world.add_user(verified=False)
    with pytest.raises(EmailNotVerified):
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.limiter.failures == []
    assert world.limiter.counters == {}


def test_no_failure_is_recorded_for_a_success(world):
    world.add_user()
    world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.limiter.failures == []
