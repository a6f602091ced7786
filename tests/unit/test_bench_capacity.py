"""bench/capacity.py: DynamoDB's on-demand rules, item sizes and prices (issue 16)."""

from __future__ import annotations

import pytest
from bench import capacity
from bench.capacity import Units, item_size, read_units, value_size, write_units


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "abc"}, 3),
        ({"S": "é"}, 2),
        ({"N": "123"}, 3),  # 3 significant digits: 2 bytes + 1
        ({"N": "1000"}, 2),  # trailing zeros trimmed
        ({"N": "-12.5"}, 3),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["a", "bc"]}, 3),
        ({"L": [{"S": "a"}, {"N": "1"}]}, 3 + 2 + 1 + 2),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
    ],
)
def test_value_sizes_follow_dynamodb(value, size):
    assert value_size(value) == size


def test_an_items_size_counts_its_attribute_names():
    assert item_size({"pk": {"S": "USER#1"}, "sk": {"S": "PROFILE"}}) == 2 + 6 + 2 + 7
    assert item_size(None) == 0


def test_reads_are_4_kb_units_half_when_eventual_and_never_free():
    assert read_units(0, consistent=True) == 1
    assert read_units(0, consistent=False) == 0.5
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1


def _item(size: int, **extra: str) -> dict:
    base = {"pk": {"S": "p"}, "sk": {"S": "s"}, **{k: {"S": v} for k, v in extra.items()}}
    padding = size - item_size(base) - len("pad")
    return {**base, "pad": {"S": "x" * padding}}


def test_writes_are_1_kb_units_of_the_larger_image():
    assert write_units(None, _item(1024)) == 1
    assert write_units(None, _item(1025)) == 2
    assert write_units(_item(3000), _item(100)) == 3
    assert write_units(_item(100), None) == 1  # a delete
    assert write_units(None, None) == 1  # a write its condition refused, on nothing


def test_writes_to_an_indexed_item_also_write_the_index():
    indexed = _item(500, gsi1pk="A", gsi1sk="1")
    assert write_units(None, indexed) == 2  # table + index put
    moved = {**indexed, "gsi1pk": {"S": "B"}}
    assert write_units(indexed, moved) == 3  # table + index delete + index put
    assert write_units(indexed, None) == 2  # table + index delete
    assert write_units(indexed, indexed) == 1  # nothing changed: nothing propagated


def test_cost_of_a_million_operations_uses_the_stated_prices():
    assert capacity.USD_PER_MILLION_WRITE_UNITS == 0.625
    assert capacity.USD_PER_MILLION_READ_UNITS == 0.125
    assert Units(read=4, write=2).usd_per_million == pytest.approx(4 * 0.125 + 2 * 0.625)
    assert capacity.cost_text(Units(read=4.5, write=18)) == "$11.8125"
