"""Organizations, their members, and the rules about names and plans."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.users import visible_text


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"
    TEAM = "team"


# Organizations, projects, applications, databases, channels: one limit, which the
# request schemas publish.
MAX_RESOURCE_NAME_LENGTH = 100
# `last_active_at` is a hint for access reviews, not an activity log: one write per
# member per hour at most, never one per request.
ACTIVITY_RESOLUTION = timedelta(hours=1)


@dataclass(frozen=True)
class Organization:
    id: str
    name: str
    plan: str
    require_2fa: bool
    owner_id: str
    created_at: datetime
    created_by: str
    member_count: int = 1
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Member:
    org_id: str
    user_id: str
    role: str
    email: str
    name: str
    joined_at: datetime
    two_factor_enabled: bool = False
    last_active_at: datetime | None = None

    def activity_is_stale(self, now: datetime) -> bool:
        return self.last_active_at is None or now - self.last_active_at >= ACTIVITY_RESOLUTION


def resource_name(name: str, what: str = "name") -> str:
    """A display name for an organization or resource: trimmed, printable, 1–100 characters."""
    cleaned = visible_text(name)
    if not cleaned:
        raise ValidationFailed(f"The {what} must contain at least one visible character")
    if len(cleaned) > MAX_RESOURCE_NAME_LENGTH:
        raise ValidationFailed(f"The {what} must be at most {MAX_RESOURCE_NAME_LENGTH} characters")
    return cleaned
