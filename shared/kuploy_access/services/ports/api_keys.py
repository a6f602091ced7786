"""Organizations' API keys. DynamoApiKeyRepository implements both ports; FakeApiKeys
(tests/unit/org_fakes.py) is its fake. The authorizer reads keys through
adapters/api_key_lookup.py, not through a port: it loads no service."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.api_keys import ApiKey
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.paging import Page


class ApiKeyRepository(Protocol):  # ApiKeyService
    """Changes take the audit event and write it in the same transaction. They raise
    NotFound (domain/errors.py), as each method says; the page ValidationFailed;
    nothing else."""

    def create(self, key: ApiKey, event: AuditEvent) -> None:
        """Raises NotFound when the organization is gone."""

    def keys_page(self, org_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
        """The organization's keys, revoked and expired ones included, newest first.
        Raises ValidationFailed for a cursor it did not give out."""

    def get(self, org_id: str, key_id: str) -> ApiKey | None: ...

    def revoke(self, key: ApiKey, now: datetime, event: AuditEvent) -> None:
        """The key ends now (a key in its rotation grace period too). Raises NotFound when
        it has ended already."""

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime, event: AuditEvent) -> None:
        """The new key and the old key's end (now, or after the grace period), at once.
        Raises NotFound when the old key was revoked or rotated meanwhile, or the
        organization is gone."""


class ApiKeyRoster(Protocol):  # AccessReviewService
    """Raises nothing."""

    def of_org(self, org_id: str) -> list[ApiKey]:
        """Every key of the organization, revoked and expired ones included, by id,
        unpaged: the review judges the organization as a whole."""
