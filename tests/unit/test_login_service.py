"""Password login on the in-memory fakes."""

from __future__ import annotations

import base64
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind, TokenRejected
from kuploy_access.domain.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidToken,
    TokenExpired,
    ValidationFailed,
)
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    LOGIN_FAILURES_PER_IP,
    pair_key,
)
from kuploy_access.domain.one_time_tokens import hash_secret
from kuploy_access.domain.rate_limits import RateLimited
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


# --- throttling (domain/login_throttle.py) -------------------------------------------

WINDOW = timedelta(minutes=15)
ELSEWHERE = ClientInfo(ip="198.51.100.99", user_agent="the owner's laptop")


def fail(service, email: str = "ada@example.com", times: int = 1, client: ClientInfo = CLIENT) -> None:
    for _ in range(times):
        with pytest.raises(InvalidCredentials):
            service.log_in(email, "not-the-password", client)


def fail_from_many(service, email: str, times: int, network: int = 10) -> None:
    """Failures spread over addresses, 4 each: no pair limit is ever reached."""
    for index in range(times):
        fail(service, email, client=ClientInfo(f"{network}.{index // 4 // 250}.{index // 4 % 250}.1", "bot"))


def window_end(now: datetime) -> datetime:
    """The end of the fixed 15-minute window holding `now` (windows start on the epoch)."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % 900 + 900, UTC)


def test_the_limits_are_5_per_account_and_address_50_per_address_and_100_in_a_row():
    assert (LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit, LOGIN_FAILURES_PER_ACCOUNT_AND_IP.window) == (5, WINDOW)
    assert (LOGIN_FAILURES_PER_IP.limit, LOGIN_FAILURES_PER_IP.window) == (50, WINDOW)
    assert CONSECUTIVE_FAILURES_BEFORE_LOCK == 100


def test_four_failures_do_not_stop_the_right_password(world):
    world.add_user()
    service = world.login()
    fail(service, times=4)
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert len(world.sessions.items) == 1


def test_after_5_failures_the_right_password_from_that_address_is_refused_with_retry_after(world):
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
    assert world.sessions.items == {}
    # Refused before any password check: the lockout does not tell a guesser when they hit it.
    assert (world.hasher.verify_calls, world.hasher.dummy_checks) == (verify_calls, dummy_checks)


def test_an_attacker_who_knows_the_address_cannot_lock_the_owner_out(world):
    """The old rule (5 failures per account from anywhere) let anyone keep the owner out."""
    world.add_user()
    service = world.login()
    fail(service, times=5)
    with pytest.raises(RateLimited):
        service.log_in("ada@example.com", PASSWORD, CLIENT)
    service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    assert len(world.sessions.items) == 1


def test_a_wrong_password_during_a_lockout_is_rate_limited_and_not_counted(world):
    world.add_user()
    service = world.login()
    fail(service, times=5)
    for _ in range(20):
        with pytest.raises(RateLimited):
            service.log_in("ada@example.com", "not-the-password", CLIENT)
    assert world.throttle.consecutive["ada@example.com"] == 5
    assert world.throttle.checks_taken == 5


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


def test_letter_case_does_not_split_the_pair_count(world):
    world.add_user()
    service = world.login()
    for index in range(5):
        fail(service, "ADA@Example.com" if index % 2 else "ada@example.com")
    with pytest.raises(RateLimited):
        service.log_in("Ada@example.COM", PASSWORD, CLIENT)


def test_a_locked_pair_does_not_lock_another_account_from_the_same_address(world):
    world.add_user()
    world.add_user(email="grace@example.com", user_id="usr_01grace")
    service = world.login()
    fail(service, "ada@example.com", times=5)
    service.log_in("grace@example.com", PASSWORD, CLIENT)


def test_50_failures_from_one_address_across_many_accounts_lock_that_address(world):
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
    # Another address is not affected, and the address's lockout ends with its window.
    service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    world.clock.current = window_end(world.clock.now())
    service.log_in("ada@example.com", PASSWORD, CLIENT)


def test_a_success_clears_the_pair_and_gives_back_only_its_own_attempt(world):
    world.add_user()
    service = world.login()
    fail(service, times=4)
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    pair = pair_key("ada@example.com", CLIENT.ip)
    assert world.limiter.count(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair, world.clock.now()) == 0
    fail(service, times=4)  # a fresh budget of five
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    # The address keeps its failures: one good account must not launder spraying.
    assert world.limiter.count(LOGIN_FAILURES_PER_IP, CLIENT.ip, world.clock.now()) == 8


def test_failures_count_for_unknown_addresses_and_wrong_passwords(world):
    world.add_user()
    service = world.login()
    fail(service, "ada@example.com")
    fail(service, "Nobody@Example.com")
    assert world.throttle.consecutive == {"ada@example.com": 1, "nobody@example.com": 1}


def test_a_malformed_email_is_counted_under_its_raw_form(world):
    service = world.login()
    fail(service, "  Not-An-Email ")
    assert world.throttle.consecutive == {"not-an-email": 1}


def test_email_not_verified_gives_its_attempt_back(world):
    world.add_user(verified=False)
    with pytest.raises(EmailNotVerified):
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.throttle.consecutive == {}
    assert world.limiter.count(LOGIN_FAILURES_PER_IP, CLIENT.ip, world.clock.now()) == 0


def test_two_hundred_parallel_guesses_from_one_address_get_five_password_checks(world):
    """The attempt is taken before the password is checked, so no race gets past it."""
    world.add_user()
    service = world.login()

    def guess(index: int) -> str:
        try:
            service.log_in("ada@example.com", f"guess {index}", CLIENT)
        except (InvalidCredentials, RateLimited) as refused:
            return refused.code
        return "signed in"

    with ThreadPoolExecutor(max_workers=32) as pool:
        answers = list(pool.map(guess, range(200)))
    assert answers.count("invalid_credentials") == LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
    assert answers.count("rate_limited") == 200 - LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit
    assert world.hasher.verify_calls == LOGIN_FAILURES_PER_ACCOUNT_AND_IP.limit


# --- the account-wide ceiling and the unlock link -------------------------------------


def unlock_secret(world: World) -> str:
    emails = [m for m in world.mailer.sent if "/unlock?token=" in m.text]
    assert len(emails) == 1, [m.subject for m in world.mailer.sent]
    return emails[0].text.split("/unlock?token=", 1)[1].split()[0]


def test_100_failures_in_a_row_from_anywhere_stop_password_sign_in_with_the_same_answer(world):
    world.add_user()
    service = world.login()
    fail_from_many(service, "ada@example.com", 99)
    assert not [m for m in world.mailer.sent if "/unlock" in m.text]
    fail_from_many(service, "ada@example.com", 1)
    assert "account.locked" in world.trail.actions("usr_01ada")
    # The right password, from a fresh address, gets exactly a wrong password's answer.
    dummy_checks = world.hasher.dummy_checks
    with pytest.raises(InvalidCredentials) as locked:
        service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    with pytest.raises(InvalidCredentials) as wrong:
        service.log_in("grace@example.com", "nope", ELSEWHERE)
    assert (locked.value.status, locked.value.code, locked.value.detail) == (
        wrong.value.status,
        wrong.value.code,
        wrong.value.detail,
    )
    assert world.hasher.dummy_checks == dummy_checks + 2  # as long as a real check
    assert world.sessions.items == {}
    # One email to the owner, with a link that unlocks, once.
    secret = unlock_secret(world)
    service.unlock(secret, ELSEWHERE)
    service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    with pytest.raises(InvalidToken):
        service.unlock(secret, ELSEWHERE)
    assert "account.unlocked" in world.trail.actions("usr_01ada")


def test_a_locked_account_answers_one_address_like_any_account_429_after_five(world):
    """The ceiling must not show: from one address a locked account, an unlocked one and
    an unknown address all answer 401 five times and then 429."""
    world.add_user()
    world.add_user(email="grace@example.com", user_id="usr_01grace")
    service = world.login()
    fail_from_many(service, "ada@example.com", CONSECUTIVE_FAILURES_BEFORE_LOCK)
    fail_from_many(service, "nobody@example.com", CONSECUTIVE_FAILURES_BEFORE_LOCK, network=11)
    answers = {}
    for email in ("ada@example.com", "grace@example.com", "nobody@example.com"):
        codes = []
        for _ in range(6):
            try:
                service.log_in(email, "still guessing", ELSEWHERE)
            except (InvalidCredentials, RateLimited) as refused:
                codes.append(refused.code)
        answers[email] = codes
    assert set(map(tuple, answers.values())) == {("invalid_credentials",) * 5 + ("rate_limited",)}


def test_the_unlock_email_goes_once_per_lock_and_again_a_day_later(world):
    world.add_user()
    service = world.login()
    fail_from_many(service, "ada@example.com", 100)
    for _ in range(5):
        fail(service, "ada@example.com", client=ELSEWHERE)
    unlock_secret(world)
    world.clock.advance(timedelta(hours=24, seconds=1))
    fail(service, "ada@example.com", client=ELSEWHERE)
    assert len([m for m in world.mailer.sent if "/unlock?token=" in m.text]) == 2


def test_a_lock_counts_one_lockout_and_each_daily_reminder_one_more(world):
    world.add_user()
    service = world.login()
    fail_from_many(service, "ada@example.com", 99)
    assert world.counted.of("Lockouts") == []
    fail_from_many(service, "ada@example.com", 1)
    assert world.counted.of("Lockouts") == [{}]
    for _ in range(5):
        fail(service, "ada@example.com", client=ELSEWHERE)
    assert world.counted.of("Lockouts") == [{}]
    world.clock.advance(timedelta(hours=24, seconds=1))
    fail(service, "ada@example.com", client=ELSEWHERE)
    assert len(world.counted.of("Lockouts")) == 2  # with its second unlock email
    assert world.counted.events == [("Lockouts", {})] * 2  # refusals are the handler's to count


def test_an_unknown_address_at_the_ceiling_is_no_lockout(world):
    service = world.login()
    fail_from_many(service, "nobody@example.com", CONSECUTIVE_FAILURES_BEFORE_LOCK + 3)
    assert world.counted.of("Lockouts") == []


def test_a_correct_sign_in_starts_the_consecutive_count_again(world):
    world.add_user()
    service = world.login()
    fail_from_many(service, "ada@example.com", 99)
    service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    fail_from_many(service, "ada@example.com", 99, network=11)
    service.log_in("ada@example.com", PASSWORD, ELSEWHERE)
    assert world.mailer.sent == []


def test_an_expired_unlock_link_is_refused(world):
    world.add_user()
    service = world.login()
    fail_from_many(service, "ada@example.com", 100)
    secret = unlock_secret(world)
    world.clock.advance(timedelta(hours=24))
    with pytest.raises(TokenExpired):
        service.unlock(secret, ELSEWHERE)


@pytest.mark.parametrize("secret", ["", "x" * 600, "not-a-link"])
def test_a_bad_unlock_token_is_invalid_token(world, secret):
    with pytest.raises(InvalidToken):
        world.login().unlock(secret, CLIENT)


def test_unknown_addresses_reach_the_ceiling_without_any_email(world):
    service = world.login()
    fail_from_many(service, "nobody@example.com", 101)
    assert world.mailer.sent == []


# --- the account's own audit trail ---------------------------------------------------


def test_sign_ins_and_failures_are_on_the_account_trail(world):
    world.add_user()
    service = world.login()
    fail(service)
    service.log_in("ada@example.com", PASSWORD, CLIENT)
    assert world.trail.actions("usr_01ada") == ["login.failed", "login.succeeded"]
    assert world.trail.events[0].ip == CLIENT.ip


def test_an_unknown_address_makes_the_same_write_without_storing_anything(world):
    fail(world.login(), "nobody@example.com")
    assert world.trail.events == []
    assert world.trail.decoys == 1
