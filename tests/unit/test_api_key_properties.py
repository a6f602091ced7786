"""Properties of the API key format (Hypothesis): every key the module makes parses
back; any one-character change, adjacent swap or truncation of a key is refused by the
shape and checksum check, so the authorizer answers it without reading the key table;
and no text at all makes the check or the authorizer raise."""

from __future__ import annotations

import string
from datetime import UTC, datetime

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kuploy_access.domain.access_tokens import JwtCodec
from kuploy_access.domain.api_keys import (
    CHECKSUM_LENGTH,
    DISPLAY_PREFIX_LENGTH,
    KEY_PATTERN,
    PREFIX,
    RANDOM_LENGTH,
    checksum,
    display_prefix,
    hash_key,
    is_well_formed,
    new_key,
)
from kuploy_access.domain.principal import ANONYMOUS, API_KEY
from kuploy_access.services.authorizer import REFUSALS_METRIC, Authorizer
from tests.unit.fakes import FakeKeys
from tests.unit.jwt_helpers import TEST_KEY
from tests.unit.metric_fakes import CountedEvents

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
KEY_LENGTH = len(PREFIX) + RANDOM_LENGTH + CHECKSUM_LENGTH
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CODEC = JwtCodec(TEST_KEY)

RANDOM_PARTS = st.text(alphabet=BASE62, min_size=RANDOM_LENGTH, max_size=RANDOM_LENGTH)
# What a mistyped character may become: another base62 character mostly, and now and
# then punctuation, a space or a look-alike from another script.
REPLACEMENTS = st.one_of(st.sampled_from(BASE62), st.characters(codec="utf-8"))


def issued(random_part: str) -> str:
    """The key `new_key` makes when its CSPRNG draws `random_part`."""
    return f"{PREFIX}{random_part}{checksum(random_part)}"


class _Log:
    def info(self, msg: str, *, extra: object = None) -> None:
        pass

    def warning(self, msg: str) -> None:
        pass


def authorizer_with(keys: FakeKeys, counted: CountedEvents) -> Authorizer:
    return Authorizer(codec=lambda: CODEC, keys=lambda: keys, log=_Log(), counter=counted)


def test_new_keys_are_the_format_with_their_own_checksum():
    for _ in range(50):
        key = new_key()
        random_part = key[len(PREFIX) : len(PREFIX) + RANDOM_LENGTH]
        assert key == issued(random_part)
        assert is_well_formed(key)


@settings(max_examples=200, deadline=None)
@given(random_part=RANDOM_PARTS)
@example(random_part="0" * RANDOM_LENGTH)
@example(random_part="z" * RANDOM_LENGTH)
def test_an_issued_key_parses_back(random_part):
    key = issued(random_part)
    assert len(key) == KEY_LENGTH
    assert KEY_PATTERN.fullmatch(key)
    assert is_well_formed(key)
    assert display_prefix(key) == key[:DISPLAY_PREFIX_LENGTH] and key.startswith(display_prefix(key))
    assert hash_key(key) == hash_key(str(key)) and len(hash_key(key)) == 64


@settings(max_examples=25, deadline=None)
@given(random_part=RANDOM_PARTS)
def test_every_one_character_change_of_a_key_is_refused(random_part):
    """Exhaustively, for each drawn key: every position, every other base62 character.
    CRC32 detects every error burst of up to 32 bits, so no one-character typo in the
    random part passes; a changed checksum character is another checksum."""
    key = issued(random_part)
    for position in range(KEY_LENGTH):
        for replacement in BASE62:
            if replacement != key[position]:
                assert not is_well_formed(key[:position] + replacement + key[position + 1 :]), (position, replacement)


@settings(max_examples=200, deadline=None)
@given(random_part=RANDOM_PARTS, position=st.integers(0, KEY_LENGTH - 1), replacement=REPLACEMENTS)
def test_a_key_with_any_character_replaced_is_refused(random_part, position, replacement):
    key = issued(random_part)
    changed = key[:position] + replacement + key[position + 1 :]
    assert is_well_formed(changed) == (changed == key)


@settings(max_examples=200, deadline=None)
@given(random_part=RANDOM_PARTS, position=st.integers(len(PREFIX), len(PREFIX) + RANDOM_LENGTH - 2))
def test_two_swapped_neighbours_in_the_random_part_are_refused(random_part, position):
    key = issued(random_part)
    swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
    assert is_well_formed(swapped) == (swapped == key)


@settings(max_examples=100, deadline=None)
@given(random_part=RANDOM_PARTS, extra=st.text(alphabet=BASE62, min_size=1, max_size=4))
def test_every_truncation_and_every_extension_of_a_key_is_refused(random_part, extra):
    key = issued(random_part)
    for length in range(KEY_LENGTH):
        assert not is_well_formed(key[:length])
        assert not is_well_formed(key[KEY_LENGTH - length :])
    assert not is_well_formed(key + extra)
    assert not is_well_formed(extra + key)
    assert not is_well_formed(f"{key}\n") and not is_well_formed(f" {key}")


@settings(max_examples=150, deadline=None)
@given(random_part=RANDOM_PARTS, position=st.integers(0, KEY_LENGTH - 1), replacement=REPLACEMENTS)
def test_the_authorizer_refuses_a_mistyped_key_without_reading_the_table(random_part, position, replacement):
    key = issued(random_part)
    mistyped = key[:position] + replacement + key[position + 1 :]
    keys, counted = FakeKeys(), CountedEvents()
    keys.add(key)  # the real key exists: the typo must still not be looked up
    principal = authorizer_with(keys, counted).authorize(mistyped, NOW, "198.51.100.7")
    if mistyped == key:
        assert principal.type == API_KEY
        return
    assert principal.type == ANONYMOUS and principal.auth_error == "invalid_token"
    if mistyped.startswith(PREFIX):  # otherwise it went to the JWT check, which refused it too
        assert keys.finds == []
        assert counted.of(REFUSALS_METRIC) == [{"reason": "malformed_key"}]


@settings(max_examples=250, deadline=None)
@given(
    text=st.one_of(
        st.text(max_size=60),
        st.text(max_size=50).map(lambda rest: PREFIX + rest),
        st.text(alphabet=BASE62 + "_-", min_size=KEY_LENGTH - 2, max_size=KEY_LENGTH + 2).map(lambda t: PREFIX + t),
    )
)
@example(text=PREFIX + "\ud800" * 36)
@example(text=PREFIX + "\u0660" * 36)  # Arabic-Indic digits: \d would match them, [0-9] does not
@example(text=PREFIX + "Ａ" * 36)  # fullwidth letters
def test_arbitrary_text_is_a_key_or_refused_without_raising(text):
    well_formed = is_well_formed(text)
    if well_formed:
        assert text.isascii() and text == issued(text[len(PREFIX) : len(PREFIX) + RANDOM_LENGTH])
    keys, counted = FakeKeys(), CountedEvents()
    if text.startswith(PREFIX):
        principal = authorizer_with(keys, counted).authorize(text, NOW)
        assert principal.type == ANONYMOUS and principal.auth_error == "invalid_token"
        assert len(keys.finds) == (1 if well_formed else 0)
