"""One BatchGetItem for items of different shapes (an invitation and an account, an
organization and a membership): each key names the model that reads its item."""

from __future__ import annotations

from typing import Any, TypeVar

from pynamodb.models import Model

from kuploy_access.adapters.dynamodb.transactions import table_connection
from kuploy_access.config import settings

M = TypeVar("M", bound=Model)
Key = tuple[str, str]


def _client() -> Any:
    return table_connection().client


def batch_get(wanted: dict[Key, type[Model]], consistent: bool = False) -> dict[Key, Model]:
    """The items that exist, by key. Unprocessed keys are asked for again."""
    table = settings().table_name
    found: dict[Key, Model] = {}
    pending = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in wanted]
    while pending:
        response = _client().batch_get_item(RequestItems={table: {"Keys": pending, "ConsistentRead": consistent}})
        for raw in response.get("Responses", {}).get(table, []):
            key = (raw["pk"]["S"], raw["sk"]["S"])
            found[key] = wanted[key].from_raw_data(raw)
        pending = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    return found


def typed(found: dict[Key, Model], key: Key, model: type[M]) -> M | None:
    item = found.get(key)
    return item if isinstance(item, model) else None
