"""Sign-up and email verification on the in-memory fakes."""

from __future__ import annotations

import base64
import threading
import unicodedata
from datetime import timedelta

import pytest

from kuploy_access.domain.errors import (
    EmailNotVerified,
    InvalidCredentials,
    InvalidEmail,
    InvalidRefreshToken,
    InvalidToken,
    PasswordTooCommon,
    PasswordTooLong,
    PasswordTooShort,
    TokenExpired,
)
from kuploy_access.domain.one_time_tokens import (
    MAX_TOKEN_LENGTH,
    MAX_TRACKED_VERIFICATIONS,
    OneTimeToken,
    TokenKind,
    hash_secret,
)
from kuploy_access.domain.rate_limits import VERIFICATION_EMAILS_PER_ADDRESS
from kuploy_access.services.sessions import ClientInfo
from tests.unit.fakes import FakeMailer
from tests.unit.support import PUBLIC_BASE_URL, World, reset_secret, verification_link, verification_secret

PASSWORD = "Analytical-Engine-1843"
OTHER_PASSWORD = "Difference-Engine-1822"
CLIENT = ClientInfo(ip="198.51.100.20", user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Firefox/133.0")


@pytest.fixture
def world() -> World:
    return World()


def only_user(world: World):
    assert len(world.users.by_id) == 1
    return next(iter(world.users.by_id.values()))


# --- a new address -------------------------------------------------------------------


def test_new_email_creates_an_unverified_user(world):
    world.signup().sign_up("Ada@Example.COM", PASSWORD, CLIENT, "Ada Lovelace")
    user = only_user(world)
    assert user.email == "ada@example.com"
    assert user.name == "Ada Lovelace"
    assert user.email_verified is False
    assert user.two_factor_enabled is False
    assert user.id.startswith("usr_")
    assert user.created_at == world.clock.now()
    assert user.password_hash == world.hasher.hash(PASSWORD)


def test_new_email_gets_a_verification_email_with_a_link_from_the_base_url(world):
    world.signup().sign_up("Ada@Example.COM", PASSWORD, CLIENT)
    assert len(world.mailer.sent) == 1
    email = world.mailer.sent[0]
    assert email.to == "ada@example.com"
    link = verification_link(email)
    assert link.startswith(f"{PUBLIC_BASE_URL}/verify-email?token=")
    assert verification_secret(email) in email.html


def test_only_the_sha256_of_the_token_is_stored(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    secret = verification_secret(world.mailer.sent[0])
    stored = world.tokens.get(TokenKind.EMAIL_VERIFICATION, hash_secret(secret))
    assert stored is not None
    assert stored.token_hash == hash_secret(secret) != secret
    assert len(stored.token_hash) == 64
    assert all(secret not in token_hash for _kind, token_hash in world.tokens.items)
    assert all(secret not in repr(token) for token in world.tokens.items.values())
    assert all(secret not in repr(user) for user in world.users.by_id.values())


def test_the_token_has_at_least_128_bits_and_lives_24_hours(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    secret = verification_secret(world.mailer.sent[0])
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    assert len(raw) * 8 >= 128
    stored = world.tokens.get(TokenKind.EMAIL_VERIFICATION, hash_secret(secret))
    assert stored.kind == TokenKind.EMAIL_VERIFICATION
    assert stored.user_id == only_user(world).id
    assert stored.expires_at == world.clock.now() + timedelta(hours=24)


def test_password_is_normalised_before_hashing(world):
    composed = "Cr\u00e8me-br\u00fbl\u00e9e-1987"
    world.signup().sign_up("ada@example.com", unicodedata.normalize("NFD", composed), CLIENT)
    assert only_user(world).password_hash == world.hasher.hash(composed)


def test_name_is_cleaned(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT, "  Ada\x00 Lovelace\x07\n ")
    assert only_user(world).name == "Ada Lovelace"


def test_missing_name_is_empty(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    assert only_user(world).name == ""


def test_long_name_is_cut_to_100_characters(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT, "A" * 500)
    assert only_user(world).name == "A" * 100


# --- refused input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("email", "password", "error"),
    [
        ("not-an-email", PASSWORD, InvalidEmail),
        ("ada@example.com", "short", PasswordTooShort),
        ("ada@example.com", "Password1", PasswordTooCommon),
        ("ada@example.com", "x" * 257, PasswordTooLong),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(world, email, password, error):
    with pytest.raises(error):
        world.signup().sign_up(email, password, CLIENT)
    assert world.users.by_id == {}
    assert world.users.by_email == {}
    assert world.tokens.items == {}
    assert world.mailer.sent == []
    assert world.hasher.hash_calls == 0
    assert world.limiter.counters == {}


def test_invalid_email_is_reported_before_the_password(world):
    with pytest.raises(InvalidEmail):
        world.signup().sign_up("nope", "short", CLIENT)


# --- a registered address ------------------------------------------------------------


def test_registered_and_verified_gets_account_exists_email_and_no_new_user(world):
    existing = world.add_user(email="ada@example.com", password=PASSWORD, verified=True)
    world.signup().sign_up("ADA@example.com", OTHER_PASSWORD, CLIENT, "Mallory")
    assert list(world.users.by_id) == [existing.id]
    assert world.users.get(existing.id) == existing  # password and name untouched
    assert world.tokens.items == {}
    assert len(world.mailer.sent) == 1
    email = world.mailer.sent[0]
    assert email.to == "ada@example.com"
    assert "verify-email" not in email.text
    assert "already" in email.text


def test_registered_and_unverified_gets_a_new_verification_email(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    first_user = only_user(world)
    service.sign_up("Ada@Example.com", OTHER_PASSWORD, CLIENT)
    assert only_user(world).id == first_user.id
    assert len(world.mailer.sent) == 2
    first, second = (verification_secret(email) for email in world.mailer.sent)
    assert first != second
    assert world.mailer.sent[1].to == "ada@example.com"


def test_verifying_the_second_sign_up_sets_the_password_chosen_then(world):
    # Anti-squatting: someone who signed up with another person's address first does
    # not keep the account once its real owner signs up and verifies.
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)  # the squatter
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)  # the owner
    service.verify_email(verification_secret(world.mailer.sent[1]))
    user = only_user(world)
    assert user.email_verified is True
    assert world.hasher.verify(user.password_hash, OTHER_PASSWORD)
    assert not world.hasher.verify(user.password_hash, PASSWORD)


def test_verifying_the_first_sign_up_keeps_the_first_password(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.verify_email(verification_secret(world.mailer.sent[0]))
    user = only_user(world)
    assert user.email_verified is True
    assert world.hasher.verify(user.password_hash, PASSWORD)


def test_concurrent_sign_ups_make_exactly_one_account(world):
    service = world.signup()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def sign_up(index: int) -> None:
        try:
            barrier.wait()
            service.sign_up("Race@Example.com", f"{PASSWORD}-{index}", CLIENT)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=sign_up, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(world.users.by_id) == 1
    # Every request answered alike, but only 3 emails an hour per address: the one that
    # created the account always sends (its consume result is not checked), so 3 or 4
    # depending on whether its consume came among the first three.
    assert len(world.mailer.sent) in (3, 4)
    assert {email.to for email in world.mailer.sent} == {"race@example.com"}


# --- resending -----------------------------------------------------------------------


def test_resend_for_an_unknown_address_sends_nothing(world):
    world.signup().resend_verification("nobody@example.com", CLIENT)
    assert world.mailer.sent == []
    assert world.tokens.items == {}


def test_resend_for_a_verified_address_sends_nothing(world):
    world.add_user(email="ada@example.com", verified=True)
    world.signup().resend_verification("ADA@example.com", CLIENT)
    assert world.mailer.sent == []
    assert world.tokens.items == {}


def calls_of(world: World) -> list[str]:
    """Record the repository and budget calls a request makes, by name."""
    calls: list[str] = []
    for target, names in ((world.users, ("get", "get_by_email", "add_verification")), (world.limiter, ("consume",))):
        for name in names:
            real = getattr(target, name)
            setattr(target, name, lambda *a, _n=name, _r=real: calls.append(_n) or _r(*a))
    return calls


@pytest.mark.parametrize("case", ["unknown", "verified"])
def test_resend_makes_the_calls_of_a_pending_account_and_changes_nothing(case):
    pending, other = World(), World()
    pending.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    if case == "verified":
        other.add_user(email="ada@example.com", verified=True)
    pending_calls, other_calls = calls_of(pending), calls_of(other)
    tokens_before = dict(other.tokens.items)

    pending.signup().resend_verification("ada@example.com", CLIENT)
    other.signup().resend_verification("ada@example.com", CLIENT)

    # The adapter's get_by_email reads the guard and then the account: an unknown address
    # reads an account nobody has instead (tests/integration counts the DynamoDB calls).
    assert pending_calls == ["get_by_email", "consume", "add_verification"]
    assert other_calls == (["get_by_email", "get"] if case == "unknown" else ["get_by_email"]) + [
        "consume",
        "add_verification",
    ]
    assert other.tokens.items == tokens_before
    assert other.mailer.sent == []
    assert other.limiter.count(VERIFICATION_EMAILS_PER_ADDRESS, "ada@example.com", other.clock.now()) == 0


def test_resend_is_held_to_its_floor():
    from kuploy_access.services.pacing import AnswerFloor

    slept: list[float] = []
    ticks = iter([0.0, 0.1])
    world = World()
    service = world.signup()
    service.floor = AnswerFloor(0.3, monotonic=lambda: next(ticks), sleep=slept.append)
    service.resend_verification("nobody@example.com", CLIENT)
    assert [round(s, 2) for s in slept] == [0.2]


def test_resend_for_an_unverified_address_sends_a_working_link_that_sets_no_password(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ADA@EXAMPLE.COM", CLIENT)
    assert len(world.mailer.sent) == 2
    resent = world.mailer.sent[1]
    assert resent.to == "ada@example.com"
    assert service.verify_email(verification_secret(resent)) is False
    user = only_user(world)
    assert user.email_verified is True
    assert user.password_hash is None


def test_resend_with_failing_mail_does_not_raise(world):
    world.add_user(email="ada@example.com", verified=False)
    world.mailer = FakeMailer(fail=True)
    world.signup().resend_verification("ada@example.com", CLIENT)
    assert len(world.tokens.items) == 1


# --- verifying -----------------------------------------------------------------------


def test_verify_marks_the_user_verified(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    assert service.verify_email(verification_secret(world.mailer.sent[0])) is True
    assert only_user(world).email_verified is True
    assert only_user(world).pending_verification_hashes == frozenset()
    assert world.tokens.items == {}


def test_a_token_works_once(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    secret = verification_secret(world.mailer.sent[0])
    service.verify_email(secret)
    with pytest.raises(InvalidToken) as caught:
        service.verify_email(secret)
    assert caught.value.code == "invalid_token"
    assert caught.value.status == 400


def test_an_expired_token_says_token_expired_and_is_gone(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    secret = verification_secret(world.mailer.sent[0])
    world.clock.advance(timedelta(hours=24))
    with pytest.raises(TokenExpired) as caught:
        service.verify_email(secret)
    assert caught.value.code == "token_expired"
    assert only_user(world).email_verified is False
    with pytest.raises(InvalidToken):
        service.verify_email(secret)


def test_a_token_still_works_just_before_24_hours(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    world.clock.advance(timedelta(hours=24) - timedelta(seconds=1))
    service.verify_email(verification_secret(world.mailer.sent[0]))
    assert only_user(world).email_verified is True


@pytest.mark.parametrize("secret", ["", "unknown-token", "x" * (MAX_TOKEN_LENGTH + 1)])
def test_unknown_empty_or_oversized_token_is_invalid(world, secret):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    with pytest.raises(InvalidToken):
        world.signup().verify_email(secret)
    assert only_user(world).email_verified is False


def test_the_stored_hash_is_not_a_token(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    secret = verification_secret(world.mailer.sent[0])
    with pytest.raises(InvalidToken):
        service.verify_email(hash_secret(secret))
    assert only_user(world).email_verified is False


@pytest.mark.parametrize("kind", [k for k in TokenKind if k is not TokenKind.EMAIL_VERIFICATION])
def test_a_token_of_another_kind_cannot_verify_an_email(world, kind):
    user = world.add_user(email="ada@example.com", verified=False)
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
        world.signup().verify_email(secret)
    assert world.users.get(user.id).email_verified is False


# --- mail trouble --------------------------------------------------------------------


def test_mail_failure_does_not_fail_the_sign_up(world):
    world.mailer = FakeMailer(fail=True)
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    assert only_user(world).email == "ada@example.com"
    assert len(world.tokens.items) == 1


def test_mail_failure_on_the_account_exists_path_does_not_raise(world):
    world.add_user(email="ada@example.com", verified=True)
    world.mailer = FakeMailer(fail=True)
    world.signup().sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)
    assert len(world.users.by_id) == 1


def test_mail_failure_on_the_sign_up_again_path_does_not_raise(world):
    world.add_user(email="ada@example.com", verified=False)
    world.mailer = FakeMailer(fail=True)
    world.signup().sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)
    assert len(world.tokens.items) == 1


def test_an_older_sign_up_link_cannot_take_over_once_the_owner_verified(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)  # the squatter's sign-up
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)  # the owner's
    squatter_link, owner_link = (verification_secret(email) for email in world.mailer.sent)
    service.verify_email(owner_link)
    with pytest.raises(InvalidToken):
        service.verify_email(squatter_link)
    assert world.hasher.verify(only_user(world).password_hash, OTHER_PASSWORD)


def test_a_resend_after_a_second_sign_up_sets_no_password_at_all(world):
    # The owner signs up over a squatter's unverified account, the email is slow, they
    # ask for it again and follow the resent link: it was asked for without a password,
    # so the account gets none, neither the squatter's nor the owner's.
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)  # the squatter
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)  # the owner
    service.resend_verification("ada@example.com", CLIENT)  # the owner again
    assert service.verify_email(verification_secret(world.mailer.sent[-1])) is False
    user = only_user(world)
    assert user.email_verified is True
    assert user.password_hash is None
    for password in (PASSWORD, OTHER_PASSWORD):
        with pytest.raises(InvalidCredentials):
            world.login().log_in("ada@example.com", password, CLIENT)


def test_every_pending_link_works_until_one_verifies(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    first, second, resent = (verification_secret(email) for email in world.mailer.sent)
    assert service.verify_email(first) is True
    user = only_user(world)
    assert user.email_verified is True
    assert world.hasher.verify(user.password_hash, PASSWORD)
    for late in (second, resent):
        with pytest.raises(InvalidToken):
            service.verify_email(late)
    assert world.hasher.verify(only_user(world).password_hash, PASSWORD)
    # The other pending links were deleted, not only refused.
    assert world.tokens.items == {}


def test_a_resend_adds_a_link_and_keeps_the_previous_one(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    first, second = (verification_secret(email) for email in world.mailer.sent)
    assert len(only_user(world).pending_verification_hashes) == 2
    assert world.hasher.verify(only_user(world).password_hash, PASSWORD)  # a resend leaves it
    assert service.verify_email(first) is True
    assert world.hasher.verify(only_user(world).password_hash, PASSWORD)
    with pytest.raises(InvalidToken):
        service.verify_email(second)


# --- pre-registration takeover ---------------------------------------------------------

VICTIM = ClientInfo(ip="198.51.100.20", user_agent="Mozilla/5.0 (Macintosh) Safari/605.1.15")
ATTACKER = ClientInfo(ip="203.0.113.66", user_agent="curl/8.4.0")


def _log_in_fails(world: World, password: str) -> None:
    with pytest.raises(InvalidCredentials):
        world.login().log_in("victim@example.com", password, ClientInfo(ip="192.0.2.1", user_agent="t"))


@pytest.mark.parametrize("attacker_first", [False, True], ids=["attacker-after-victim", "attacker-before-victim"])
def test_the_victims_link_gives_the_victims_password_and_the_attackers_never_works(world, attacker_first):
    service = world.signup()
    order = (
        [(ATTACKER, OTHER_PASSWORD), (VICTIM, PASSWORD)]
        if attacker_first
        else [
            (VICTIM, PASSWORD),
            (ATTACKER, OTHER_PASSWORD),
        ]
    )
    for client, password in order:
        service.sign_up("victim@example.com", password, client)
    links = {
        ip: verification_secret(email)
        for email, (client, _) in zip(world.mailer.sent, order, strict=True)
        for ip in [client.ip]
    }

    assert service.verify_email(links[VICTIM.ip]) is True

    user = only_user(world)
    assert user.email_verified is True
    assert world.hasher.verify(user.password_hash, PASSWORD)
    assert world.login().log_in("victim@example.com", PASSWORD, VICTIM)
    _log_in_fails(world, OTHER_PASSWORD)
    with pytest.raises(InvalidToken):
        service.verify_email(links[ATTACKER.ip])
    assert world.hasher.verify(only_user(world).password_hash, PASSWORD)
    _log_in_fails(world, OTHER_PASSWORD)
    assert world.tokens.items == {}
    # Each email named the sign-up it confirms, so the victim could tell theirs.
    for email, (client, _) in zip(world.mailer.sent, order, strict=True):
        assert client.ip in email.text
        assert client.user_agent in email.text


@pytest.mark.parametrize("attacker_first", [False, True], ids=["attacker-after-victim", "attacker-before-victim"])
def test_a_sign_up_again_changes_nothing_about_the_earlier_link(world, attacker_first):
    """The second sign-up adds its own link; the first one still gives its own password."""
    service = world.signup()
    first, second = (ATTACKER, VICTIM) if attacker_first else (VICTIM, ATTACKER)
    first_password, second_password = (OTHER_PASSWORD, PASSWORD) if attacker_first else (PASSWORD, OTHER_PASSWORD)
    service.sign_up("victim@example.com", first_password, first)
    first_link = world.tokens.get(TokenKind.EMAIL_VERIFICATION, hash_secret(verification_secret(world.mailer.sent[0])))
    service.sign_up("victim@example.com", second_password, second)
    assert world.tokens.get(first_link.kind, first_link.token_hash) == first_link
    assert first_link.password_hash == world.hasher.hash(first_password)
    assert first_link.origin is not None and first_link.origin.ip == first.ip


def test_verification_ends_the_sessions_and_the_reset_link_from_before(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    user = only_user(world)
    before = world.session_service().start(user.id, ATTACKER)  # however it came to exist
    world.passwords().forgot("ada@example.com")
    reset = reset_secret(world.mailer.sent[-1])

    service.verify_email(verification_secret(world.mailer.sent[0]))

    assert world.session_service().live_sessions(user.id, 50, None).items == []
    with pytest.raises(InvalidRefreshToken):
        world.session_service().refresh(before.refresh_token, ATTACKER)
    assert only_user(world).reset_token_hash is None
    with pytest.raises(InvalidToken):
        world.passwords().reset(reset, "A-brand-new-passphrase-7")
    assert world.hasher.verify(only_user(world).password_hash, PASSWORD)


def test_a_password_reset_verifies_the_address_and_ends_the_pending_links(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, VICTIM)
    service.sign_up("ada@example.com", OTHER_PASSWORD, ATTACKER)
    world.passwords().forgot("ada@example.com")
    world.passwords().reset(reset_secret(world.mailer.sent[-1]), "A-brand-new-passphrase-7")
    for email in world.mailer.sent[:2]:
        with pytest.raises(InvalidToken):
            service.verify_email(verification_secret(email))
    assert world.hasher.verify(only_user(world).password_hash, "A-brand-new-passphrase-7")


def test_an_account_verified_through_a_resent_link_gets_a_password_by_forgot_password(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    assert service.verify_email(verification_secret(world.mailer.sent[-1])) is False
    with pytest.raises(InvalidCredentials):
        world.login().log_in("ada@example.com", PASSWORD, CLIENT)

    world.passwords().forgot("ada@example.com")
    world.passwords().reset(reset_secret(world.mailer.sent[-1]), "A-brand-new-passphrase-7")

    assert world.login().log_in("ada@example.com", "A-brand-new-passphrase-7", CLIENT)


def test_login_before_verification_answers_not_verified_for_the_latest_sign_up_only(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, VICTIM)
    service.sign_up("ada@example.com", OTHER_PASSWORD, ATTACKER)
    with pytest.raises(EmailNotVerified):
        world.login().log_in("ada@example.com", OTHER_PASSWORD, ATTACKER)
    service.resend_verification("ada@example.com", VICTIM)  # sets no password, changes none
    with pytest.raises(EmailNotVerified):
        world.login().log_in("ada@example.com", OTHER_PASSWORD, ATTACKER)


def test_pending_links_are_tracked_up_to_the_cap_and_all_of_them_work(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    for index in range(MAX_TRACKED_VERIFICATIONS + 3):
        world.clock.advance(timedelta(minutes=20))  # the hourly email budget
        service.sign_up("ada@example.com", f"{OTHER_PASSWORD}-{index}", CLIENT)
    assert len(world.mailer.sent) == MAX_TRACKED_VERIFICATIONS + 4
    assert len(only_user(world).pending_verification_hashes) == MAX_TRACKED_VERIFICATIONS
    newest = verification_secret(world.mailer.sent[-1])
    assert hash_secret(newest) not in only_user(world).pending_verification_hashes
    assert service.verify_email(newest) is True
    assert world.hasher.verify(only_user(world).password_hash, f"{OTHER_PASSWORD}-{MAX_TRACKED_VERIFICATIONS + 2}")
    # The untracked ones are left to expire, refused like every other pending link.
    untracked = len(world.mailer.sent) - MAX_TRACKED_VERIFICATIONS
    left = [verification_secret(email) for email in world.mailer.sent[-untracked:-1]]
    assert len(left) == 3
    assert {token_hash for _, token_hash in world.tokens.items} == {hash_secret(secret) for secret in left}
    for secret in left:
        with pytest.raises(InvalidToken):
            service.verify_email(secret)


def test_a_failed_clean_up_does_not_fail_the_verification(world, monkeypatch):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)

    def broken(user_id: str, spent: str) -> None:
        raise RuntimeError("DynamoDB is having a moment")

    monkeypatch.setattr(world.users, "discard_verifications", broken)
    assert service.verify_email(verification_secret(world.mailer.sent[0])) is True
    assert only_user(world).email_verified is True
    with pytest.raises(InvalidToken):
        service.verify_email(verification_secret(world.mailer.sent[1]))


# --- the emails --------------------------------------------------------------------------


def test_the_verification_email_names_when_where_and_which_browser_and_says_to_ignore_it(world):
    world.signup().sign_up("ada@example.com", PASSWORD, CLIENT)
    email = world.mailer.sent[0]
    for part in (email.text, email.html):
        assert world.clock.now().strftime("%Y-%m-%d %H:%M UTC") in part
        assert "198.51.100.20" in part
        assert "Firefox/133.0" in part
        assert "ignore this email" in part
        assert "password" in part


def test_the_resent_email_says_it_was_requested_and_sets_no_password(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", ATTACKER)
    email = world.mailer.sent[-1]
    for part in (email.text, email.html):
        assert "requested" in part
        assert "203.0.113.66" in part
        assert "curl/8.4.0" in part
        assert "sets no password" in part
        assert "Forgot password" in part


def test_a_hostile_user_agent_reaches_the_email_without_links_or_control_characters(world):
    hostile = ClientInfo(
        ip="203.0.113.66",
        user_agent="Evil\x1b[31m\r\nBrowser visit https://evil.example/login or www.evil.example now" + " padding" * 40,
    )
    world.signup().sign_up("ada@example.com", PASSWORD, hostile)
    email = world.mailer.sent[0]
    assert verification_link(email)  # still exactly one link
    for part in (email.text, email.html):
        assert "evil.example" not in part
        assert "\x1b" not in part
        assert "Browser visit" in part
    browser = email.text.split("browser “", 1)[1].split("”", 1)[0]
    assert len(browser) <= 120


# --- email limits --------------------------------------------------------------------


def test_at_most_3_account_exists_emails_an_hour_then_silence(world):
    existing = world.add_user(email="ada@example.com", verified=True)
    service = world.signup()
    for _ in range(5):
        assert service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT) is None
    assert len(world.mailer.sent) == 3
    assert world.users.get(existing.id) == existing
    world.clock.advance(timedelta(hours=1))
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)
    assert len(world.mailer.sent) == 4


def test_sign_up_and_resend_share_the_hourly_budget(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)  # 1: the account is created
    service.resend_verification("ada@example.com", CLIENT)  # 2
    service.sign_up("ADA@example.com", PASSWORD, CLIENT)  # 3
    service.resend_verification("Ada@Example.com", CLIENT)  # refused
    service.sign_up("ada@example.com", PASSWORD, CLIENT)  # refused
    assert len(world.mailer.sent) == 3
    world.clock.advance(timedelta(hours=1))
    service.resend_verification("ada@example.com", CLIENT)
    assert len(world.mailer.sent) == 4


def test_the_email_budget_is_per_address(world):
    service = world.signup()
    for _ in range(3):
        service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.sign_up("grace@example.com", PASSWORD, CLIENT)
    service.resend_verification("grace@example.com", CLIENT)
    assert [email.to for email in world.mailer.sent[3:]] == ["grace@example.com", "grace@example.com"]


def test_a_refused_sign_up_again_changes_neither_the_password_nor_the_link(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    user_before = only_user(world)
    tokens_before = dict(world.tokens.items)
    service.sign_up("ada@example.com", OTHER_PASSWORD, CLIENT)  # over the limit
    assert len(world.mailer.sent) == 3
    assert only_user(world) == user_before
    assert world.tokens.items == tokens_before
    service.verify_email(verification_secret(world.mailer.sent[0]))  # the sign-up's link still works
    user = only_user(world)
    assert user.email_verified is True
    assert world.hasher.verify(user.password_hash, PASSWORD)


def test_a_refused_resend_does_not_kill_the_current_link(world):
    service = world.signup()
    service.sign_up("ada@example.com", PASSWORD, CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    service.resend_verification("ada@example.com", CLIENT)
    service.resend_verification("ada@example.com", CLIENT)  # over the limit
    assert len(world.mailer.sent) == 3
    service.verify_email(verification_secret(world.mailer.sent[-1]))
    assert only_user(world).email_verified is True
