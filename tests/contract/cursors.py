"""Walking a list page by page, and cursors that no list gave out.

The forgeries are base64 of JSON, the shape the adapters' cursors have (and the fakes'),
so that a check which looked only at the outer layer would let them through. The
contract is only that each is refused with ValidationFailed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import TypeVar

from kuploy_access.domain.paging import Page

T = TypeVar("T")


def every_page(read: Callable[[str | None], Page[T]]) -> list[list[T]]:
    """The items of each page, from the first page, following `next_cursor` to the end."""
    pages: list[list[T]] = []
    cursor: str | None = None
    while True:
        page = read(cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        assert len(pages) < 100, "the cursor never ends"
        cursor = page.next_cursor


def cursor_of(**keys: object) -> str:
    """A cursor naming `keys`: what a forger who read the adapters' code would send."""
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def forged_cursors() -> list[str]:
    """Junk, JSON of the wrong shape, and an offset like the lists' cursors before keysets."""
    return [
        "not-ours",
        "2",
        "%%%",
        "W10",  # []
        cursor_of(k=1),
        cursor_of(o=2),
        cursor_of(after="x"),
        cursor_of(k=None, pk=None, sk=None),
    ]


def truncated(cursor: str | None) -> str:
    """A cursor this API gave out, cut short (as a copy and paste might)."""
    assert cursor is not None
    return cursor[: len(cursor) * 2 // 3]
