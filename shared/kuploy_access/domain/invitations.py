"""Invitations to join an organization, sent by email with a single-use link."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kuploy_access.domain.errors import InvitationExpired, InvitationUsed, NotFound

DEFAULT_INVITATION_LIFETIME = timedelta(days=7)
# An invitation token is 256 bits from `secrets` (API.md asks for at least 128).
TOKEN_BYTES = 32
MAX_INVITATION_TOKEN_LENGTH = 128


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"


def new_invitation_secret() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_invitation_secret(secret: str) -> str:
    # `surrogatepass`, as `one_time_tokens.hash_secret`: a lone surrogate hashes to what
    # no invitation's secret hashes to, instead of raising; other text is unchanged.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Invitation:
    id: str
    org_id: str
    org_name: str
    email: str
    role: str
    invited_by: str
    inviter_name: str
    status: str
    token_hash: str
    created_at: datetime
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at

    def is_pending(self, now: datetime) -> bool:
        return self.status == InvitationStatus.PENDING and not self.is_expired(now)

    def check_usable(self, now: datetime) -> None:
        """Raise the contract's answer for an invitation that can no longer be answered."""
        if self.status == InvitationStatus.REVOKED:
            raise NotFound("No such invitation")
        if self.status != InvitationStatus.PENDING:
            raise InvitationUsed()
        if self.is_expired(now):
            raise InvitationExpired()


_INVITATION_PATH = re.compile(r"^/invitations/[A-Za-z0-9_-]{16,128}$")


def invitation_path(secret: str) -> str:
    return f"/invitations/{secret}"


def safe_continue_path(path: str | None) -> str | None:
    """Where a page may send someone after sign-up: only back to an invitation, never
    to an address a link's author chose (no open redirect)."""
    if path and _INVITATION_PATH.match(path):
        return path
    return None
