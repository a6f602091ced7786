"""Email addresses: syntax checked, one canonical form (NFC and lower case for the local
part, IDNA for the domain), and a confusable skeleton."""

from __future__ import annotations

import pytest

from kuploy_access.domain.emails import MAX_EMAIL_LENGTH, canonical_email, email_skeleton
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
def test_addresses_are_lower_cased_and_trimmed(raw, expected):
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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("STRASSE@example.com", "strasse@example.com"),
        ("Straße@example.com", "straße@example.com"),
        ("STRAẞE@example.com", "straße@example.com"),  # capital sharp s lowers to ß, not to ss
        ("ſam@example.com", "ſam@example.com"),  # long s stays: casefold() would make it s
        ("ﬁne@example.com", "ﬁne@example.com"),
        ("e\u0301lan@example.com", "\u00e9lan@example.com"),  # decomposed é: NFC composes it
        ("\u212aelvin@example.com", "kelvin@example.com"),  # the Kelvin sign is K under NFC
        ("ada@BÜCHER.de", "ada@bücher.de"),
        ("ada@xn--bcher-kva.de", "ada@bücher.de"),  # the A-label is the same domain
        ("ada@ｅｘａｍｐｌｅ.com", "ada@example.com"),  # UTS #46 maps full-width letters
    ],
)
def test_the_canonical_form_is_nfc_lower_case_and_idna(raw, expected):
    assert canonical_email(raw) == expected


def test_sharp_s_and_ss_are_two_addresses():
    assert canonical_email("straße@example.com") != canonical_email("strasse@example.com")


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("paypal@example.com", "p\u0430ypal@example.com"),  # Cyrillic а
        ("paypal@example.com", "paypal@ex\u0430mple.com"),  # in the domain
        ("mary@example.com", "rnary@example.com"),  # rn looks like m
        ("bill@example.com", "bi1l@example.com"),  # 1 looks like l
        ("ada@example.com", "\u0430d\u0430@example.com"),
    ],
)
def test_look_alike_addresses_are_distinct_but_share_a_skeleton(one, other):
    assert canonical_email(one) != canonical_email(other)
    assert email_skeleton(canonical_email(one)) == email_skeleton(canonical_email(other))


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("ada@example.com", "bob@example.com"),
        ("straße@example.com", "strasse@example.com"),
        ("ada@example.com", "ada@example.org"),
    ],
)
def test_addresses_that_look_different_have_different_skeletons(one, other):
    assert email_skeleton(canonical_email(one)) != email_skeleton(canonical_email(other))
