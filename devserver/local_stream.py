"""The table's stream in moto, read the way Lambda's event source mapping reads a shard.

moto keeps a table's stream as one shard of every record ever written, and copies the
whole table, that list included, for each TransactWriteItems (to undo a cancelled one).
So a reader here also trims what it has read, as DynamoDB trims records after 24 hours:
a long `make dev` session or e2e run keeps its transactions as fast as a fresh one.

moto's records are read from its backend, under the lock that makes each DynamoDB
request atomic (devserver/embedded_aws.py), rather than through GetRecords: that call
leaves a new shard iterator behind in moto on every poll, and polling never stops.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from devserver.embedded_aws import REGION, dynamodb_paused


class LocalStream:
    def __init__(self, table_name: str) -> None:
        self.table_name = table_name

    def _table(self) -> Any:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        # Looked up on every read: a cancelled transaction puts back a copy of the table
        # (with a copy of its shard).
        return dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(self.table_name)

    def _shard(self) -> Any:
        shard = self._table().stream_shard
        if shard is None:
            raise RuntimeError(f"table {self.table_name} has no stream (embedded_aws(..., streams=True))")
        return shard

    @property
    def arn(self) -> str:
        table = self._table()
        return f"{table.table_arn}/stream/{table.latest_stream_label}"

    def latest(self) -> int:
        """The sequence number of the newest record (or just before the first to come):
        where a mapping with StartingPosition LATEST starts."""
        with dynamodb_paused():
            shard = self._shard()
            return int(shard.starting_sequence_number + len(shard.items) - 1)

    def read_after(self, sequence: int, limit: int = 1000) -> list[dict[str, Any]]:
        """Up to `limit` records written after `sequence`, oldest first, in the shape of a
        Lambda event's `Records` entries."""
        with dynamodb_paused():
            shard = self._shard()
            start = max(0, sequence + 1 - shard.starting_sequence_number)
            raw = [copy.deepcopy(record.record) for record in shard.items[start : start + limit]]
            arn = self.arn
        return [_lambda_record(record, arn) for record in raw]

    def trim_through(self, sequence: int) -> None:
        """Forget the records up to `sequence` (every reader has them)."""
        with dynamodb_paused():
            shard = self._shard()
            gone = max(0, min(len(shard.items), sequence + 1 - shard.starting_sequence_number))
            if gone:
                # moto numbers a new record `starting_sequence_number + len(items)`: both
                # move together, so numbers stay unique and increasing.
                del shard.items[:gone]
                shard.starting_sequence_number += gone


def _lambda_record(record: dict[str, Any], arn: str) -> dict[str, Any]:
    change = record["dynamodb"]
    created = change.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        change["ApproximateCreationDateTime"] = int(created.timestamp())
    return {**record, "eventVersion": "1.1", "eventSourceARN": arn}
