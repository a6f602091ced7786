"""Organization API keys: create (scopes or a preset), list, revoke, rotate."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from kuploy_access.domain.api_keys import (
    MAX_EXPIRY_DAYS,
    MAX_GRACE_HOURS,
    ApiKey,
    display_prefix,
    hash_key,
    new_key,
)
from kuploy_access.domain.errors import NotFound, ValidationFailed
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.organizations import resource_name
from kuploy_access.domain.paging import Page
from kuploy_access.domain.permissions import ALL_PERMISSIONS, KEY_SCOPES, ROLE_PERMISSIONS, SCOPE_PRESETS
from kuploy_access.services.access import OrgCaller, caller_event
from kuploy_access.services.ports.api_keys import ApiKeyRepository
from kuploy_access.services.ports.clock import Clock


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str  # shown once, in the answer that creates it


@dataclass
class ApiKeyService:
    keys: ApiKeyRepository
    clock: Clock

    def create(
        self,
        caller: OrgCaller,
        description: str,
        scopes: list[str] | None,
        preset: str | None,
        expires_in_days: int | None,
    ) -> IssuedKey:
        chosen = self._scopes(caller, scopes, preset)
        if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise ValidationFailed(f"expires_in_days must be 1–{MAX_EXPIRY_DAYS}, or null for no expiry")
        now = self.clock.now()
        secret = new_key()
        key = ApiKey(
            id=new_id("key", int(now.timestamp() * 1000)),
            org_id=caller.org.id,
            key_hash=hash_key(secret),
            prefix=display_prefix(secret),
            description=resource_name(description, "description"),
            scopes=chosen,
            preset=preset,
            created_by=caller.principal.id,
            created_at=now,
            expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
        )
        event = caller_event(
            caller, now, "api_key.created", key.id, description=key.description, scopes=" ".join(sorted(chosen))
        )
        self.keys.create(key, event)
        return IssuedKey(key, secret)

    def page(self, caller: OrgCaller, limit: int, cursor: str | None) -> Page[ApiKey]:
        """Newest first."""
        return self.keys.keys_page(caller.org.id, limit, cursor)

    def revoke(self, caller: OrgCaller, key_id: str) -> None:
        key = self._live(caller, key_id)
        now = self.clock.now()
        self.keys.revoke(key, now, caller_event(caller, now, "api_key.revoked", key.id, prefix=key.prefix))

    def rotate(self, caller: OrgCaller, key_id: str, grace_period_hours: int | None) -> IssuedKey:
        """A new key with the same description, scopes and lifetime; the old one ends
        now, or after `grace_period_hours` so that deployments can switch over."""
        if grace_period_hours is not None and not 0 <= grace_period_hours <= MAX_GRACE_HOURS:
            raise ValidationFailed(f"grace_period_hours must be 0–{MAX_GRACE_HOURS}")
        old = self._live(caller, key_id)
        now = self.clock.now()
        secret = new_key()
        lifetime = old.expires_at - old.created_at if old.expires_at else None
        new = replace(
            old,
            id=new_id("key", int(now.timestamp() * 1000)),
            key_hash=hash_key(secret),
            prefix=display_prefix(secret),
            created_by=caller.principal.id,
            created_at=now,
            expires_at=now + lifetime if lifetime else None,
            revoked_at=None,
            last_used_at=None,
            last_used_ip="",
            rotated_to=None,
        )
        ends_at = now + timedelta(hours=grace_period_hours or 0)
        event = caller_event(
            caller, now, "api_key.rotated", old.id, new_key_id=new.id, grace_period_hours=str(grace_period_hours or 0)
        )
        self.keys.rotate(old, new, ends_at, event)
        return IssuedKey(new, secret)

    def _scopes(self, caller: OrgCaller, scopes: list[str] | None, preset: str | None) -> frozenset[str]:
        if (scopes is None) == (preset is None):
            raise ValidationFailed("Send exactly one of scopes and preset")
        if preset is not None:
            if preset not in SCOPE_PRESETS:
                raise ValidationFailed(f"preset must be one of {', '.join(sorted(SCOPE_PRESETS))}")
            chosen = SCOPE_PRESETS[preset]
        else:
            chosen = frozenset(scopes or ())
            unknown = chosen - set(ALL_PERMISSIONS)
            if unknown:
                raise ValidationFailed(f"Unknown scopes: {', '.join(sorted(unknown))}")
            not_for_keys = chosen - KEY_SCOPES
            if not_for_keys:
                raise ValidationFailed(f"An API key may not hold: {', '.join(sorted(not_for_keys))}")
            if not chosen:
                raise ValidationFailed("Give the key at least one scope")
        role = caller.grant.role
        beyond = chosen - ROLE_PERMISSIONS[role] if role is not None else chosen
        if beyond:
            raise ValidationFailed(f"More than your role holds: {', '.join(sorted(beyond))}")
        return chosen

    def _live(self, caller: OrgCaller, key_id: str) -> ApiKey:
        key = self.keys.get(caller.org.id, key_id)
        if key is None or not key.is_usable(self.clock.now()):
            raise NotFound("No such live API key")
        return key
