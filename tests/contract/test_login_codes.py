"""LoginCodes: the single-use code an OAuth callback hands to the browser, taken once
however many exchanges race with it (services/oauth.py). The codes are one-time tokens
(TokenKind.LOGIN_CODE), so the suite holds both to the whole of DynamoTokenRepository."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache

import pytest

from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from tests.contract.account_side import NOW, a_token
from tests.contract.ports import Tokens
from tests.contract.races import answered, raised, run_together


@cache
def dynamo_tokens() -> Tokens:
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository

    return DynamoTokenRepository()


@pytest.fixture(params=["fake", "dynamo"])
def codes(request: pytest.FixtureRequest) -> Tokens:
    if request.param == "fake":
        from tests.unit.identity_fakes import FakeLoginCodes

        return FakeLoginCodes()
    request.getfixturevalue("moto_table")
    return dynamo_tokens()


def a_code(secret: str = "login code", user_id: str = "usr_grace") -> OneTimeToken:
    return a_token(user_id, secret, TokenKind.LOGIN_CODE)


def test_a_code_is_taken_once(codes: Tokens) -> None:
    code = a_code()
    codes.put(code)

    assert codes.take(code) == code
    assert codes.take(code) is None
    assert codes.get(TokenKind.LOGIN_CODE, code.token_hash) is None


def test_an_unknown_code_is_none(codes: Tokens) -> None:
    codes.put(a_code())

    assert codes.take(a_code("another code")) is None


def test_take_reads_only_the_kind_and_hash_of_what_it_is_given(codes: Tokens) -> None:
    code = a_code()
    codes.put(code)

    asked = replace(code, user_id="usr_mallory", expires_at=NOW + timedelta(days=1))

    assert codes.take(asked) == code


def test_a_token_of_another_kind_is_not_a_code(codes: Tokens) -> None:
    reset = a_token("usr_grace", "login code", TokenKind.PASSWORD_RESET)
    codes.put(reset)

    assert codes.take(a_code()) is None
    assert codes.take(replace(reset, kind=TokenKind.LOGIN_CODE)) is None
    assert codes.get(TokenKind.PASSWORD_RESET, reset.token_hash) == reset  # not taken


def test_an_expired_code_is_still_taken_for_its_caller_to_refuse(codes: Tokens) -> None:
    stale = replace(a_code(), expires_at=NOW - timedelta(seconds=1))
    codes.put(stale)

    taken = codes.take(stale)

    assert taken == stale and taken.is_expired(NOW)


@pytest.mark.dynamo_only(reason="a stored kind that differs from its key is a corrupt item; the fake's key is its kind")
def test_a_stored_kind_that_differs_from_the_key_is_not_taken(codes: Tokens) -> None:
    from kuploy_access.adapters.dynamodb.models import OneTimeTokenItem
    from kuploy_access.adapters.dynamodb.tokens import token_item

    code = a_code()
    forged = token_item(code)
    forged.kind = TokenKind.PASSWORD_RESET.value
    forged.save()

    assert codes.take(code) is None
    assert codes.get(TokenKind.LOGIN_CODE, code.token_hash) is None
    assert OneTimeTokenItem.get(forged.pk, forged.sk).kind == TokenKind.PASSWORD_RESET.value  # left in place


def test_of_racing_exchanges_of_one_code_exactly_one_takes_it(codes: Tokens) -> None:
    code = a_code()
    codes.put(code)

    outcomes = run_together(8, lambda _: codes.take(code))

    assert raised(outcomes) == []
    assert sorted(answered(outcomes), key=lambda taken: taken is not None) == [None] * 7 + [code]
