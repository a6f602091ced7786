"""Forgotten passwords, resets and changes on the in-memory fakes."""

from __future__ import annotations

import base64
import unicodedata
from datetime import timedelta

import pytest

from kuploy_access.domain.errors import (
    InvalidCredentials,
    InvalidEmail,
    InvalidRefreshToken,
    InvalidToken,
    PasswordTooCommon,
    PasswordTooLong,
    PasswordTooShort,
    TokenExpired,
    Unauthorized,
    WrongPassword,
)
from kuploy_access.domain.login_throttle import (
    CONSECUTIVE_FAILURES_BEFORE_LOCK,
    LOGIN_FAILURES_PER_ACCOUNT_AND_IP,
    pair_key,
)
from kuploy_access.domain.one_time_tokens import MAX_TOKEN_LENGTH, OneTimeToken, TokenKind, hash_secret
from kuploy_access.domain.rate_limits import RESET_EMAILS_PER_ADDRESS, RateLimited
from kuploy_access.services.sessions import ClientInfo
from tests.unit.fakes import FakeMailer
from tests.unit.support import PUBLIC_BASE_URL, World, reset_link, reset_secret

PASSWORD = "Analytical-Engine-1843"
NEW_PASSWORD = "Difference-Engine-1822"
CLIENT = ClientInfo(ip="203.0.113.7", user_agent="kuploy-cli/1.0")

BAD_PASSWORDS = [
    ("short", PasswordTooShort),
    ("Password1", PasswordTooCommon),
    ("x" * 257, PasswordTooLong),
]


@pytest.fixture
def world() -> World:
    return World()


def reset_tokens(world: World) -> list[OneTimeToken]:
    return [token for (kind, _hash), token in world.tokens.items.items() if kind is TokenKind.PASSWORD_RESET]


def ask_for_reset(world: World, email: str = "ada@example.com") -> str:
    before = len(world.mailer.sent)
    world.passwords().forgot(email)
    assert len(world.mailer.sent) == before + 1
    return reset_secret(world.mailer.sent[-1])


def log_in(world: World, password: str = PASSWORD):
    return world.login().log_in("ada@example.com", password, CLIENT)


# --- forgot --------------------------------------------------------------------------


def test_forgot_emails_a_reset_link_from_the_base_url(world):
    world.add_user()
    assert world.passwords().forgot("Ada@Example.COM") is None
    assert len(world.mailer.sent) == 1
    email = world.mailer.sent[0]
    assert email.to == "ada@example.com"
    assert reset_link(email).startswith(f"{PUBLIC_BASE_URL}/reset-password?token=")
    assert reset_secret(email) in email.html
    assert "verify-email" not in email.text


def test_the_reset_token_has_128_bits_is_stored_hashed_and_lives_an_hour(world):
    user = world.add_user()
    secret = ask_for_reset(world)
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    assert len(raw) * 8 >= 128
    stored = world.tokens.get(TokenKind.PASSWORD_RESET, hash_secret(secret))
    assert stored is not None
    assert stored.token_hash == hash_secret(secret) != secret
    assert stored.user_id == user.id
    assert stored.expires_at == world.clock.now() + timedelta(hours=1)
    assert all(secret not in token_hash for _kind, token_hash in world.tokens.items)
    assert all(secret not in repr(token) for token in world.tokens.items.values())


def test_forgot_for_an_unknown_address_is_silent_and_sends_nothing(world):
    world.add_user()
    assert world.passwords().forgot("nobody@example.com") is None
    assert world.mailer.sent == []
    assert world.tokens.items == {}


def test_forgot_does_not_change_the_password(world):
    world.add_user()
    ask_for_reset(world)
    log_in(world)


def test_forgot_with_failing_mail_is_silent(world):
    world.add_user()
    world.mailer = FakeMailer(fail=True)
    world.passwords().forgot("ada@example.com")
    assert len(reset_tokens(world)) == 1


def test_forgot_with_a_malformed_address_is_a_validation_error(world):
    with pytest.raises(InvalidEmail):
        world.passwords().forgot("not-an-email")


def test_at_most_3_reset_emails_an_hour_per_address(world):
    world.add_user()
    service = world.passwords()
    for _ in range(4):
        assert service.forgot("ada@example.com") is None
    assert len(world.mailer.sent) == 3
    assert len(reset_tokens(world)) == 1  # each new link replaces the previous one
    service.forgot("grace@example.com")  # another address has its own budget (and no account)
    world.add_user(email="grace@example.com", user_id="usr_01grace")
    service.forgot("grace@example.com")
    assert [email.to for email in world.mailer.sent[3:]] == ["grace@example.com"]
    world.clock.advance(timedelta(hours=1))
    service.forgot("ada@example.com")
    assert len(world.mailer.sent) == 5


