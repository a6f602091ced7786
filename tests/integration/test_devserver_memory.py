"""The local server's memory stays flat under load: what a request makes is not kept.

moto keeps every model object it creates for its dashboard, and each TransactWriteItems
deep-copies the whole table (to undo a cancelled one), so without
devserver.embedded_aws.stop_tracking_model_instances every transaction kept a copy of
every item: the soak's server (tools/soak) grew by gigabytes in minutes. Counted in
objects, not bytes or seconds, so the bound holds on any machine."""

from __future__ import annotations

import contextlib
import gc
from typing import Any

import boto3

from devserver.embedded_aws import REGION
from tests.integration.support import table_name

ITEMS = 50
TRANSACTIONS = 40


def _live_items() -> int:
    from moto.dynamodb.models.dynamo_type import Item

    gc.collect()
    return sum(1 for obj in gc.get_objects() if type(obj) is Item)


def _put(client: Any, pk: str, sk: str) -> dict[str, Any]:
    return {"Put": {"TableName": table_name(), "Item": {"pk": {"S": pk}, "sk": {"S": sk}}}}


def test_transactions_keep_no_copy_of_the_table(aws: Any) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    for number in range(ITEMS):
        client.put_item(TableName=table_name(), Item={"pk": {"S": f"SEED#{number}"}, "sk": {"S": "A"}})
    before = _live_items()

    for number in range(TRANSACTIONS):
        client.transact_write_items(
            TransactItems=[_put(client, f"NEW#{number}", "A"), _put(client, f"NEW#{number}", "B")]
        )
    for number in range(TRANSACTIONS):  # cancelled ones: moto puts its copy of the table back
        with contextlib.suppress(client.exceptions.TransactionCanceledException):
            client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": table_name(),
                            "Key": {"pk": {"S": f"SEED#{number}"}, "sk": {"S": "A"}},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    }
                ]
            )

    # The new items (and what a request holds for a moment), not ITEMS copies per transaction.
    grown = _live_items() - before
    assert grown <= 2 * TRANSACTIONS + ITEMS, f"{grown} more moto items live after {2 * TRANSACTIONS} transactions"
