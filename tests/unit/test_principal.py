"""The principal the authorizer hands the routes through its context."""

from __future__ import annotations

import pytest

from kuploy_access.domain.principal import ANONYMOUS, API_KEY, USER, Principal


@pytest.mark.parametrize(
    "principal",
    [
        Principal(type=USER, id="usr_01", session_id="ses_01"),
        Principal(type=API_KEY, id="key_01", org_id="org_01", scopes=("org:read", "apps:deploy")),
        Principal.anonymous("token_expired"),
        Principal(type=USER, id="usr_02"),
    ],
)
def test_round_trip_through_the_context(principal):
    context = principal.to_context()
    assert Principal.from_context(context) == principal


def test_context_values_are_all_strings():
    context = Principal(type=API_KEY, id="key_01", org_id="org_01", scopes=("a:read", "b:write")).to_context()
    assert context
    assert all(isinstance(value, str) for value in context.values())
    assert context["scopes"] == "a:read b:write"
    assert context["principal_type"] == API_KEY


def test_empty_or_missing_context_is_anonymous_unauthorized():
    for context in (None, {}):
        principal = Principal.from_context(context)
        assert principal.type == ANONYMOUS
        assert principal.auth_error == "unauthorized"
        assert principal.id == ""


def test_context_without_a_type_is_anonymous():
    principal = Principal.from_context({"principal_id": "usr_01"})
    assert principal.type == ANONYMOUS


def test_anonymous_carries_its_reason():
    principal = Principal.anonymous("invalid_token")
    assert principal.type == ANONYMOUS
    assert principal.auth_error == "invalid_token"
    assert principal.to_context()["auth_error"] == "invalid_token"
    assert principal.to_context()["principal_id"] == ""


def test_empty_scopes_round_trip_as_an_empty_tuple():
    principal = Principal.from_context(Principal(type=USER, id="usr_1").to_context())
    assert principal.scopes == ()
