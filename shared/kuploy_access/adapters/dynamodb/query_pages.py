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


@dataclass(frozen=True)
class ItemPage(Generic[M]):
    items: list[M]
    next_cursor: str | None


@dataclass(frozen=True)
class ByIndex:
    """Query gsi1 rather than the table. An index key need not be unique, so DynamoDB
    resumes an index Query from the index keys *and* the table keys of the last item:
    the cursor carries all of them, and a cursor's table keys must start with
    `pk_prefix` and `sk_prefix`, those of the items the index lists."""

    index: Gsi1
    pk_prefix: str
    sk_prefix: str


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
) -> ItemPage[M]:
    """One Query for `limit` + 1 items: the extra one only tells whether a next page exists.

    `partition` and `sk_prefix` are the table's pk and sk, or with `by_index` the index's
    gsi1pk and gsi1sk. With a `filter_condition`, DynamoDB drops the items that do not
    match after reading them, and PynamoDB asks again from where it stopped until it holds
    `limit` + 1 matches or the partition ends: a page is full whenever enough items match,
    and reads past every item that does not (more than one request when there are many).
    """
    if by_index is None:
        prefixes = {_SORT_KEY: sk_prefix}
        start_names = {"pk": partition}
        query: Any = model.query
        sort_condition = TableItem.sk.startswith(sk_prefix)
    else:
        prefixes = {_SORT_KEY: sk_prefix, "pk": by_index.pk_prefix, "sk": by_index.sk_prefix}
        start_names = {"gsi1pk": partition}
        query = by_index.index.query
        sort_condition = Gsi1.gsi1sk.startswith(sk_prefix)
    start: dict[str, Any] | None = None
    if cursor:
        keys = decode_cursor(cursor, prefixes)
        sort_name = "sk" if by_index is None else "gsi1sk"
        start_names[sort_name] = keys.pop(_SORT_KEY)
        start = {name: {"S": value} for name, value in {**start_names, **keys}.items()}
    results = query(
        partition,
        sort_condition,
        filter_condition=filter_condition,
        limit=limit + 1,
        last_evaluated_key=start,
        scan_index_forward=not newest_first,
    )
    items: list[M] = list(results)
    if len(items) <= limit:
        return ItemPage(items, None)
    last: Any = items[limit - 1]
    if by_index is None:
        return ItemPage(items[:limit], encode_cursor({_SORT_KEY: last.sk}))
    return ItemPage(items[:limit], encode_cursor({_SORT_KEY: last.gsi1sk, "pk": last.pk, "sk": last.sk}))
