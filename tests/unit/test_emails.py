"""Email addresses: syntax checked, one case-folded form."""

from __future__ import annotations

import pytest

from kuploy_access.domain.emails import MAX_EMAIL_LENGTH, canonical_email
from kuploy_access.domain.errors import InvalidEmail, ValidationFailed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ada@example.com", "ada@example.com"),
        ("Ada@Example.COM", "ada@example.com"),
        ("ADA.LOVELACE+Tag@EXAMPLE.ORG", "ada.lovelace+tag@example.org"),
        ("  grace@example.com  ", "grace@example.com"),
    ],
)
def test_addresses_are_case_folded_and_trimmed(raw, expected):
    assert canonical_email(raw) == expected


def test_two_spellings_of_one_address_are_the_same_account():
    assert canonical_email("Grace@Example.com") == canonical_email("grace@example.COM")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "not-an-email",
        "@example.com",
        "ada@",
        "ada@@example.com",
        "ada@example..com",
        "ada example@example.com",
        "ada@localhost",
        "ada@exa mple.com",
    ],
)
def test_invalid_syntax_is_refused(raw):
    with pytest.raises(InvalidEmail) as caught:
        canonical_email(raw)
    assert caught.value.code == "invalid_email"
    assert caught.value.status == 422
    assert isinstance(caught.value, ValidationFailed)


def test_too_long_address_is_refused():
    local = "a" * 64
    domain = ".".join(["b" * 60] * 4) + ".com"  # a syntactically fine but overlong address
    raw = f"{local}@{domain}"
    assert len(raw) > MAX_EMAIL_LENGTH
    with pytest.raises(InvalidEmail) as caught:
        canonical_email(raw)
    assert caught.value.code == "invalid_email"


def test_very_long_input_is_refused_quickly_as_invalid_email():
    with pytest.raises(InvalidEmail):
        canonical_email("a" * 100_000 + "@example.com")


def test_an_address_at_the_length_limit_is_accepted():
    local = "a" * 64
    domain_labels = ["b" * 61, "c" * 61, "d" * 57]
    raw = f"{local}@{'.'.join(domain_labels)}.io"
    assert len(raw) <= MAX_EMAIL_LENGTH
    assert canonical_email(raw) == raw