def test_the_reset_email_budget_is_counted_case_insensitively(world):
    world.add_user()
    service = world.passwords()
    for address in ("ada@example.com", "ADA@example.com", "Ada@Example.Com", "ada@EXAMPLE.com"):
        service.forgot(address)
    assert len(world.mailer.sent) == 3


# --- reset ---------------------------------------------------------------------------


def test_reset_sets_the_new_password(world):
    user = world.add_user()
    secret = ask_for_reset(world)
    assert world.passwords().reset(secret, NEW_PASSWORD) is None
    assert world.users.get(user.id).password_hash == world.hasher.hash(NEW_PASSWORD)
    log_in(world, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        log_in(world, PASSWORD)


def test_reset_normalises_the_new_password(world):
    composed = "Cr\u00e8me-br\u00fbl\u00e9e-1987"
    user = world.add_user()
    world.passwords().reset(ask_for_reset(world), unicodedata.normalize("NFD", composed))
    assert world.users.get(user.id).password_hash == world.hasher.hash(composed)


@pytest.mark.parametrize(("password", "error"), BAD_PASSWORDS)
def test_reset_refuses_a_bad_password_before_using_the_link(world, password, error):
    user = world.add_user()
    secret = ask_for_reset(world)
    with pytest.raises(error):
        world.passwords().reset(secret, password)
    assert world.tokens.get(TokenKind.PASSWORD_RESET, hash_secret(secret)) is not None
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)
    world.passwords().reset(secret, NEW_PASSWORD)  # the link still works
    log_in(world, NEW_PASSWORD)


def test_a_reset_link_works_once(world):
    world.add_user()
    secret = ask_for_reset(world)
    world.passwords().reset(secret, NEW_PASSWORD)
    with pytest.raises(InvalidToken) as caught:
        world.passwords().reset(secret, "Yet-Another-Password-42")
    assert (caught.value.status, caught.value.code) == (400, "invalid_token")
    log_in(world, NEW_PASSWORD)


def test_an_expired_reset_link_says_token_expired_and_is_gone(world):
    user = world.add_user()
    secret = ask_for_reset(world)
    world.clock.advance(timedelta(hours=1))
    with pytest.raises(TokenExpired) as caught:
        world.passwords().reset(secret, NEW_PASSWORD)
    assert (caught.value.status, caught.value.code) == (400, "token_expired")
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)
    assert reset_tokens(world) == []
    with pytest.raises(InvalidToken):
        world.passwords().reset(secret, NEW_PASSWORD)


def test_a_reset_link_still_works_just_before_an_hour(world):
    world.add_user()
    secret = ask_for_reset(world)
    world.clock.advance(timedelta(hours=1) - timedelta(seconds=1))
    world.passwords().reset(secret, NEW_PASSWORD)
    log_in(world, NEW_PASSWORD)


@pytest.mark.parametrize("secret", ["", "unknown-token", "x" * (MAX_TOKEN_LENGTH + 1)])
def test_unknown_empty_or_oversized_reset_token_is_invalid(world, secret):
    user = world.add_user()
    ask_for_reset(world)
    with pytest.raises(InvalidToken):
        world.passwords().reset(secret, NEW_PASSWORD)
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)


def test_the_stored_hash_is_not_a_reset_token(world):
    world.add_user()
    secret = ask_for_reset(world)
    with pytest.raises(InvalidToken):
        world.passwords().reset(hash_secret(secret), NEW_PASSWORD)


@pytest.mark.parametrize("kind", [k for k in TokenKind if k is not TokenKind.PASSWORD_RESET])
def test_a_token_of_another_kind_cannot_reset_a_password(world, kind):
    user = world.add_user()
    secret = "a-secret-issued-for-another-purpose-0123456789"
    world.tokens.put(
        OneTimeToken(
            kind=kind,
            token_hash=hash_secret(secret),
            user_id=user.id,
            expires_at=world.clock.now() + timedelta(hours=1),
        )
    )
    with pytest.raises(InvalidToken):
        world.passwords().reset(secret, NEW_PASSWORD)
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)


def test_reset_marks_the_address_verified(world):
    user = world.add_user(verified=False)
    world.users.by_id[user.id] = type(user)(**{**user.__dict__, "pending_verification_hashes": frozenset({"h" * 64})})
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD)
    after = world.users.get(user.id)
    assert after.email_verified is True
    assert after.pending_verification_hashes == frozenset()
    log_in(world, NEW_PASSWORD)


