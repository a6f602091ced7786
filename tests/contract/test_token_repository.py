"""TokenRepository: single-use links stored by their hash, one key per kind; callers
check expiry themselves (TTL deletes lazily)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.domain.one_time_tokens import TokenKind
from tests.contract.account_side import NOW, AccountSide, a_token, account_side


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def test_a_token_reads_back_as_it_was_put(side: AccountSide) -> None:
    verification = a_token("usr_ada", "verify", password_hash="$argon2id$first")
    unlock = a_token("usr_ada", "unlock", TokenKind.ACCOUNT_UNLOCK)

    side.tokens.put(verification)
    side.tokens.put(unlock)

    assert side.tokens.get(TokenKind.EMAIL_VERIFICATION, verification.token_hash) == verification
    assert side.tokens.get(TokenKind.ACCOUNT_UNLOCK, unlock.token_hash) == unlock


def test_a_token_of_one_kind_is_not_one_of_another(side: AccountSide) -> None:
    verification = a_token("usr_ada", "secret")
    side.tokens.put(verification)

    assert side.tokens.get(TokenKind.PASSWORD_RESET, verification.token_hash) is None
    assert side.tokens.get(TokenKind.ACCOUNT_UNLOCK, verification.token_hash) is None


def test_the_same_secret_may_be_a_token_of_two_kinds(side: AccountSide) -> None:
    verification = a_token("usr_ada", "secret")
    reset = a_token("usr_ada", "secret", TokenKind.PASSWORD_RESET)

    side.tokens.put(verification)
    side.tokens.put(reset)

    assert side.tokens.get(TokenKind.EMAIL_VERIFICATION, verification.token_hash) == verification
    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) == reset


def test_an_unknown_token_is_none(side: AccountSide) -> None:
    assert side.tokens.get(TokenKind.EMAIL_VERIFICATION, "0" * 64) is None


def test_a_token_is_never_overwritten(side: AccountSide) -> None:
    unlock = a_token("usr_ada", "unlock", TokenKind.ACCOUNT_UNLOCK)
    side.tokens.put(unlock)

    with pytest.raises(Exception):  # noqa: B017 - the adapter's and the fake's are not the port's
        side.tokens.put(replace(unlock, user_id="usr_mallory"))

    assert side.tokens.get(TokenKind.ACCOUNT_UNLOCK, unlock.token_hash) == unlock


def test_an_expired_token_still_reads_back_for_its_caller_to_refuse(side: AccountSide) -> None:
    stale = replace(a_token("usr_ada", "old link", TokenKind.PASSWORD_RESET), expires_at=NOW - timedelta(hours=1))
    side.tokens.put(stale)

    found = side.tokens.get(TokenKind.PASSWORD_RESET, stale.token_hash)

    assert found == stale and found.is_expired(NOW)


def test_delete_removes_the_token_and_forgives_a_missing_one(side: AccountSide) -> None:
    reset = a_token("usr_ada", "reset", TokenKind.PASSWORD_RESET)
    side.tokens.put(reset)

    side.tokens.delete(TokenKind.PASSWORD_RESET, reset.token_hash)
    side.tokens.delete(TokenKind.PASSWORD_RESET, reset.token_hash)

    assert side.tokens.get(TokenKind.PASSWORD_RESET, reset.token_hash) is None


def test_delete_removes_only_its_kind(side: AccountSide) -> None:
    verification = a_token("usr_ada", "secret")
    reset = a_token("usr_ada", "secret", TokenKind.PASSWORD_RESET)
    side.tokens.put(verification)
    side.tokens.put(reset)

    side.tokens.delete(TokenKind.PASSWORD_RESET, reset.token_hash)

    assert side.tokens.get(TokenKind.EMAIL_VERIFICATION, verification.token_hash) == verification
