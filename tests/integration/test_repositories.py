"""The DynamoDB repositories on moto, with the table defined in template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import (
    EMAIL_GUARD_SK,
    EMAIL_SKELETON_GUARD_SK,
    ONE_TIME_TOKEN_SK,
    PROFILE_SK,
    REFRESH_TOKEN_SK,
    email_guard_pk,
    email_skeleton_guard_pk,
    one_time_token_pk,
    refresh_token_pk,
    session_sk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed
from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
from kuploy_access.domain.audit import account_event
from kuploy_access.domain.emails import email_skeleton
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.one_time_tokens import OneTimeToken, RequestOrigin, TokenKind, hash_secret, new_secret
from kuploy_access.domain.sessions import Session
from kuploy_access.domain.users import User
from kuploy_access.services.ports.tokens import TokenNotUsable
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar
from tests.integration import support


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module (creating one costs more than most tests here)."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the shared world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


NOW = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def make_user(email: str = "ada@example.com", password_hash: str = "$argon2id$first") -> User:
    return User(
        id=new_id("usr"),
        email=email,
        name="Ada",
        password_hash=password_hash,
        email_verified=False,
        two_factor_enabled=False,
        created_at=NOW,
    )


ORIGIN = RequestOrigin(at=NOW, ip="198.51.100.20", user_agent="Mozilla/5.0 Firefox/133.0")


def make_token(
    user_id: str,
    kind: TokenKind = TokenKind.EMAIL_VERIFICATION,
    expires_at: datetime | None = None,
    password_hash: str | None = None,
) -> tuple[str, OneTimeToken]:
    secret = new_secret()
    return secret, OneTimeToken(
        kind=kind,
        token_hash=hash_secret(secret),
        user_id=user_id,
        expires_at=expires_at or NOW + timedelta(hours=24),
        password_hash=password_hash,
        origin=ORIGIN if kind is TokenKind.EMAIL_VERIFICATION else None,
    )


def new_account(repository: DynamoUserRepository, email: str = "ada@example.com") -> tuple[User, OneTimeToken]:
    """A user created as sign-up creates one: its first link bound to its password."""
    user = make_user(email)
    _, token = make_token(user.id, password_hash=user.password_hash)
    user = replace(user, pending_verification_hashes=frozenset({token.token_hash}))
    repository.create(user, token)
    return user, token


def test_create_writes_user_guard_and_token_together(aws):
    repository = DynamoUserRepository()
    user, token = new_account(repository)

    items = support.scan()
    assert len(items) == 3
    profile = support.raw_item(user_pk(user.id), PROFILE_SK)
    assert profile is not None
    assert profile["email"] == "ada@example.com"
    assert profile["email_verified"] is False
    assert profile["password_hash"] == "$argon2id$first"
    assert profile["pending_verification_hashes"] == [token.token_hash]
    guard = support.raw_item(email_guard_pk("ada@example.com"), EMAIL_GUARD_SK)
    assert guard is not None and guard["user_id"] == user.id
    # The look is claimed at verification only: a pending account blocks no look-alike.
    assert support.raw_item(email_skeleton_guard_pk(email_skeleton("ada@example.com")), EMAIL_SKELETON_GUARD_SK) is None
    stored = support.raw_item(one_time_token_pk(TokenKind.EMAIL_VERIFICATION, token.token_hash), ONE_TIME_TOKEN_SK)
    assert stored is not None
    assert stored["user_id"] == user.id
    assert stored["kind"] == "email_verification"
    assert stored["password_hash"] == "$argon2id$first"
    assert (stored["ip"], stored["user_agent"]) == (ORIGIN.ip, ORIGIN.user_agent)
    assert DynamoTokenRepository().get(TokenKind.EMAIL_VERIFICATION, token.token_hash) == token
    # The TTL attribute is set, as an epoch number.
    assert int(stored["expires_at_epoch"]) == int(token.expires_at.timestamp())


def test_the_token_is_stored_hashed_never_as_its_secret(aws):
    repository = DynamoUserRepository()
    user = make_user()
    secret, token = make_token(user.id)
    repository.create(replace(user, pending_verification_hashes=frozenset({token.token_hash})), token)

    for item in support.scan():
        assert secret not in repr(item)


def test_second_create_with_the_same_email_raises_and_writes_nothing(aws):
    repository = DynamoUserRepository()
    first, _ = new_account(repository)
    before = support.scan()

    second = make_user(password_hash="$argon2id$second")
    _, second_token = make_token(second.id)
    with pytest.raises(EmailAlreadyRegistered):
        repository.create(
            replace(second, pending_verification_hashes=frozenset({second_token.token_hash})), second_token
        )

    after = support.scan()
    assert sorted(map(repr, after)) == sorted(map(repr, before))
    assert support.raw_item(user_pk(second.id), PROFILE_SK) is None
    assert (
        support.raw_item(one_time_token_pk(TokenKind.EMAIL_VERIFICATION, second_token.token_hash), ONE_TIME_TOKEN_SK)
        is None
    )
    assert support.raw_item(email_guard_pk("ada@example.com"), EMAIL_GUARD_SK)["user_id"] == first.id  # type: ignore[index]


def test_a_create_with_a_look_alike_of_a_verified_address_raises_too_similar_and_writes_nothing(aws):
    repository = DynamoUserRepository()
    first, first_token = new_account(repository, "paypal@example.com")
    repository.verify_email(first_token, "paypal@example.com")
    first = repository.get(first.id)
    skeleton = support.raw_item(email_skeleton_guard_pk(email_skeleton("paypal@example.com")), EMAIL_SKELETON_GUARD_SK)
    assert skeleton is not None and skeleton["user_id"] == first.id  # type: ignore[union-attr]
    before = support.scan()

    look_alike = make_user("p\u0430ypal@example.com")  # Cyrillic а
    _, token = make_token(look_alike.id, password_hash=look_alike.password_hash)
    with pytest.raises(EmailTooSimilar):
        repository.create(replace(look_alike, pending_verification_hashes=frozenset({token.token_hash})), token)

    assert sorted(map(repr, support.scan())) == sorted(map(repr, before))
    assert repository.get_by_email("p\u0430ypal@example.com") is None
    assert repository.get_by_email("paypal@example.com") == first


def test_of_two_pending_look_alikes_the_first_verified_holds_the_look(aws):
    repository = DynamoUserRepository()
    _, first_token = new_account(repository, "paypal@example.com")
    second, second_token = new_account(repository, "p\u0430ypal@example.com")

    repository.verify_email(second_token, "p\u0430ypal@example.com")
    with pytest.raises(EmailTooSimilar):
        repository.verify_email(first_token, "paypal@example.com")

    skeleton = support.raw_item(email_skeleton_guard_pk(email_skeleton("paypal@example.com")), EMAIL_SKELETON_GUARD_SK)
    assert skeleton is not None and skeleton["user_id"] == second.id
    assert [u["email"] for u in support.users() if u["email_verified"]] == ["p\u0430ypal@example.com"]
    # All or nothing: the refused link was not consumed.
    assert DynamoTokenRepository().get(TokenKind.EMAIL_VERIFICATION, first_token.token_hash) is not None


def test_a_create_that_fails_for_another_reason_is_not_mistaken_for_a_taken_email(aws):
    repository = DynamoUserRepository()
    first, _ = new_account(repository)
    # Same user id, new address: the profile's condition fails, not the guard's.
    clash = replace(make_user("other@example.com"), id=first.id)
    _, token = make_token(clash.id)
    with pytest.raises(Exception) as raised:  # whatever it is, it is not "taken"
        repository.create(clash, token)
    assert not isinstance(raised.value, EmailAlreadyRegistered)
    assert support.raw_item(email_guard_pk("other@example.com"), EMAIL_GUARD_SK) is None


def test_get_and_get_by_email(aws):
    repository = DynamoUserRepository()
    user, _ = new_account(repository)

    by_email = repository.get_by_email("ada@example.com")
    assert by_email == user
    assert repository.get(user.id) == user
    assert repository.get_by_email("someone@example.com") is None
    assert repository.get("usr_doesnotexist") is None


def test_verify_email_consumes_the_token_and_flips_the_flag(aws):
    repository = DynamoUserRepository()
    user, token = new_account(repository)

    repository.verify_email(token, "ada@example.com")

    stored = repository.get(user.id)
    assert stored is not None
    assert stored.email_verified is True
    assert stored.password_hash == "$argon2id$first"
    assert support.verification_tokens() == []
    assert DynamoTokenRepository().get(TokenKind.EMAIL_VERIFICATION, token.token_hash) is None


def test_a_second_verification_with_the_same_token_is_refused(aws):
    repository = DynamoUserRepository()
    _, token = new_account(repository)
    repository.verify_email(token, "ada@example.com")

    with pytest.raises(TokenNotUsable):
        repository.verify_email(token, "ada@example.com")


def test_verification_of_a_vanished_user_is_refused_and_keeps_the_token(aws):
    repository = DynamoUserRepository()
    _, token = make_token("usr_nobody")
    DynamoTokenRepository().put(token)

    with pytest.raises(TokenNotUsable):
        repository.verify_email(token, "ada@example.com")
    # The transaction was all or nothing: the token was not consumed.
    assert DynamoTokenRepository().get(TokenKind.EMAIL_VERIFICATION, token.token_hash) is not None
    assert support.raw_item(user_pk("usr_nobody"), PROFILE_SK) is None


def test_add_verification_keeps_the_earlier_link_and_each_gives_its_own_password(aws):
    repository = DynamoUserRepository()
    user, first = new_account(repository)
    _, second = make_token(user.id, password_hash="$argon2id$later")

    repository.add_verification(user.id, second, "$argon2id$later", tracked=True)

    stored = repository.get(user.id)
    assert stored is not None
    assert stored.password_hash == "$argon2id$later"  # for login's email_not_verified answer
    assert stored.pending_verification_hashes == {first.token_hash, second.token_hash}
    assert stored.email_verified is False
    assert len(support.verification_tokens()) == 2
    repository.verify_email(first, "ada@example.com")
    verified = repository.get(user.id)
    assert verified is not None and verified.email_verified is True
    assert verified.password_hash == "$argon2id$first"
    with pytest.raises(TokenNotUsable):
        repository.verify_email(second, "ada@example.com")
    assert repository.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]


def test_a_link_without_a_password_verifies_and_removes_the_password(aws):
    repository = DynamoUserRepository()
    user, _ = new_account(repository)
    _, resent = make_token(user.id)

    repository.add_verification(user.id, resent, None, tracked=True)
    assert repository.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]

    repository.verify_email(resent, "ada@example.com")
    stored = repository.get(user.id)
    assert stored is not None and stored.email_verified is True
    assert stored.password_hash is None
    assert "password_hash" not in support.raw_item(user_pk(user.id), PROFILE_SK)  # type: ignore[operator]


def test_an_untracked_link_without_a_password_is_added_with_a_condition_check(aws):
    repository = DynamoUserRepository()
    user, _ = new_account(repository)
    before = support.raw_item(user_pk(user.id), PROFILE_SK)
    _, resent = make_token(user.id)

    repository.add_verification(user.id, resent, None, tracked=False)

    assert support.raw_item(user_pk(user.id), PROFILE_SK) == before
    repository.verify_email(resent, "ada@example.com")
    assert repository.get(user.id).email_verified is True  # type: ignore[union-attr]


def test_verification_ends_a_pending_reset_link(aws):
    repository = DynamoUserRepository()
    user, token = new_account(repository)
    _, reset = make_token(user.id, TokenKind.PASSWORD_RESET, NOW + timedelta(hours=1))
    repository.start_password_reset(user, reset)

    repository.verify_email(token, "ada@example.com")

    assert repository.get(user.id).reset_token_hash is None  # type: ignore[union-attr]
    with pytest.raises(TokenNotUsable):
        repository.reset_password(
            reset, "$argon2id$by-reset", user, account_event(user.id, user.email, NOW, "password.reset", "", "")
        )


def test_discard_verifications_deletes_the_other_pending_links_and_forgets_them(aws):
    repository = DynamoUserRepository()
    user, first = new_account(repository)
    others = [make_token(user.id, password_hash=f"$argon2id${i}")[1] for i in range(3)]
    for token in others:
        repository.add_verification(user.id, token, token.password_hash, tracked=True)
    _, untracked = make_token(user.id)
    repository.add_verification(user.id, untracked, None, tracked=False)
    repository.verify_email(first, "ada@example.com")

    repository.discard_verifications(user.id, first.token_hash)

    assert [item["pk"] for item in support.verification_tokens()] == [
        one_time_token_pk(TokenKind.EMAIL_VERIFICATION, untracked.token_hash)
    ]
    profile = support.raw_item(user_pk(user.id), PROFILE_SK)
    assert profile is not None and "pending_verification_hashes" not in profile
    repository.discard_verifications(user.id, first.token_hash)  # nothing left: a no-op


def test_discard_verifications_of_a_vanished_account_creates_nothing(aws):
    DynamoUserRepository().discard_verifications("usr_nobody", "0" * 64)
    assert support.scan() == []


def test_add_verification_to_a_verified_account_changes_nothing(aws):
    repository = DynamoUserRepository()
    user, token = new_account(repository)
    repository.verify_email(token, "ada@example.com")
    before = support.scan()
    _, late = make_token(user.id, password_hash="$argon2id$intruder")

    for password_hash, tracked in (("$argon2id$intruder", True), (None, True), (None, False)):
        with pytest.raises(TokenNotUsable):
            repository.add_verification(user.id, late, password_hash, tracked)

    assert sorted(map(repr, support.scan())) == sorted(map(repr, before))
    assert repository.get(user.id).password_hash == "$argon2id$first"  # type: ignore[union-attr]


def test_update_password_hash_is_conditional_on_the_old_hash(aws):
    repository = DynamoUserRepository()
    user, _ = new_account(repository)
    repository.update_password_hash(user.id, "$argon2id$first", "$argon2id$old")

    # Someone changed the password meanwhile: a stale rehash must not undo it.
    repository.update_password_hash(user.id, "$argon2id$not-the-current-one", "$argon2id$stale")
    assert repository.get(user.id).password_hash == "$argon2id$old"  # type: ignore[union-attr]

    repository.update_password_hash(user.id, "$argon2id$old", "$argon2id$new")
    assert repository.get(user.id).password_hash == "$argon2id$new"  # type: ignore[union-attr]


def test_update_name(aws):
    repository = DynamoUserRepository()
    user, _ = new_account(repository)

    renamed = repository.update_name(user.id, "Ada Lovelace")
    assert renamed is not None and renamed.name == "Ada Lovelace"
    assert repository.get(user.id).name == "Ada Lovelace"  # type: ignore[union-attr]
    # No account: nothing is created by an update.
    assert repository.update_name("usr_nobody", "Ghost") is None
    assert support.raw_item(user_pk("usr_nobody"), PROFILE_SK) is None


def test_sessions_create_writes_the_session_and_its_refresh_token(aws):
    session = Session(
        id=new_id("ses"),
        user_id="usr_someone",
        created_at=NOW,
        last_used_at=NOW,
        expires_at=NOW + timedelta(days=30),
        ip="203.0.113.7",
        user_agent="pytest",
        refresh_token_hash=hash_secret("refresh-secret"),
    )
    DynamoSessionRepository().create(session)

    items = support.scan()
    assert len(items) == 2
    stored = support.raw_item(user_pk("usr_someone"), session_sk(session.id))
    assert stored is not None
    assert stored["refresh_token_hash"] == session.refresh_token_hash
    assert stored["ip"] == "203.0.113.7"
    refresh = support.raw_item(refresh_token_pk(session.refresh_token_hash), REFRESH_TOKEN_SK)
    assert refresh is not None
    assert refresh["session_id"] == session.id
    assert refresh["user_id"] == "usr_someone"
    assert "refresh-secret" not in repr(items)

    # The same session twice is refused as a whole (both conditions hold together).
    with pytest.raises(ConditionFailed):
        DynamoSessionRepository().create(session)
    assert len(support.scan()) == 2


def test_token_kinds_are_separate_keys(aws):
    tokens = DynamoTokenRepository()
    secret = new_secret()
    token_hash = hash_secret(secret)
    reset = OneTimeToken(
        kind=TokenKind.PASSWORD_RESET, token_hash=token_hash, user_id="usr_a", expires_at=NOW + timedelta(hours=1)
    )
    tokens.put(reset)

    assert tokens.get(TokenKind.PASSWORD_RESET, token_hash) == reset
    assert tokens.get(TokenKind.EMAIL_VERIFICATION, token_hash) is None
    assert tokens.get(TokenKind.LOGIN_CODE, token_hash) is None

    verification = OneTimeToken(
        kind=TokenKind.EMAIL_VERIFICATION, token_hash=token_hash, user_id="usr_b", expires_at=NOW + timedelta(hours=24)
    )
    tokens.put(verification)  # same secret, other kind: another item, no collision
    keys = sorted(item["pk"] for kind in TokenKind for item in support.items_with_prefix(one_time_token_pk(kind, "")))
    assert keys == [
        one_time_token_pk(TokenKind.EMAIL_VERIFICATION, token_hash),
        one_time_token_pk(TokenKind.PASSWORD_RESET, token_hash),
    ]
    assert tokens.get(TokenKind.EMAIL_VERIFICATION, token_hash).user_id == "usr_b"  # type: ignore[union-attr]
    assert tokens.get(TokenKind.PASSWORD_RESET, token_hash).user_id == "usr_a"  # type: ignore[union-attr]

    tokens.delete(TokenKind.EMAIL_VERIFICATION, token_hash)
    assert tokens.get(TokenKind.EMAIL_VERIFICATION, token_hash) is None
    assert tokens.get(TokenKind.PASSWORD_RESET, token_hash) == reset


def test_token_put_never_overwrites(aws):
    tokens = DynamoTokenRepository()
    _, token = make_token("usr_a")
    tokens.put(token)
    with pytest.raises(Exception):  # noqa: B017 - PynamoDB's PutError
        tokens.put(OneTimeToken(token.kind, token.token_hash, "usr_other", token.expires_at))
    assert tokens.get(token.kind, token.token_hash).user_id == "usr_a"  # type: ignore[union-attr]
