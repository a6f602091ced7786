"""Keyset pagination over a Query: the cursor is the last key of the page, so every
page costs one Query however large the partition is.

A cursor is opaque to clients (base64 of JSON naming the keys) and checked when it
comes back: it must name exactly the keys of the list it is sent to, each starting with
the prefix that key has in that list. So a forged, truncated or foreign cursor is
ValidationFailed, never a start key that DynamoDB refuses ("outside query boundaries")
and never a 500.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from kuploy_access.adapters.dynamodb.models import Gsi1, TableItem
from kuploy_access.domain.errors import ValidationFailed

M = TypeVar("M", bound=Model)

# The queried sort key (the table's sk, or the index's gsi1sk) is "k" in a cursor: what
# every cursor held before index queries had cursors, so those still work.
_SORT_KEY = "k"
_INDEX = "ix"
_INDEX_NAME = "gsi1"
# Above every character DynamoDB can hold in a string (it compares UTF-8 bytes).
_HIGHEST_CHARACTER = "\U0010ffff"


@dataclass(frozen=True)
class ItemPage(Generic[M]):
    items: list[M]
    next_cursor: str | None


@dataclass(frozen=True)
class ByIndex:
    """Query gsi1 rather than the table. Every list read through the index has index
    sort keys unique within their partition (an id after a prefix), so a page resumes
    from the key condition `gsi1sk` after the cursor's, and the cursor names that key
    only: never the table keys of the item (an API key's is the hash of its secret)."""

    index: Gsi1


def encode_cursor(keys: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, prefixes: dict[str, str]) -> dict[str, str]:
    """The keys a cursor names, if it names exactly those of `prefixes`, each starting
    with its prefix; ValidationFailed otherwise."""
    refused = ValidationFailed("The cursor is not one this API gave out")
    try:
        keys = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError):  # binascii.Error and JSONDecodeError are ValueErrors
        raise refused from None
    if not isinstance(keys, dict) or set(keys) != set(prefixes):
        raise refused
    for name, prefix in prefixes.items():
        value = keys[name]
        if not isinstance(value, str) or not value.startswith(prefix) or not _utf8(value):
            raise refused
    return keys


def _utf8(value: str) -> bool:
    # JSON may spell a lone surrogate ("\ud800"), which no request to DynamoDB can carry.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def query_page(
    model: type[M],
    partition: str,
    sk_prefix: str,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
    filter_condition: Condition | None = None,
    by_index: ByIndex | None = None,
    read_budget: int | None = None,
) -> ItemPage[M]:
    """One Query for `limit` + 1 items: the extra one only tells whether a next page exists.

    `partition` and `sk_prefix` are the table's pk and sk, or with `by_index` the index's
    gsi1pk and gsi1sk. With a `filter_condition`, DynamoDB drops the items that do not
    match after reading them, and PynamoDB asks again from where it stopped until it holds
    `limit` + 1 matches or the partition ends: a page is full whenever enough items match,
    and reads past every item that does not (more than one request when there are many).

    With a `read_budget` too (table queries only), the reading also stops once that many
    items were read: the page then holds the matches so far, however few, and its cursor
    is the last key read, so the next page goes on from there (see `_read_within_budget`).
    """
    # An index's cursor also names the index, so that a table list's cursor with the same
    # sort key prefix (an organization's invitations; an invitee's) is refused by the other.
    names = {_SORT_KEY: sk_prefix} if by_index is None else {_SORT_KEY: sk_prefix, _INDEX: _INDEX_NAME}
    after: str | None = decode_cursor(cursor, names)[_SORT_KEY] if cursor else None
    if read_budget is not None and by_index is not None:
        raise ValueError("a read budget bounds table queries only")
    items: list[M]
    if filter_condition is not None and read_budget is not None:
        items, stopped_at = _read_within_budget(
            model, partition, sk_prefix, limit, after, newest_first, filter_condition, read_budget
        )
        if len(items) <= limit and stopped_at is not None:
            return ItemPage(items, encode_cursor({_SORT_KEY: stopped_at}))
    elif by_index is None:
        start = {"pk": {"S": partition}, "sk": {"S": after}} if after is not None else None
        results = model.query(
            partition,
            TableItem.sk.startswith(sk_prefix),
            filter_condition=filter_condition,
            limit=limit + 1,
            last_evaluated_key=start,
            scan_index_forward=not newest_first,
        )
        items = list(results)
    else:
        sort_condition: Condition = Gsi1.gsi1sk.startswith(sk_prefix)
        if after is not None:
            # Both ends of BETWEEN are inclusive: the cursor's own item is read again
            # (one more than the page) and dropped.
            sort_condition = (
                Gsi1.gsi1sk.between(sk_prefix, after)
                if newest_first
                else Gsi1.gsi1sk.between(after, sk_prefix + _HIGHEST_CHARACTER)
            )
        results = by_index.index.query(
            partition,
            sort_condition,
            filter_condition=filter_condition,
            limit=limit + (2 if after is not None else 1),
            scan_index_forward=not newest_first,
        )
        items = [item for item in results if item.gsi1sk != after]  # type: ignore[attr-defined]
    if len(items) <= limit:
        return ItemPage(items, None)
    last: Any = items[limit - 1]
    if by_index is None:
        return ItemPage(items[:limit], encode_cursor({_SORT_KEY: last.sk}))
    return ItemPage(items[:limit], encode_cursor({_SORT_KEY: last.gsi1sk, _INDEX: _INDEX_NAME}))


def _read_within_budget(
    model: type[M],
    partition: str,
    sk_prefix: str,
    limit: int,
    after: str | None,
    newest_first: bool,
    filter_condition: Condition,
    read_budget: int,
) -> tuple[list[M], str | None]:
    """The matches of a filtered table Query from `after` on, until `limit` + 1 match,
    the partition ends or `read_budget` items were read; and the sort key of the last
    item read when the budget stopped it with the partition not (known to be) over.

    DynamoDB's Limit counts the items a request reads, before the filter. The first
    request reads `limit` + 1, what a page needs when everything matches; each next one
    twice as many, within what is left of the budget: a dense filter costs what an
    unfiltered page does, a sparse one a few requests, a never-matching one the budget."""
    start = {"pk": {"S": partition}, "sk": {"S": after}} if after is not None else None
    pages = model.query(
        partition,
        TableItem.sk.startswith(sk_prefix),
        filter_condition=filter_condition,
        page_size=min(limit + 1, read_budget),
        last_evaluated_key=start,
        scan_index_forward=not newest_first,
    ).page_iter
    items: list[M] = []
    for page in pages:  # one Query each
        items.extend(model.from_raw_data(raw) for raw in page.get("Items", []))
        last_read = pages.last_evaluated_key
        if len(items) > limit or last_read is None:
            return items, None
        left = read_budget - pages.total_scanned_count
        if left <= 0:
            return items, str(last_read["sk"]["S"])
        pages.page_size = min(2 * (pages.page_size or 1), left)
    return items, None
