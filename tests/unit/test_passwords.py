"""The password policy: NFKC first, 8–256 characters after it, never truncated, no common ones."""

from __future__ import annotations

import unicodedata

import pytest

from kuploy_access.domain.errors import (
    PasswordTooCommon,
    PasswordTooLong,
    PasswordTooShort,
    ValidationFailed,
)
from kuploy_access.domain.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    check_new_password,
    common_passwords,
    is_common_password,
    normalize_password,
)

COMPOSED = "Cr\u00e8me br\u00fbl\u00e9e 1987"  # è, û, é as single code points
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


def test_limits_are_the_contract():
    assert MIN_PASSWORD_LENGTH == 8
    assert MAX_PASSWORD_LENGTH == 256


def test_composed_and_decomposed_accents_normalise_to_the_same_password():
    assert COMPOSED != DECOMPOSED
    assert len(DECOMPOSED) > len(COMPOSED)
    assert normalize_password(DECOMPOSED) == normalize_password(COMPOSED)
    assert check_new_password(DECOMPOSED) == check_new_password(COMPOSED) == COMPOSED


def test_full_width_digits_and_letters_normalise_to_ascii():
    full_width = "Tr\uff4fmb\uff4fne-\uff12\uff10\uff12\uff14"  # full-width o, o, 2, 0, 2, 4
    assert check_new_password(full_width) == "Trombone-2024"


def test_nfkc_form_is_what_is_checked_and_answered():
    # U+FB03 (ffi ligature) is one code point that NFKC turns into three letters.
    assert check_new_password("\ufb03" * 3) == "ffiffiffi"


def test_seven_characters_are_too_short():
    with pytest.raises(PasswordTooShort) as caught:
        check_new_password("Zx9#qL2")
    assert caught.value.code == "password_too_short"
    assert caught.value.status == 422


def test_eight_characters_are_enough():
    assert check_new_password("Zx9#qL2w") == "Zx9#qL2w"


def test_empty_password_is_too_short():
    with pytest.raises(PasswordTooShort):
        check_new_password("")


def test_length_is_counted_after_normalisation_not_in_code_points():
    # Eight code points, but only four characters once the accents are composed.
    raw = unicodedata.normalize("NFD", "\u00e9\u00e0\u00fc\u00f1")
    assert len(raw) == 8
    with pytest.raises(PasswordTooShort):
        check_new_password(raw)


def test_length_after_normalisation_can_make_a_short_input_long_enough():
    # Three code points, nine characters after NFKC.
    assert len(check_new_password("\ufb03\ufb03\ufb03")) == 9


def test_256_characters_are_accepted_and_257_are_not():
    base = "Vq7!kz" * 50
    at_limit = (base + "x" * 256)[:256]
    assert check_new_password(at_limit) == at_limit
    with pytest.raises(PasswordTooLong) as caught:
        check_new_password(at_limit + "y")
    assert caught.value.code == "validation_error"
    assert caught.value.status == 422
    assert isinstance(caught.value, ValidationFailed)


def test_upper_limit_is_counted_after_normalisation():
    # 100 code points that become 300 characters.
    with pytest.raises(PasswordTooLong):
        check_new_password("\ufb03" * 100)


def test_long_passwords_are_never_truncated():
    base = ("Lorem-ipsum-7" * 30)[:255]
    first = check_new_password(base + "a")
    second = check_new_password(base + "b")
    assert len(first) == len(second) == 256
    assert first != second
    assert first.endswith("a")
    assert second.endswith("b")


@pytest.mark.parametrize(
    "password",
    ["password1", "Password1", "PASSWORD1", "qwertyuiop", "QwertyUiop", "iloveyou1", "123456789", "sunshine"],
)
def test_common_passwords_are_refused_case_insensitively(password):
    with pytest.raises(PasswordTooCommon) as caught:
        check_new_password(password)
    assert caught.value.code == "password_too_common"
    assert caught.value.status == 422


def test_full_width_spelling_of_a_common_password_is_refused():
    full_width = "\uff50\uff41\uff53\uff53\uff57\uff4f\uff52\uff44\uff11"  # "password1"
    with pytest.raises(PasswordTooCommon):
        check_new_password(full_width)


def test_an_uncommon_password_passes():
    assert check_new_password("correct horse battery staple 42") == "correct horse battery staple 42"
    assert not is_common_password("correct horse battery staple 42")


def test_the_common_list_is_large_and_lower_case():
    entries = common_passwords()
    assert len(entries) >= 10_000
    assert all(entry == entry.casefold() for entry in entries if entry.isascii())


def test_the_common_list_still_has_10000_entries_long_enough_to_matter():
    # Shorter entries are already refused by the length rule; the list must still
    # carry a real number of passwords that the length rule lets through.
    eligible = [p for p in common_passwords() if MIN_PASSWORD_LENGTH <= len(p) <= MAX_PASSWORD_LENGTH]
    assert len(eligible) >= 10_000


def test_errors_are_validation_failures():
    for error in (PasswordTooShort, PasswordTooLong, PasswordTooCommon):
        assert issubclass(error, ValidationFailed)
