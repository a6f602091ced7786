"""Login sessions and their refresh tokens.

A session is one login on one device. Its refresh token rotates on every use; each
rotated token is remembered, so presenting one again (a stolen copy racing the real
client) revokes the whole session (OAuth 2.0 Security BCP, RFC 9700 §4.14).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
SESSION_ABSOLUTE_LIFETIME = timedelta(days=30)
SESSION_IDLE_LIFETIME = timedelta(days=7)
MAX_USER_AGENT_LENGTH = 512


@dataclass(frozen=True)
class SessionLifetimes:
    absolute: timedelta = SESSION_ABSOLUTE_LIFETIME
    idle: timedelta = SESSION_IDLE_LIFETIME


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    ip: str
    user_agent: str
    refresh_token_hash: str
    idle_expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        if self.revoked_at is not None or now >= self.expires_at:
            return False
        return self.idle_expires_at is None or now < self.idle_expires_at


@dataclass(frozen=True)
class RefreshToken:
    """One issued refresh token. `rotated_at` is set once it has been exchanged."""

    token_hash: str
    session_id: str
    user_id: str
    expires_at: datetime
    idle_expires_at: datetime
    rotated_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return now < self.expires_at and now < self.idle_expires_at


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"

    def as_dict(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }
