"""TransactWriteItems on moto at the cost of what it touches, not of the whole table.

moto undoes a cancelled transaction by deep-copying every table it names before it starts
(`DynamoDBBackend.transact_write_items`). On the local server's table of a few thousand
items that copy was 84% of the process's CPU under the soak (py-spy, 50 clients): each
transaction cost more the longer the server had run, and every request waited on it
(DynamoDB requests are serialized, `embedded_aws.serialize_dynamodb_requests`).

Here moto's own transaction still runs, unchanged in what it checks and answers; only its
copy is skipped (a table copies to itself), and before it starts the items it names are
copied, one by one, with the length of each stream. Whatever ends it early (a condition,
a validation error, the same item twice) puts those items back and drops the stream
records it added, so the table and its stream are as they were: what moto's copy gave.
"""

from __future__ import annotations

import copy
import functools
import threading
from dataclasses import dataclass
from typing import Any

_installed = False
_within_transaction = threading.local()


@dataclass
class _Saved:
    """One item a transaction names, as it was before: `item` None when there was none."""

    table: Any
    hash_key: Any
    range_key: Any
    item: Any


def _named_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Saved]:
    from moto.core.exceptions import JsonRESTError
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: list[_Saved] = []
    for entry in transact_items:
        try:
            (operation, request), *_ = entry.items()
            table = backend.tables[request["TableName"]]
            key = request["Item"] if operation == "Put" else request["Key"]
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_key, range_key)
        except (AttributeError, KeyError, TypeError, ValueError, JsonRESTError):
            continue  # malformed: moto answers it itself, and writes nothing for it
        saved.append(_Saved(table, hash_key, range_key, copy.deepcopy(current)))
    return saved


def _put_back(saved: list[_Saved], stream_lengths: dict[int, tuple[Any, int]]) -> None:
    for entry in reversed(saved):  # the first copy of an item named twice wins
        items = entry.table.items
        if entry.range_key is None:
            if entry.item is None:
                items.pop(entry.hash_key, None)
            else:
                items[entry.hash_key] = entry.item
        elif entry.item is None:
            items.get(entry.hash_key, {}).pop(entry.range_key, None)
        else:
            items[entry.hash_key][entry.range_key] = entry.item
    for shard, length in stream_lengths.values():
        del shard.items[length:]


def _table_copy(table: Any, memo: dict[int, Any]) -> Any:
    """Within a transaction, the table itself (its items are saved one by one instead);
    anywhere else (a backup), what `copy.deepcopy` does for any object: a copy of each
    attribute."""
    if getattr(_within_transaction, "active", False):
        return table
    clone = object.__new__(type(table))
    memo[id(table)] = clone
    for name, value in vars(table).items():
        setattr(clone, name, copy.deepcopy(value, memo))
    return clone


def transactions_copy_only_what_they_touch() -> None:
    """Install the item-by-item undo in moto (once per process; it holds for every mock)."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    transact = DynamoDBBackend.transact_write_items

    @functools.wraps(transact)
    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        saved = _named_items(self, transact_items)
        streams = {
            id(entry.table): (entry.table.stream_shard, len(entry.table.stream_shard.items))
            for entry in saved
            if entry.table.stream_shard is not None
        }
        _within_transaction.active = True
        try:
            transact(self, transact_items)
        except BaseException:
            _put_back(saved, streams)
            raise
        finally:
            _within_transaction.active = False

    Table.__deepcopy__ = _table_copy  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
    _installed = True
