"""The user account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str | None
    email_verified: bool
    two_factor_enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class OrganizationMembership:
    org_id: str
    org_name: str
    role: str


MAX_NAME_LENGTH = 100


def clean_name(name: str | None) -> str:
    """Display names: trimmed, control characters removed."""
    if not name:
        return ""
    return "".join(ch for ch in name.strip() if ch.isprintable())[:MAX_NAME_LENGTH]
