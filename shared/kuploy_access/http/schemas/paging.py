"""One envelope for every list (API.md, "Lists"): the view of a `domain.paging.Page`."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class PageView(BaseModel, Generic[T]):
    # Subclass per list (`class MemberList(PageView[MemberView])`), without a docstring: the
    # subclass keeps the schema's published name, where a bare `PageView[MemberView]` would be
    # published as `Page_MemberView_`, and a docstring would become its description.
    model_config = ConfigDict(from_attributes=True)

    items: list[T]
    next_cursor: str | None
