"""DynamoDB capacity units per request, computed from the items' sizes, and their price.

moto answers ReturnConsumedCapacity with constants (0.5 for every GetItem, 1 for every
Query, whatever was read), so the bench computes what on-demand DynamoDB bills from the
items themselves, by DynamoDB's published rules:

- reads in 4 KB units, rounded up per item (GetItem, BatchGetItem, TransactGetItems) or
  once over all the items a Query or Scan read (its ScannedCount, before any filter);
  strongly consistent 1 unit, eventually consistent 0.5; a read that finds nothing
  still costs one unit (0.5 eventual);
- writes in 1 KB units of the larger of the item's before and after images, at least
  1 per item (PutItem, UpdateItem, DeleteItem, BatchWriteItem); a write its condition
  refuses still costs the units of the item it looked at;
- transactions double: 2 units per KB for every action of TransactWriteItems
  (ConditionCheck included: the conservative reading) and 2 per 4 KB in TransactGetItems;
  a cancelled transaction is counted as if it had run (what DynamoDB bills for the
  actions it prepared; the conservative reading again);
- each write also writes the global secondary index gsi1 (projection ALL) when the item
  is in it before or after: one index write of the item's size, two when the index key
  changes (the old entry deleted, the new one put), doubled inside transactions.

An item's size is DynamoDB's: attribute names and string values in UTF-8 bytes, numbers
1 byte per two significant digits plus 1, binary their bytes, booleans and nulls 1 byte,
lists and maps 3 bytes plus 1 per element plus their elements.

The hooks join botocore's built-in handlers (as `bench.flows.install_counter` does), so
every session reports; the before-image of a write is read from moto's backend before
the call, the after-image after it. The items a Query or Scan read are taken from moto's
own table while it answers (`_record_scanned`).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024
GSI_KEYS = ("gsi1pk", "gsi1sk")

# On-demand request-unit prices, us-east-1, taken 2026-12-03 from
# https://aws.amazon.com/dynamodb/pricing/on-demand/ (halved in November 2024).
PRICE_REGION = "us-east-1"
PRICE_TAKEN = "2026-12-03"
USD_PER_MILLION_WRITE_UNITS = 0.625
USD_PER_MILLION_READ_UNITS = 0.125
SOURCE = "computed from item sizes (moto returns constants)"


@dataclass(frozen=True)
class Units:
    """Read and write request units of one request, or of several added together."""

    read: float = 0.0
    write: float = 0.0

    def __add__(self, other: Units) -> Units:
        return Units(self.read + other.read, self.write + other.write)

    @property
    def usd_per_million(self) -> float:
        """What one million operations of this shape cost at on-demand prices."""
        return self.read * USD_PER_MILLION_READ_UNITS + self.write * USD_PER_MILLION_WRITE_UNITS


def total(units: Iterable[Units]) -> Units:
    result = Units()
    for one in units:
        result = result + one
    return result


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def value_size(value: dict[str, Any]) -> int:
    """One attribute value in DynamoDB's wire form ({"S": ...}, {"N": ...}, ...)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode("utf-8"))
    if kind == "N":
        return _number_size(str(inner))
    if kind == "B":
        return len(inner) if isinstance(inner, bytes) else len(str(inner).encode("utf-8")) * 3 // 4
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(_number_size(str(v)) for v in inner)
    if kind == "BS":
        return sum(value_size({"B": v}) for v in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + value_size(v) for k, v in inner.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def read_units(size: int, consistent: bool) -> float:
    return max(math.ceil(size / READ_UNIT_BYTES), 1) * (1.0 if consistent else 0.5)


def write_units(before: dict[str, Any] | None, after: dict[str, Any] | None) -> float:
    """The table's write units and its index's, for one item's before and after images."""
    units = max(math.ceil(max(item_size(before), item_size(after)) / WRITE_UNIT_BYTES), 1)
    return float(units + _index_writes(before, after))


def _index_key(item: dict[str, Any] | None) -> tuple[str, ...] | None:
    if not item or not all(key in item for key in GSI_KEYS):
        return None
    return tuple(json.dumps(item[key], sort_keys=True) for key in GSI_KEYS)


def _index_writes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> int:
    if before == after:
        return 0  # nothing written (a refused condition): nothing to propagate
    old, new = _index_key(before), _index_key(after)
    if old is None and new is None:
        return 0

    def units(item: dict[str, Any] | None) -> int:
        return max(math.ceil(item_size(item) / WRITE_UNIT_BYTES), 1)

    if old is not None and new is not None and old != new:
        return units(before) + units(after)
    return units(after if new is not None else before)


# -- moto's side: the stored items, and what a Query or Scan read ----------------------


def _table(name: str) -> Any:
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from devserver.embedded_aws import REGION

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables.get(name)


def stored(table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
    """The whole item under `key` as moto holds it now, in wire form (None: absent)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    table = _table(table_name)
    if table is None:
        return None
    hash_key = DynamoType(key[table.hash_key_attr])
    range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    item = table.get_item(hash_key, range_key)
    return None if item is None else dict(item.to_json()["Attributes"])


_local = threading.local()


def _scanned() -> list[int]:
    if not hasattr(_local, "scanned"):
        _local.scanned = []
    sizes: list[int] = _local.scanned
    return sizes


def _record_scanned(original: Callable[..., Any], filter_name: str, projection_name: str) -> Callable[..., Any]:
    """Wrap moto's Table.query / Table.scan: the sizes of the items it read (before its
    filter and projection, as DynamoDB bills them) are noted for the request's hook."""

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        answer = original(self, *args, **kwargs)
        read = answer[0]
        if kwargs.get(filter_name) is not None or kwargs.get(projection_name):
            unfiltered = {**kwargs, filter_name: None, projection_name: None}
            read = original(self, *args, **unfiltered)[0]
        _scanned().append(sum(item_size(item.to_json()["Attributes"]) for item in read))
        return answer

    return wrapper


def _patch_moto() -> None:
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "_bench_capacity", False):
        return
    query = _record_scanned(Table.query, "filter_expression", "projection_expressions")
    scan = _record_scanned(Table.scan, "filter_expression", "projection_expression")
    query._bench_capacity = True  # type: ignore[attr-defined]
    Table.query = query  # type: ignore[method-assign]
    Table.scan = scan  # type: ignore[method-assign]


