"""The authorizer's view of API keys: one GetItem by the key's hash, and the
"last used" mark written at most once a minute per key.

Plain botocore and hand-read attributes rather than PynamoDB: this runs on the hot
path of every request on the platform, and its import cost is the authorizer's cold
start. Times are written in PynamoDB's UTCDateTimeAttribute format so that the
repositories read them back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from kuploy_access.adapters.dynamodb.keys import API_KEY_SK, api_key_pk
from kuploy_access.adapters.retry_policy import AUTHORIZER_DYNAMODB, botocore_client
from kuploy_access.domain.api_keys import USAGE_RESOLUTION, KeyRecord

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+0000"
logger = logging.getLogger(__name__)


def _key(key_hash: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": api_key_pk(key_hash)}, "sk": {"S": API_KEY_SK}}


def _time(value: dict[str, str] | None) -> datetime | None:
    if not value or "S" not in value:
        return None
    return datetime.strptime(value["S"], _TIME_FORMAT).replace(tzinfo=UTC)


class KeyLookup:
    def __init__(self, table_name: str, region: str) -> None:
        self._table = table_name
        self._region = region

    @cached_property
    def _client(self) -> Any:
        return botocore_client("dynamodb", self._region, AUTHORIZER_DYNAMODB)

    def find(self, key_hash: str) -> KeyRecord | None:
        # Strongly consistent: a revocation is seen by the next read, so the bound on
        # how long a revoked key passes is the authorizer's cache alone.
        found = self._client.get_item(
            TableName=self._table,
            Key=_key(key_hash),
            ConsistentRead=True,
            ProjectionExpression="key_id, org_id, scopes, expires_at, revoked_at, last_used_at",
        )
        item = found.get("Item")
        if not item:
            return None
        return KeyRecord(
            key_id=item["key_id"]["S"],
            org_id=item["org_id"]["S"],
            scopes=tuple(sorted(item.get("scopes", {}).get("SS", []))),
            expires_at=_time(item.get("expires_at")),
            revoked_at=_time(item.get("revoked_at")),
            last_used_at=_time(item.get("last_used_at")),
        )

    def mark_used(self, key_hash: str, now: datetime, ip: str) -> bool:
        """One write a minute per key at most, across every container: the condition
        lets only the first request of each minute write."""
        now = now.astimezone(UTC)  # the format below names UTC
        cutoff = (now - USAGE_RESOLUTION).strftime(_TIME_FORMAT)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_key(key_hash),
                UpdateExpression="SET last_used_at = :now, last_used_ip = :ip",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(last_used_at) OR last_used_at <= :cutoff)"
                ),
                ExpressionAttributeValues={
                    ":now": {"S": now.strftime(_TIME_FORMAT)},
                    ":ip": {"S": ip[:64] or "unknown"},
                    ":cutoff": {"S": cutoff},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        except Exception:
            logger.warning("could not record an API key's use", exc_info=True)
            return False
        return True
