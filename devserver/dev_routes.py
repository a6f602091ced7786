"""Routes only the local server has, under /_dev/ (never in template.yaml or the
OpenAPI document): the outbox, the DynamoDB call log, the table's keys and items, the
operator's 2FA reset, and the sign-in page of the local providers (dev_sign_in.py)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from devserver.embedded_aws import Outbox, dynamodb_calls
from devserver.responses import GatewayResponse

DEV_EMAILS_PATH = "/_dev/emails"
# Every DynamoDB call the server made so far, by operation: {"count", "operations"}.
DEV_DYNAMODB_CALLS_PATH = "/_dev/dynamodb-calls"
# On every answer of the local server (never the deployed gateway's): the DynamoDB calls
# that request made, by operation (`GetItem=2 Query=1`, empty for none); tools/soak
# counts them per route.
DYNAMODB_CALLS_HEADER = "X-Dev-DynamoDB-Calls"
# The key of every item in the table, {"count", "keys": [[pk, sk], ...]}: lets a test over
# HTTP see what a background job (the organization purge) left behind.
DEV_TABLE_KEYS_PATH = "/_dev/table-keys"
# The items whose pk starts with ?pk= (required, non-empty), attributes as plain JSON
# {"count", "items": [...]}, sorted by (pk, sk): lets a race test over HTTP check what the
# table holds afterwards (memberships, sessions, keys, tokens), not only the answers.
DEV_TABLE_ITEMS_PATH = "/_dev/table-items"
# The operator command (`bin/kuploy-access admin reset-2fa EMAIL --local URL`) reaches
# the embedded table through here; loopback callers only.
DEV_ADMIN_RESET_2FA_PATH = "/_dev/admin/reset-2fa"


def _json(status: int, document: Any) -> GatewayResponse:
    return GatewayResponse(status, [("Content-Type", "application/json")], json.dumps(document).encode())


def _admin_reset_two_factor(client_ip: str, body: bytes) -> GatewayResponse:
    """The same operator command as on AWS (kuploy_access.cli), run on the embedded table."""
    if not client_ip.startswith("127.") and client_ip != "::1":
        return _json(403, {"error": "operator commands are for this machine only"})
    from kuploy_access.cli import _on_aws

    try:
        request = json.loads(body or b"{}")
        outcome = _on_aws({k: str(request.get(k) or "") for k in ("email", "operator", "reason")})
    except ValueError:
        return _json(400, {"error": "send JSON {email, operator, reason}"})
    return _json(404 if "error" in outcome else 200, outcome)


def _table_keys() -> dict[str, Any]:
    """Read from moto's backend, not by Scan: the DynamoDB call log stays the requests'."""
    import os

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from devserver.embedded_aws import REGION, dynamodb_paused

    with dynamodb_paused():
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(os.environ["TABLE_NAME"])
        keys = sorted(
            (str(item.hash_key.value), str(item.range_key and item.range_key.value)) for item in table.all_items()
        )
    return {"count": len(keys), "keys": [list(key) for key in keys]}


def _number(text: str) -> int | float:
    number = Decimal(text)
    return int(number) if number == number.to_integral_value() else float(number)


def _plain(typed: dict[str, Any]) -> Any:
    """One attribute as moto's item JSON has it ({"S": ...}, binary already base64) as
    plain JSON: numbers as int or float, sets as sorted lists."""
    kind, value = next(iter(typed.items()))
    if kind == "N":
        return _number(value)
    if kind == "NS":
        return sorted(_number(member) for member in value)
    if kind in {"SS", "BS"}:
        return sorted(value)
    if kind == "M":
        return {name: _plain(member) for name, member in value.items()}
    if kind == "L":
        return [_plain(member) for member in value]
    if kind == "NULL":
        return None
    return value  # S, B (base64), BOOL


def _table_items(query: str) -> GatewayResponse:
    """Read from moto's backend, as _table_keys is: no request the call log counts."""
    import os

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from devserver.embedded_aws import REGION, dynamodb_paused

    prefix = (parse_qs(query).get("pk") or [""])[0]
    if not prefix:
        return _json(400, {"error": "give ?pk=<prefix of the partition key>"})
    with dynamodb_paused():
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table(os.environ["TABLE_NAME"])
        raw = [item.to_json()["Attributes"] for item in table.all_items()]
    items = [
        {name: _plain(typed) for name, typed in attributes.items()}
        for attributes in raw
        if str(attributes.get("pk", {}).get("S", "")).startswith(prefix)
    ]
    items.sort(key=lambda item: (str(item["pk"]), str(item.get("sk", ""))))
    return _json(200, {"count": len(items), "items": items})


def dev_route(
    method: str, path: str, query: str, client_ip: str, body: bytes, outbox: Outbox
) -> GatewayResponse | None:
    """The answer of a /_dev/ route, or None for a request the gateway answers."""
    from devserver import dev_sign_in

    if method == "GET" and path == dev_sign_in.DEV_SIGN_IN_PATH:
        return dev_sign_in.sign_in_page()
    if method == "GET" and path == dev_sign_in.DEV_SIGNED_IN_PATH:
        return dev_sign_in.signed_in_page(query)
    if method == "GET" and path == dev_sign_in.DEV_PROVIDERS_PATH:
        return dev_sign_in.providers_document()
    if path == DEV_EMAILS_PATH and method == "GET":
        return _json(200, outbox.all())
    if path == DEV_DYNAMODB_CALLS_PATH and method == "GET":
        calls = dynamodb_calls.snapshot()
        return _json(200, {"count": len(calls), "operations": calls})
    if path == DEV_TABLE_KEYS_PATH and method == "GET":
        return _json(200, _table_keys())
    if path == DEV_TABLE_ITEMS_PATH and method == "GET":
        return _table_items(query)
    if path == DEV_ADMIN_RESET_2FA_PATH and method == "POST":
        return _admin_reset_two_factor(client_ip, body)
    return None