def test_reset_revokes_every_session(world):
    world.add_user()
    first, second = log_in(world), log_in(world)
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD)
    assert all(session.revoked_at is not None for session in world.sessions.items.values())
    for pair in (first, second):
        with pytest.raises(InvalidRefreshToken):
            world.session_service().refresh(pair.refresh_token, CLIENT)


def test_reset_leaves_other_users_sessions_alone(world):
    world.add_user()
    world.add_user(email="grace@example.com", user_id="usr_01grace")
    grace = world.login().log_in("grace@example.com", PASSWORD, CLIENT)
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD)
    world.session_service().refresh(grace.refresh_token, CLIENT)


def test_reset_clears_the_lockout_of_the_address_it_came_from(world):
    world.add_user()
    service = world.login()
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            service.log_in("ada@example.com", "not-the-password", CLIENT)
    with pytest.raises(RateLimited):
        log_in(world, PASSWORD)
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD, CLIENT.ip)
    pair = pair_key("ada@example.com", CLIENT.ip)
    assert world.limiter.count(LOGIN_FAILURES_PER_ACCOUNT_AND_IP, pair, world.clock.now()) == 0
    log_in(world, NEW_PASSWORD)


def test_reset_unlocks_an_account_past_its_ceiling_of_failures(world):
    world.add_user()
    service = world.login()
    for index in range(CONSECUTIVE_FAILURES_BEFORE_LOCK):
        with pytest.raises(InvalidCredentials):
            service.log_in("ada@example.com", "not-the-password", ClientInfo(f"10.0.{index}.1", "bot"))
    with pytest.raises(InvalidCredentials):
        log_in(world, PASSWORD)
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD, "192.0.2.200")
    log_in(world, NEW_PASSWORD)


def test_reset_sends_a_password_changed_email(world):
    world.add_user()
    secret = ask_for_reset(world)
    world.passwords().reset(secret, NEW_PASSWORD)
    assert len(world.mailer.sent) == 2
    email = world.mailer.sent[1]
    assert email.to == "ada@example.com"
    assert "changed" in email.subject.lower()
    assert "not you" in email.text
    assert secret not in email.text
    assert NEW_PASSWORD not in email.text + email.html


def test_reset_with_failing_mail_still_resets(world):
    world.add_user()
    secret = ask_for_reset(world)
    world.mailer = FakeMailer(fail=True)
    world.passwords().reset(secret, NEW_PASSWORD)
    log_in(world, NEW_PASSWORD)


# --- change --------------------------------------------------------------------------


def session_id_of(world: World, pair) -> str:
    record = world.sessions.get_refresh(hash_secret(pair.refresh_token))
    assert record is not None
    return record.session_id


def test_change_with_a_wrong_current_password_is_wrong_password(world):
    user = world.add_user()
    pair = log_in(world)
    with pytest.raises(WrongPassword) as caught:
        world.passwords().change(user.id, session_id_of(world, pair), "not-the-password", NEW_PASSWORD)
    assert (caught.value.status, caught.value.code) == (403, "invalid_credentials")
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)
    assert world.mailer.sent == []
    assert all(session.revoked_at is None for session in world.sessions.items.values())


def test_a_wrong_current_password_is_reported_before_the_policy(world):
    user = world.add_user()
    with pytest.raises(WrongPassword):
        world.passwords().change(user.id, "ses_x", "not-the-password", "short")


@pytest.mark.parametrize(("password", "error"), BAD_PASSWORDS)
def test_change_applies_the_policy_to_the_new_password(world, password, error):
    user = world.add_user()
    other = log_in(world)
    with pytest.raises(error):
        world.passwords().change(user.id, "ses_x", PASSWORD, password)
    assert world.users.get(user.id).password_hash == world.hasher.hash(PASSWORD)
    assert world.mailer.sent == []
    world.session_service().refresh(other.refresh_token, CLIENT)


def test_change_sets_the_password_and_revokes_the_other_sessions_only(world):
    user = world.add_user()
    mine, other_a, other_b = log_in(world), log_in(world), log_in(world)
    world.passwords().change(user.id, session_id_of(world, mine), PASSWORD, NEW_PASSWORD)
    assert world.users.get(user.id).password_hash == world.hasher.hash(NEW_PASSWORD)
    for pair in (other_a, other_b):
        with pytest.raises(InvalidRefreshToken):
            world.session_service().refresh(pair.refresh_token, CLIENT)
    world.session_service().refresh(mine.refresh_token, CLIENT)
    log_in(world, NEW_PASSWORD)
    with pytest.raises(InvalidCredentials):
        log_in(world, PASSWORD)


