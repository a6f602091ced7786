"""Organization API keys as values (issue 6, "Keys"): the format secret scanners match,
the checksum that lets the authorizer refuse a typo offline, the SHA-256 that is all the
table keeps, the display prefix, and when a key may still be used."""

from __future__ import annotations

import hashlib
import inspect
import math
import random
import re
import string
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain import api_keys
from kuploy_access.domain.api_keys import (
    CHECKSUM_LENGTH,
    PREFIX,
    RANDOM_LENGTH,
    ApiKey,
    checksum,
    display_prefix,
    hash_key,
    is_well_formed,
    new_key,
)

# What the README tells secret-scanning setups to look for (issue 6).
SCANNER_REGEX = re.compile(r"kpy_[0-9A-Za-z]{36}")
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def _random_part(key: str) -> str:
    return key[len(PREFIX) : len(PREFIX) + RANDOM_LENGTH]


def _crc_base62(text: str) -> str:
    """The checksum computed independently of the code under test."""
    value = zlib.crc32(text.encode("ascii"))
    digits = []
    for _ in range(6):
        value, digit = divmod(value, 62)
        digits.append(BASE62[digit])
    return "".join(reversed(digits))


@pytest.fixture(scope="module")
def sample() -> list[str]:
    return [new_key() for _ in range(200)]


# --- format -------------------------------------------------------------------------------


def test_a_new_key_is_kpy_then_36_base62_characters(sample):
    for key in sample:
        assert key.startswith("kpy_")
        assert len(key) == 4 + 36
        assert SCANNER_REGEX.fullmatch(key), key
        assert set(key[4:]) <= set(BASE62)


def test_the_module_pattern_is_the_documented_regex():
    assert api_keys.KEY_PATTERN.pattern == SCANNER_REGEX.pattern
    assert (PREFIX, RANDOM_LENGTH, CHECKSUM_LENGTH) == ("kpy_", 30, 6)


def test_a_key_is_found_by_the_scanner_regex_inside_surrounding_text(sample):
    key = sample[0]
    leaked = f'export KUPLOY_TOKEN="{key}" # oops\n'
    assert SCANNER_REGEX.findall(leaked) == [key]


def test_the_random_part_carries_at_least_160_bits():
    assert RANDOM_LENGTH * math.log2(62) >= 160
    # 30 base62 characters: about 178 bits.
    assert RANDOM_LENGTH * math.log2(62) == pytest.approx(178.6, abs=0.1)


def test_the_last_six_characters_are_the_base62_crc32_of_the_random_part(sample):
    for key in sample:
        assert key[-6:] == _crc_base62(_random_part(key)) == checksum(_random_part(key))


def test_new_keys_differ(sample):
    more = [new_key() for _ in range(1000)]
    assert len(set(sample + more)) == len(sample) + len(more)
    assert len({_random_part(k) for k in sample + more}) == len(sample) + len(more)


def test_the_random_part_is_uniform_over_the_alphabet():
    """5000 keys × 30 characters ≈ 2419 per symbol, σ ≈ 49: the bounds sit ~6σ out, while a
    byte-modulo-62 bias (symbols 0–7 drawn 21% too often) lands ~4σ beyond them."""
    keys = 5000
    counts = Counter("".join(_random_part(new_key()) for _ in range(keys)))
    assert set(counts) == set(BASE62)
    expected = keys * RANDOM_LENGTH / 62
    assert min(counts.values()) > expected * 0.88, counts.most_common()[-3:]
    assert max(counts.values()) < expected * 1.12, counts.most_common(3)


def test_new_keys_draw_from_the_csprng_not_from_random():
    """Black-box tests cannot tell a CSPRNG from a seeded PRNG: the source must use
    `secrets`, and the module must not have `random` at hand."""
    source = inspect.getsource(api_keys)
    assert "secrets." in inspect.getsource(new_key)
    assert not re.search(r"^\s*(import random|from random import)", source, re.MULTILINE)
    assert "random" not in vars(api_keys) or vars(api_keys)["random"] is not random


# --- well-formedness and the checksum ------------------------------------------------------


def test_new_keys_are_well_formed(sample):
    assert all(is_well_formed(key) for key in sample)


def test_every_single_character_substitution_is_caught(sample):
    """CRC32 detects every single-symbol error in the random part; a change in the
    checksum itself no longer matches; a change in the prefix breaks the shape."""
    rng = random.Random(6)
    for key in sample[:20]:
        for position in range(len(key)):
            original = key[position]
            for replacement in rng.sample([c for c in BASE62 if c != original], 8):
                typo = key[:position] + replacement + key[position + 1 :]
                assert not is_well_formed(typo), (key, position, replacement)


def test_every_substitution_of_one_position_in_one_key_is_caught(sample):
    key = sample[0]
    for position in range(len(PREFIX), len(key)):
        for replacement in BASE62:
            if replacement != key[position]:
                assert not is_well_formed(key[:position] + replacement + key[position + 1 :])