# -- the botocore hooks -------------------------------------------------------------------


def _key_of(action: dict[str, Any]) -> dict[str, Any]:
    if "Key" in action:
        return dict(action["Key"])
    table = _table(action["TableName"])
    names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
    return {name: action["Item"][name] for name in names}


@dataclass
class _Write:
    table: str
    key: dict[str, Any]
    before: dict[str, Any] | None


@dataclass
class CapacityMeter:
    """The units of every DynamoDB request botocore makes, in order (as `DynamoDBCalls`)."""

    units: list[Units] = field(default_factory=list)

    def since(self, index: int) -> Units:
        return total(self.units[index:])

    def before(self, event_name: str = "", params: dict[str, Any] | None = None, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        body = (params or {}).get("body") or b"{}"
        request = json.loads(body if isinstance(body, str) else body.decode("utf-8"))
        _local.request = (operation, request, self._writes(operation, request))
        _scanned().clear()

    def after(self, **_: Any) -> None:
        operation, request, writes = _local.request
        self.units.append(self._units(operation, request, writes))

    @staticmethod
    def _writes(operation: str, request: dict[str, Any]) -> list[_Write]:
        actions: list[tuple[str, dict[str, Any]]] = []
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            actions.append((request["TableName"], request))
        elif operation == "BatchWriteItem":
            for table, entries in request.get("RequestItems", {}).items():
                for entry in entries:
                    ((_, action),) = entry.items()
                    actions.append((table, {"TableName": table, **action}))
        elif operation == "TransactWriteItems":
            for entry in request.get("TransactItems", []):
                ((_, action),) = entry.items()
                actions.append((action["TableName"], action))
        writes = []
        for table, action in actions:
            key = _key_of(action)
            writes.append(_Write(table, key, stored(table, key)))
        return writes

    @staticmethod
    def _units(operation: str, request: dict[str, Any], writes: list[_Write]) -> Units:
        if operation == "GetItem":
            found = stored(request["TableName"], request["Key"])
            return Units(read=read_units(item_size(found), bool(request.get("ConsistentRead"))))
        if operation == "BatchGetItem":
            read = 0.0
            for table, asked in request.get("RequestItems", {}).items():
                consistent = bool(asked.get("ConsistentRead"))
                read += sum(read_units(item_size(stored(table, key)), consistent) for key in asked["Keys"])
            return Units(read=read)
        if operation == "TransactGetItems":
            read = sum(
                2 * read_units(item_size(stored(entry["Get"]["TableName"], entry["Get"]["Key"])), True)
                for entry in request.get("TransactItems", [])
            )
            return Units(read=read)
        if operation in ("Query", "Scan"):
            size = sum(_scanned())
            return Units(read=read_units(size, bool(request.get("ConsistentRead"))))
        if writes:
            factor = 2.0 if operation == "TransactWriteItems" else 1.0
            cancelled_or_refused = all(stored(w.table, w.key) == w.before for w in writes)
            write = 0.0
            for w in writes:
                after = w.before if cancelled_or_refused else stored(w.table, w.key)
                if cancelled_or_refused and operation == "TransactWriteItems":
                    # Counted as if it had run: the write it would have made, not nothing.
                    write += factor * max(math.ceil(item_size(w.before) / WRITE_UNIT_BYTES), 1)
                else:
                    write += factor * write_units(w.before, after)
            return Units(write=write)
        return Units()


_meter = CapacityMeter()
_installed = False


def install() -> CapacityMeter:
    """Hook every botocore session created from now on. Call before any session exists."""
    global _installed
    if not _installed:
        import botocore.handlers

        _patch_moto()
        botocore.handlers.BUILTIN_HANDLERS.append(("before-call.dynamodb", _meter.before))
        botocore.handlers.BUILTIN_HANDLERS.append(("after-call.dynamodb", _meter.after))
        _installed = True
    return _meter


def describe_units(value: float) -> str:
    return f"{value:g}"


def cost_text(units: Units) -> str:
    return f"${Decimal(str(round(units.usd_per_million, 4))).normalize():f}"