def test_change_normalises_both_passwords(world):
    current = "Cr\u00e8me-br\u00fbl\u00e9e-1987"
    new = "\u00c5ngstr\u00f6m-unit-1868"
    user = world.add_user(password=current)
    world.passwords().change(user.id, "ses_x", unicodedata.normalize("NFD", current), unicodedata.normalize("NFD", new))
    assert world.users.get(user.id).password_hash == world.hasher.hash(new)


def test_change_sends_a_password_changed_email(world):
    user = world.add_user()
    world.passwords().change(user.id, "ses_x", PASSWORD, NEW_PASSWORD)
    assert len(world.mailer.sent) == 1
    email = world.mailer.sent[0]
    assert email.to == "ada@example.com"
    assert "changed" in email.subject.lower()
    assert NEW_PASSWORD not in email.text + email.html


def test_change_for_a_vanished_account_is_unauthorized(world):
    with pytest.raises(Unauthorized) as caught:
        world.passwords().change("usr_gone", "ses_x", PASSWORD, NEW_PASSWORD)
    assert caught.value.status == 401


def test_change_losing_a_race_with_another_change_changes_nothing(world, monkeypatch):
    user = world.add_user()
    other = log_in(world)
    monkeypatch.setattr(world.users, "change_password", lambda *_args, **_kwargs: False)
    with pytest.raises(WrongPassword):
        world.passwords().change(user.id, "ses_x", PASSWORD, NEW_PASSWORD)
    assert world.mailer.sent == []
    assert "password.changed" not in world.trail.actions(user.id)
    world.session_service().refresh(other.refresh_token, CLIENT)


def test_only_the_newest_reset_link_works(world):
    world.add_user()
    service = world.passwords()
    service.forgot("ada@example.com")
    service.forgot("ada@example.com")
    first, second = (reset_secret(email) for email in world.mailer.sent)
    with pytest.raises(InvalidToken):
        service.reset(first, NEW_PASSWORD)
    service.reset(second, NEW_PASSWORD)


def test_a_password_change_ends_a_pending_reset_link(world):
    user = world.add_user()
    service = world.passwords()
    service.forgot("ada@example.com")
    link = reset_secret(world.mailer.sent[-1])
    service.change(user.id, "ses_x", PASSWORD, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        service.reset(link, "yet another passphrase")


def test_guessing_the_current_password_is_throttled_like_login(world):
    user = world.add_user()
    service = world.passwords()
    for _ in range(5):
        with pytest.raises(WrongPassword):
            service.change(user.id, "ses_x", "not the password", NEW_PASSWORD, client_ip="198.51.100.1")
    with pytest.raises(RateLimited) as refused:
        service.change(user.id, "ses_x", PASSWORD, NEW_PASSWORD, client_ip="198.51.100.1")
    assert 0 < refused.value.retry_after <= 900


def test_resets_and_changes_are_on_the_account_trail(world):
    world.add_user()
    world.passwords().reset(ask_for_reset(world), NEW_PASSWORD, "192.0.2.9")
    pair = log_in(world, NEW_PASSWORD)
    world.passwords().change(
        "usr_01ada", session_id_of(world, pair), NEW_PASSWORD, "Another-Passphrase-77", "192.0.2.10"
    )
    assert world.trail.actions("usr_01ada")[-1] == "password.changed"
    assert "password.reset" in world.trail.actions("usr_01ada")
    reset = next(e for e in world.trail.events if e.action == "password.reset")
    assert reset.ip == "192.0.2.9"


def test_forgot_for_an_unknown_address_makes_the_calls_a_known_one_makes_and_changes_nothing(world):
    world.add_user()
    calls: list[str] = []
    for name in ("get", "start_password_reset"):
        real = getattr(world.users, name)
        setattr(world.users, name, lambda *a, _n=name, _r=real: calls.append(_n) or _r(*a))
    world.passwords().forgot("nobody@example.com")
    assert calls == ["get", "start_password_reset"]
    assert world.tokens.items == {}
    assert world.mailer.sent == []
    # Its budget is not the address's: the person who signs up later still gets links.
    assert world.limiter.count(RESET_EMAILS_PER_ADDRESS, "nobody@example.com", world.clock.now()) == 0


def test_forgot_is_held_to_its_floor_for_known_and_unknown_addresses():
    from kuploy_access.services.pacing import AnswerFloor

    slept: list[float] = []
    ticks = iter([0.0, 0.05, 1.0, 1.02])
    world = World()
    world.add_user()
    service = world.passwords()
    service.floor = AnswerFloor(0.3, monotonic=lambda: next(ticks), sleep=slept.append)
    service.forgot("ada@example.com")
    service.forgot("nobody@example.com")
    assert [round(s, 2) for s in slept] == [0.25, 0.28]
