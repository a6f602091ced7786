"""Path and query parameters that many routes share, and their OpenAPI security."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from kuploy_access.domain.paging import MAX_LIMIT

# Ids are short (prefix + 26 characters); anything longer is not one of ours.
Id = Annotated[str, Path(max_length=64)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512)]
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
