"""The local server's transactions (devserver/moto_transactions.py): moto's own checks and
answers, undone item by item instead of by a copy of the whole table. A cancelled one
leaves the table and its stream exactly as they were; a transaction's cost does not grow
with the table (counted in item copies, so it holds on any machine)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devserver.embedded_aws import REGION
from tests.integration.support import table_name

STREAMED = "streamed"


@pytest.fixture
def client(aws: Any) -> Any:
    return boto3.client("dynamodb", region_name=REGION)


def key(pk: str, sk: str = "A") -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def put(pk: str, sk: str = "A", table: str | None = None, **values: str) -> dict[str, Any]:
    item = key(pk, sk) | {name: {"S": value} for name, value in values.items()}
    return {"Put": {"TableName": table or table_name(), "Item": item}}


def everything(client: Any, table: str | None = None) -> list[dict[str, Any]]:
    items = client.scan(TableName=table or table_name(), ConsistentRead=True)["Items"]
    return sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))


def seed(client: Any, count: int = 3, table: str | None = None) -> None:
    for number in range(count):
        client.put_item(**put(f"SEED#{number}", table=table, n="1")["Put"])


def three_writes(table: str | None = None) -> list[dict[str, Any]]:
    """A new item, a change of one that exists and the deletion of another."""
    name = table or table_name()
    return [
        put("NEW#1", table=name, n="1"),
        {
            "Update": {
                "TableName": name,
                "Key": key("SEED#0"),
                "UpdateExpression": "SET n = :two, added = :yes",
                "ExpressionAttributeValues": {":two": {"S": "2"}, ":yes": {"S": "yes"}},
            }
        },
        {"Delete": {"TableName": name, "Key": key("SEED#1")}},
    ]


def failing_condition(table: str | None = None) -> dict[str, Any]:
    return {
        "ConditionCheck": {
            "TableName": table or table_name(),
            "Key": key("SEED#2"),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def cancelled(client: Any, items: list[dict[str, Any]]) -> ClientError:
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=items)
    return raised.value


def test_a_transaction_cancelled_by_its_last_condition_leaves_the_table_as_it_was(client):
    seed(client)
    before = everything(client)

    error = cancelled(client, [*three_writes(), failing_condition()])

    assert error.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [reason["Code"] for reason in error.response["CancellationReasons"]]
    assert reasons == ["None", "None", "None", "ConditionalCheckFailed"]
    assert everything(client) == before


def test_a_transaction_cancelled_by_a_bad_update_leaves_the_table_as_it_was(client):
    seed(client)
    before = everything(client)
    adds_a_number_to_a_string = {
        "Update": {
            "TableName": table_name(),
            "Key": key("SEED#2"),
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }

    error = cancelled(client, [*three_writes(), adds_a_number_to_a_string])

    assert error.response["Error"]["Code"] in ("TransactionCanceledException", "ValidationException")
    assert everything(client) == before


def test_naming_one_item_twice_is_refused_and_writes_nothing(client):
    seed(client)
    before = everything(client)

    error = cancelled(client, [*three_writes(), put("NEW#1", n="again")])

    assert error.response["Error"]["Code"] == "ValidationException"
    assert everything(client) == before


def test_a_committed_transaction_writes_all_of_it(client):
    seed(client)

    client.transact_write_items(TransactItems=three_writes())

    found = {(item["pk"]["S"], item["sk"]["S"]): item for item in everything(client)}
    assert set(found) == {("NEW#1", "A"), ("SEED#0", "A"), ("SEED#2", "A")}
    assert found[("SEED#0", "A")]["n"] == {"S": "2"}
    assert found[("SEED#0", "A")]["added"] == {"S": "yes"}


@pytest.fixture
def streamed_table(client: Any) -> Iterator[Any]:
    client.create_table(
        TableName=STREAMED,
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    yield dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[STREAMED]


def test_a_cancelled_transaction_adds_nothing_to_the_stream_and_a_committed_one_its_writes(client, streamed_table):
    seed(client, table=STREAMED)
    before = len(streamed_table.stream_shard.items)

    cancelled(client, [*three_writes(STREAMED), failing_condition(STREAMED)])
    assert len(streamed_table.stream_shard.items) == before
    assert len(everything(client, STREAMED)) == 3

    client.transact_write_items(TransactItems=three_writes(STREAMED))
    events = [record.record["eventName"] for record in streamed_table.stream_shard.items[before:]]
    assert events == ["INSERT", "MODIFY", "REMOVE"]


def test_a_transaction_copies_the_items_it_names_not_the_table(client, monkeypatch):
    from moto.dynamodb.models.dynamo_type import Item

    seed(client, count=300)
    copies = 0
    copy_item = Item.__deepcopy__

    def counted(self: Any, memo: Any) -> Any:
        nonlocal copies
        copies += 1
        return copy_item(self, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counted)

    client.transact_write_items(TransactItems=three_writes())
    committed = copies
    cancelled(client, [put("NEW#2"), failing_condition()])

    assert committed <= 2 * len(three_writes()), committed
    assert copies - committed <= 2 * 2, copies - committed


def test_a_backup_is_still_a_copy_of_the_table(client):
    seed(client)
    arn = client.create_backup(TableName=table_name(), BackupName="before")["BackupDetails"]["BackupArn"]
    client.transact_write_items(TransactItems=three_writes())

    client.restore_table_from_backup(TargetTableName="restored", BackupArn=arn)

    assert [item["pk"]["S"] for item in everything(client, "restored")] == ["SEED#0", "SEED#1", "SEED#2"]


def test_an_entry_with_half_its_key_cancels_what_came_before_it(client):
    seed(client)
    before = everything(client)
    half_a_key = {
        "ConditionCheck": {
            "TableName": table_name(),
            "Key": {"pk": {"S": "SEED#2"}},
            "ConditionExpression": "attribute_exists(pk)",
        }
    }

    error = cancelled(client, [*three_writes(), half_a_key])

    assert error.response["Error"]["Code"] in ("TransactionCanceledException", "ValidationException")
    assert everything(client) == before
