"""`?limit=` and `?cursor=` over a list already in memory (API.md, "Lists")."""

from __future__ import annotations

import base64
import json
from typing import TypeVar

from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.paging import DEFAULT_LIMIT, MAX_LIMIT, Page

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "Page", "paginate"]

T = TypeVar("T")


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        offset = json.loads(base64.urlsafe_b64decode(padded))["o"]
    except (ValueError, KeyError, TypeError):
        raise ValidationFailed("The cursor is not one this API gave out") from None
    if not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("The cursor is not one this API gave out")
    return offset


def paginate(items: list[T], limit: int, cursor: str | None) -> Page[T]:
    start = _decode(cursor) if cursor else 0
    chunk = items[start : start + limit]
    more = start + limit < len(items)
    return Page(items=chunk, next_cursor=_encode(start + limit) if more else None)
