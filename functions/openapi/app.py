"""`GET /openapi.json`: the OpenAPI 3 document, generated from the handlers' models.

`make openapi` writes openapi.json beside this file from every function's resolver;
a test fails when the committed document differs from what the handlers describe.
Serving a file keeps this function free of the handlers' dependencies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Pure constants (json only): the layer's package, not the handlers' dependencies.
from kuploy_access.http.problems import TRANSPORT_HEADERS

DOCUMENT = (Path(__file__).parent / "openapi.json").read_text(encoding="utf-8")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 200,
        "headers": {
            "Content-Type": "application/json",
            "Cache-Control": "public, max-age=300",
            "X-Content-Type-Options": "nosniff",
            **TRANSPORT_HEADERS,
        },
        "body": DOCUMENT,
    }
