"""Prefixed, time-sortable ids."""

from __future__ import annotations

import random
import re

from kuploy_access.domain.ids import new_id

CROCKFORD = re.compile(r"^[0-9abcdefghjkmnpqrstvwxyz]{26}$")


def test_ids_carry_their_prefix_and_a_crockford_body():
    value = new_id("usr")
    prefix, _, body = value.partition("_")
    assert prefix == "usr"
    assert CROCKFORD.match(body), value


def test_other_prefixes():
    assert new_id("ses").startswith("ses_")
    assert new_id("org", now_ms=1).startswith("org_")


def test_the_time_part_encodes_the_milliseconds():
    first = new_id("usr", now_ms=0)
    assert first[4:14] == "0" * 10
    assert new_id("usr", now_ms=31)[4:14] == "000000000z"
    assert new_id("usr", now_ms=32)[4:14] == "0000000010"


def test_ids_made_at_increasing_milliseconds_sort_in_order():
    moments = [0, 1, 31, 32, 999, 1_000, 1_023, 1_024, 1_700_000_000_000, 1_700_000_000_001, 2**47, 2**48 - 1]
    ids = [new_id("usr", now_ms=ms) for ms in moments]
    assert sorted(ids) == ids
    shuffled = list(ids)
    random.Random(7).shuffle(shuffled)
    assert shuffled != ids
    assert sorted(shuffled) == ids


def test_ids_follow_the_clock_by_default():
    import time

    before = int(time.time() * 1000)
    made = new_id("usr")
    after = int(time.time() * 1000)
    assert new_id("usr", now_ms=before - 1) < made
    assert made < new_id("usr", now_ms=after + 1)


def test_ids_are_unique_even_in_the_same_millisecond():
    ids = {new_id("ses", now_ms=1_700_000_000_000) for _ in range(2_000)}
    assert len(ids) == 2_000


def test_ids_are_unique_by_default():
    ids = {new_id("usr") for _ in range(2_000)}
    assert len(ids) == 2_000
