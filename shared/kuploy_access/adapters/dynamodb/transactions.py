"""TransactWriteItems with named parts, so a refusal says which condition failed.

PynamoDB sends a transaction's parts grouped by kind (condition checks, deletes,
puts, updates), and DynamoDB's cancellation reasons follow that order; this keeps
the labels in the same order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from kuploy_access.adapters.dynamodb.models import TableItem
from kuploy_access.adapters.retry_policy import (
    DYNAMODB,
    TRANSACTION_ATTEMPTS,
    transaction_backoff,
    transient_cancellation,
)
from kuploy_access.config import settings
from kuploy_access.domain.errors import ServiceUnavailable


@lru_cache(maxsize=1)
def table_connection() -> Connection:
    """One connection per container for transactions and mixed batch reads (building a
    botocore client costs milliseconds). Not a model's: PynamoDB caches a connection on
    the model class and describes the table from that class's fields, so borrowing the
    base model's would leave subclasses that inherit it without their index."""
    return Connection(
        region=settings().region,
        connect_timeout_seconds=DYNAMODB.connect_timeout,
        read_timeout_seconds=DYNAMODB.read_timeout,
        max_retry_attempts=DYNAMODB.attempts - 1,
    )


class ConditionFailed(Exception):
    def __init__(self, labels: set[str]) -> None:
        super().__init__(", ".join(sorted(labels)))
        self.labels = labels


class Transaction:
    """Parts chain, so a multi-item write reads as one sentence:

        Transaction().update("org", org_ref(org_id), actions, live_org()).put("audit", audit_item(event)).commit()

    Each part is labelled; `commit` names the labels whose condition did not hold."""

    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or table_connection()
        self._parts: dict[str, list[tuple[str, Callable[[TransactWrite], None]]]] = {
            "check": [],
            "delete": [],
            "put": [],
            "update": [],
        }

    def check(self, label: str, item: TableItem, condition: Condition) -> Transaction:
        """A condition on an item that this transaction does not write (only its key is read)."""
        model, pk, sk = type(item), item.pk, item.sk
        self._parts["check"].append((label, lambda tx: tx.condition_check(model, pk, sk, condition=condition)))
        return self

    def delete(self, label: str, item: TableItem, condition: Condition | None = None) -> Transaction:
        self._parts["delete"].append((label, lambda tx: tx.delete(item, condition=condition)))
        return self

    def put(self, label: str, item: TableItem, condition: Condition | None = None) -> Transaction:
        self._parts["put"].append((label, lambda tx: tx.save(item, condition=condition)))
        return self

    def update(
        self, label: str, item: TableItem, actions: list[Action], condition: Condition | None = None
    ) -> Transaction:
        self._parts["update"].append((label, lambda tx: tx.update(item, actions=actions, condition=condition)))
        return self

    def commit(self) -> None:
        """Raise ConditionFailed naming the parts whose condition did not hold.

        A cancellation that another try can clear (another transaction held an item, a
        partition was throttled: botocore retries neither) is tried again after a
        jittered pause, TRANSACTION_ATTEMPTS times in all; then ServiceUnavailable. A
        cancelled transaction wrote nothing, so each try starts from the same table."""
        ordered = [part for kind in ("check", "delete", "put", "update") for part in self._parts[kind]]
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                # A token per try: botocore's own retries of this call (a timeout after
                # DynamoDB applied it) then replay it idempotently rather than fail its
                # conditions against its own writes.
                with TransactWrite(connection=self._connection, client_request_token=uuid.uuid4().hex) as transaction:
                    for _, add in ordered:
                        add(transaction)
                return
            except TransactWriteError as error:
                reasons: list[Any] = list(error.cancellation_reasons or [])
                failed = {
                    label
                    for (label, _), reason in zip(ordered, reasons, strict=False)
                    if reason is not None and reason.code == "ConditionalCheckFailed"
                }
                if failed:
                    raise ConditionFailed(failed) from None
                if not transient_cancellation(getattr(reason, "code", None) for reason in reasons):
                    raise
                if attempt == TRANSACTION_ATTEMPTS:
                    raise ServiceUnavailable("The write kept conflicting with others; try again shortly") from error
                time.sleep(transaction_backoff(attempt))
