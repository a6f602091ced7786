"""Keyset pagination over a Query: the cursor is the last key of the page, so every
page costs one Query however large the partition is."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from kuploy_access.domain.errors import ValidationFailed

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class ItemPage(Generic[M]):
    items: list[M]
    next_cursor: str | None


def _encode(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": sort_key}).encode()).decode().rstrip("=")


def _decode(cursor: str, sk_prefix: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        sort_key = json.loads(base64.urlsafe_b64decode(padded))["k"]
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed("The cursor is not one this API gave out") from None
    # A cursor only ever points inside the list it came from.
    if not isinstance(sort_key, str) or not sort_key.startswith(sk_prefix):
        raise ValidationFailed("The cursor is not one this API gave out")
    return sort_key


def query_page(
    model: type[M],
    partition: str,
    sk_prefix: str,
    limit: int,
    cursor: str | None,
    newest_first: bool = False,
    filter_condition: Condition | None = None,
) -> ItemPage[M]:
    """One Query for `limit` + 1 items: the extra one only tells whether a next page exists."""
    start: dict[str, Any] | None = None
    if cursor:
        start = {"pk": {"S": partition}, "sk": {"S": _decode(cursor, sk_prefix)}}
    results = model.query(
        partition,
        model.sk.startswith(sk_prefix),  # type: ignore[attr-defined]
        filter_condition=filter_condition,
        limit=limit + 1,
        last_evaluated_key=start,
        scan_index_forward=not newest_first,
    )
    items = list(results)
    if len(items) > limit:
        return ItemPage(items[:limit], _encode(items[limit - 1].sk))  # type: ignore[attr-defined]
    return ItemPage(items, None)
