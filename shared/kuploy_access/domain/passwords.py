"""The password policy for new passwords (sign-up, reset, change).

Passwords are NFKC-normalised first, so the same password typed on two keyboards
(composed or decomposed accents, full-width digits) hashes the same; then measured
in characters, never truncated; then refused when they are on a list of the 30,000
most common passwords (zxcvbn's list, drawn from leaked password dumps).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from kuploy_access.domain.errors import PasswordTooCommon, PasswordTooLong, PasswordTooShort

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    # Loaded on first use: the list is ~30k strings and only the routes that set a
    # password need it.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common_password(normalized: str) -> bool:
    # The list is lower-case; "Password1" is as guessable as "password1".
    return normalized.casefold() in common_passwords()


def check_new_password(password: str) -> str:
    """Answer the normalised password, or raise the policy error that applies."""
    normalized = normalize_password(password)
    if len(normalized) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"Use at least {MIN_PASSWORD_LENGTH} characters")
    if len(normalized) > MAX_PASSWORD_LENGTH:
        raise PasswordTooLong(f"Use at most {MAX_PASSWORD_LENGTH} characters")
    if is_common_password(normalized):
        raise PasswordTooCommon("This password is on a list of commonly used passwords; choose another")
    return normalized
