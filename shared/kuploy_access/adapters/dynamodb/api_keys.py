"""Organization API keys: one item per key under the SHA-256 of its secret (what the
authorizer reads), listed per organization through the inverted index."""

from __future__ import annotations

from datetime import datetime

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.conditions import absent, live_org, present
from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_GSI1SK_PREFIX,
    API_KEY_PK_PREFIX,
    API_KEY_SK,
    api_key_gsi1sk,
    api_key_pk,
    org_api_keys_gsi1pk,
)
from kuploy_access.adapters.dynamodb.models import ApiKeyItem, org_ref
from kuploy_access.adapters.dynamodb.query_pages import ByIndex, query_page
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.errors import NotFound
from kuploy_access.domain.paging import Page


def _ref(key_hash: str) -> ApiKeyItem:
    return ApiKeyItem(pk=api_key_pk(key_hash), sk=API_KEY_SK)


def _item(key: ApiKey) -> ApiKeyItem:
    return ApiKeyItem(
        pk=api_key_pk(key.key_hash),
        sk=API_KEY_SK,
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
        gsi1pk=org_api_keys_gsi1pk(key.org_id),
        gsi1sk=api_key_gsi1sk(key.id),
    )


def _key(item: ApiKeyItem) -> ApiKey:
    return ApiKey(
        id=item.key_id,
        org_id=item.org_id,
        key_hash=item.pk.removeprefix(API_KEY_PK_PREFIX),
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


# An organization's keys, in the index (keys.py: gsi1pk org_api_keys_gsi1pk, gsi1sk api_key_gsi1sk).
_BY_ORG = ByIndex(ApiKeyItem.by_org)


class DynamoApiKeyRepository:
    def create(self, key: ApiKey, event: AuditEvent) -> None:
        try:
            (
                Transaction()
                .put("key", _item(key), condition=absent())
                .check("org", org_ref(key.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("No such organization") from None

    def keys_page(self, org_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
        """Newest first: key ids sort by time, so the organization's index backwards."""
        page = query_page(
            ApiKeyItem,
            org_api_keys_gsi1pk(org_id),
            API_KEY_GSI1SK_PREFIX,
            limit,
            cursor,
            newest_first=True,
            by_index=_BY_ORG,
        )
        return Page([_key(item) for item in page.items], page.next_cursor)

    def of_org(self, org_id: str) -> list[ApiKey]:
        return [
            _key(item)
            for item in ApiKeyItem.by_org.query(
                org_api_keys_gsi1pk(org_id), ApiKeyItem.gsi1sk.startswith(API_KEY_GSI1SK_PREFIX)
            )
        ]

    def get(self, org_id: str, key_id: str) -> ApiKey | None:
        for item in ApiKeyItem.by_org.query(org_api_keys_gsi1pk(org_id), ApiKeyItem.gsi1sk == api_key_gsi1sk(key_id)):
            return _key(item)
        return None

    def revoke(self, key: ApiKey, now: datetime, event: AuditEvent) -> None:
        try:
            (
                Transaction()
                .update(
                    "key",
                    _ref(key.key_hash),
                    [ApiKeyItem.revoked_at.set(now)],
                    # A key in its rotation grace period can still be cut short.
                    present() & (ApiKeyItem.revoked_at.does_not_exist() | (ApiKeyItem.revoked_at > now)),
                )
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("No such live API key") from None

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime, event: AuditEvent) -> None:
        """The new key and the old key's end (now, or after the grace period), at once."""
        try:
            (
                Transaction()
                .put("new", _item(new), condition=absent())
                .update(
                    "old",
                    _ref(old.key_hash),
                    [ApiKeyItem.revoked_at.set(old_ends_at), ApiKeyItem.rotated_to.set(new.id)],
                    present() & ApiKeyItem.revoked_at.does_not_exist(),
                )
                .check("org", org_ref(old.org_id), live_org())
                .put("audit", audit_item(event))
                .commit()
            )
        except ConditionFailed:
            raise NotFound("No such live API key") from None
