"""Organization API keys: one item per key under the SHA-256 of its secret (what the
authorizer reads), listed per organization through the inverted index."""

from __future__ import annotations

from datetime import datetime

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.models import ApiKeyItem, OrganizationItem, org_key
from kuploy_access.adapters.dynamodb.organizations import live_org_condition
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import NotFound

KEY_SK = "APIKEY"


def key_pk(key_hash: str) -> str:
    return f"APIKEY#{key_hash}"


def org_keys_key(org_id: str) -> str:
    return f"ORGKEYS#{org_id}"


def _item(key: ApiKey) -> ApiKeyItem:
    return ApiKeyItem(
        pk=key_pk(key.key_hash),
        sk=KEY_SK,
        key_id=key.id,
        org_id=key.org_id,
        prefix=key.prefix,
        description=key.description,
        scopes=set(key.scopes) or None,
        preset=key.preset,
        created_by=key.created_by,
        created_at=key.created_at,
        expires_at=key.expires_at,
        revoked_at=key.revoked_at,
        gsi1pk=org_keys_key(key.org_id),
        gsi1sk=f"KEY#{key.id}",
    )


def _key(item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        id=item.key_id,
        org_id=item.org_id,
        key_hash=item.pk.removeprefix("APIKEY#"),
        prefix=item.prefix,
        description=item.description or "",
        scopes=frozenset(item.scopes or ()),
        preset=item.preset,
        created_by=item.created_by,
        created_at=item.created_at,
        expires_at=item.expires_at,
        revoked_at=item.revoked_at,
        last_used_at=item.last_used_at,
        last_used_ip=item.last_used_ip or "",
        rotated_to=item.rotated_to,
    )


class DynamoApiKeyRepository:
    def create(self, key: ApiKey, event: AuditEvent) -> None:
        transaction = Transaction()
        transaction.put("key", _item(key), condition=ApiKeyItem.pk.does_not_exist())
        transaction.check("org", OrganizationItem, org_key(key.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise NotFound("No such organization") from None

    def of_org(self, org_id: str) -> list[ApiKey]:
        return [
            _key(item) for item in ApiKeyItem.by_org.query(org_keys_key(org_id), ApiKeyItem.gsi1sk.startswith("KEY#"))
        ]

    def get(self, org_id: str, key_id: str) -> ApiKey | None:
        for item in ApiKeyItem.by_org.query(org_keys_key(org_id), ApiKeyItem.gsi1sk == f"KEY#{key_id}"):
            return _key(item)
        return None

    def revoke(self, key: ApiKey, now: datetime, event: AuditEvent) -> None:
        transaction = Transaction()
        transaction.update(
            "key",
            ApiKeyItem(pk=key_pk(key.key_hash), sk=KEY_SK),
            [ApiKeyItem.revoked_at.set(now)],
            # A key in its rotation grace period can still be cut short.
            condition=ApiKeyItem.pk.exists() & (ApiKeyItem.revoked_at.does_not_exist() | (ApiKeyItem.revoked_at > now)),
        )
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise NotFound("No such live API key") from None

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime, event: AuditEvent) -> None:
        """The new key and the old key's end (now, or after the grace period), at once."""
        transaction = Transaction()
        transaction.put("new", _item(new), condition=ApiKeyItem.pk.does_not_exist())
        ends = ApiKeyItem.revoked_at.set(old_ends_at)
        transaction.update(
            "old",
            ApiKeyItem(pk=key_pk(old.key_hash), sk=KEY_SK),
            [ends, ApiKeyItem.rotated_to.set(new.id)],
            condition=ApiKeyItem.pk.exists() & ApiKeyItem.revoked_at.does_not_exist(),
        )
        transaction.check("org", OrganizationItem, org_key(old.org_id), "ORG", live_org_condition())
        transaction.put("audit", audit_item(event))
        try:
            transaction.commit()
        except ConditionFailed:
            raise NotFound("No such live API key") from None

    def delete_all_of(self, org_id: str) -> int:
        removed = 0
        with ApiKeyItem.batch_write() as batch:
            for item in ApiKeyItem.by_org.query(org_keys_key(org_id), ApiKeyItem.gsi1sk.startswith("KEY#")):
                batch.delete(item)
                removed += 1
        return removed