def test_truncated_and_extended_keys_are_refused(sample):
    key = sample[1]
    for length in range(len(key)):
        assert not is_well_formed(key[:length]), length
    assert not is_well_formed(key + "0")
    assert not is_well_formed(key + " ")
    assert not is_well_formed(" " + key)


def test_a_random_part_with_a_recomputed_checksum_is_well_formed_but_shape_still_matters():
    random_part = "A" * RANDOM_LENGTH
    assert is_well_formed(PREFIX + random_part + _crc_base62(random_part))
    assert not is_well_formed("kpx_" + random_part + _crc_base62(random_part))
    assert not is_well_formed("KPY_" + random_part + _crc_base62(random_part))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "kpy_",
        "kpy_" + "a" * 40,
        "kpy_" + "a" * 36,
        "kpy_" + "-" * 36,
        "kpy_" + "é" * 36,
        "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        "kpy_live_0123456789abcdef0123456789abcdef",
    ],
    ids=repr,
)
def test_malformed_texts_are_refused(text):
    assert not is_well_formed(text)


def test_every_swap_of_two_adjacent_characters_is_caught(sample):
    """CRC32 detects every burst error of up to 32 bits: a swap of neighbours is one."""
    swaps = 0
    caught = 0
    for key in sample:
        body = _random_part(key)
        for i in range(len(body) - 1):
            if body[i] == body[i + 1]:
                continue
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2 :]
            swaps += 1
            caught += not is_well_formed(PREFIX + swapped + key[-6:])
    assert caught == swaps


# --- storage and display -------------------------------------------------------------------


def test_hash_is_the_sha256_hex_of_the_whole_key(sample):
    for key in sample[:10]:
        digest = hash_key(key)
        assert digest == hashlib.sha256(key.encode("ascii")).hexdigest()
        assert re.fullmatch(r"[0-9a-f]{64}", digest)
        assert key not in digest


def test_different_keys_hash_differently(sample):
    assert len({hash_key(k) for k in sample}) == len(sample)


def test_the_display_prefix_reveals_at_most_ten_characters(sample):
    for key in sample:
        shown = display_prefix(key)
        assert key.startswith(shown)
        assert shown.startswith("kpy_")
        assert len(shown) <= 10
        # At most 6 characters of the random part: far from enough to guess the rest.
        assert len(shown) - len(PREFIX) <= 6


def test_display_prefixes_tell_keys_apart_in_a_list(sample):
    assert len({display_prefix(k) for k in sample}) > len(sample) * 0.99


# --- usability -----------------------------------------------------------------------------


def key_with(expires_at: datetime | None = None, revoked_at: datetime | None = None) -> ApiKey:
    return ApiKey(
        id="key_1",
        org_id="org_1",
        key_hash="0" * 64,
        prefix="kpy_abcdef",
        description="ci",
        scopes=frozenset({"org:read"}),
        preset=None,
        created_by="usr_1",
        created_at=NOW - timedelta(days=1),
        expires_at=expires_at,
        revoked_at=revoked_at,
    )


def test_a_key_without_expiry_or_revocation_is_usable():
    assert key_with().is_usable(NOW)
    assert key_with().is_usable(NOW + timedelta(days=10_000))


def test_a_key_is_usable_until_its_expiry_and_not_from_it():
    key = key_with(expires_at=NOW + timedelta(days=1))
    assert key.is_usable(NOW)
    assert key.is_usable(NOW + timedelta(days=1) - timedelta(microseconds=1))
    assert not key.is_usable(NOW + timedelta(days=1))
    assert not key.is_usable(NOW + timedelta(days=2))


def test_a_revoked_key_is_not_usable():
    key = key_with(revoked_at=NOW - timedelta(seconds=1))
    assert not key.is_usable(NOW)
    assert not key_with(revoked_at=NOW).is_usable(NOW)


def test_a_key_in_its_rotation_grace_period_is_usable_until_it_ends():
    """revoked_at in the future is the end of the grace period: usable until then."""
    key = key_with(revoked_at=NOW + timedelta(hours=1))
    assert key.is_usable(NOW)
    assert key.is_usable(NOW + timedelta(minutes=59))
    assert not key.is_usable(NOW + timedelta(hours=1))
    assert not key.is_usable(NOW + timedelta(hours=2))


def test_the_earlier_of_expiry_and_revocation_wins():
    key = key_with(expires_at=NOW + timedelta(hours=1), revoked_at=NOW + timedelta(hours=2))
    assert key.is_usable(NOW)
    assert not key.is_usable(NOW + timedelta(minutes=90))
    key = key_with(expires_at=NOW + timedelta(hours=2), revoked_at=NOW + timedelta(hours=1))
    assert not key.is_usable(NOW + timedelta(minutes=90))
