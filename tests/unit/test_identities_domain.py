"""The rules of sign-in with a provider (domain/identities.py) and the redirect helper."""

from __future__ import annotations

import re

import pytest

from kuploy_access.domain.identities import (
    LinkOutcome,
    Provider,
    ProviderAccount,
    first_sign_in,
    flow_secrets,
    provider_named,
    redirect_allowed,
)
from kuploy_access.services.oauth import with_query

ALLOWED = ("https://console.kuploy.example/", "https://console.kuploy.example/signed-in?from=oauth")


def _account(email: str | None = "ada@example.com", verified: bool = True) -> ProviderAccount:
    return ProviderAccount(Provider.GOOGLE, "sub-1", email, verified, "Ada")


@pytest.mark.parametrize(
    ("email", "verified", "holder_verified", "outcome"),
    [
        ("ada@example.com", True, None, LinkOutcome.CREATE),
        ("ada@example.com", True, True, LinkOutcome.LINK_VERIFIED),
        ("ada@example.com", True, False, LinkOutcome.TAKE_OVER_UNVERIFIED),
        ("ada@example.com", False, None, LinkOutcome.REFUSE_UNVERIFIED_EMAIL),
        ("ada@example.com", False, True, LinkOutcome.REFUSE_UNVERIFIED_EMAIL),
        ("ada@example.com", False, False, LinkOutcome.REFUSE_UNVERIFIED_EMAIL),
        (None, True, None, LinkOutcome.REFUSE_UNVERIFIED_EMAIL),
    ],
)
def test_first_sign_in_links_or_creates_only_on_a_verified_address(email, verified, holder_verified, outcome):
    assert first_sign_in(_account(email, verified), holder_verified) is outcome


@pytest.mark.parametrize("redirect_to", list(ALLOWED))
def test_an_allowed_address_is_allowed(redirect_to):
    assert redirect_allowed(redirect_to, ALLOWED)


@pytest.mark.parametrize(
    "redirect_to",
    [
        "https://console.kuploy.example",  # no trailing slash: not the same string
        "https://console.kuploy.example/x",
        "https://console.kuploy.example.evil.test/",
        "https://console.kuploy.example@evil.test/",
        "https://console.kuploy.example/signed-in?from=oauth&next=https://evil.test",
        "https://console.kuploy.example/signed-in",
        "http://console.kuploy.example/",
        "HTTPS://CONSOLE.KUPLOY.EXAMPLE/",
        "//evil.test/",
        "",
        " https://console.kuploy.example/",
    ],
)
def test_anything_but_an_exact_match_is_refused(redirect_to):
    assert not redirect_allowed(redirect_to, ALLOWED)


def test_nothing_is_allowed_without_a_list():
    assert not redirect_allowed("https://console.kuploy.example/", ())


def test_flow_secrets_are_a_valid_pkce_verifier_bound_to_state_and_browser():
    one = flow_secrets("state-a", "browser-a")
    # RFC 7636 §4.1: 43 to 128 characters of [A-Za-z0-9-._~].
    assert re.fullmatch(r"[A-Za-z0-9\-._~]{43,128}", one.code_verifier)
    assert one.nonce != one.code_verifier
    assert flow_secrets("state-a", "browser-a") == one
    assert flow_secrets("state-a", "browser-b").code_verifier != one.code_verifier
    assert flow_secrets("state-b", "browser-a").code_verifier != one.code_verifier


def test_provider_names_are_exact():
    assert provider_named("github") is Provider.GITHUB
    assert provider_named("GitHub") is None
    assert provider_named("facebook") is None


def test_with_query_adds_to_an_existing_query_and_replaces_a_same_name_parameter():
    assert with_query("https://c.example/", login_code="abc") == "https://c.example/?login_code=abc"
    assert (
        with_query("https://c.example/done?from=oauth&error=x", error="access_denied")
        == "https://c.example/done?from=oauth&error=access_denied"
    )
    assert with_query("https://c.example/#frag", linked="github") == "https://c.example/?linked=github#frag"
