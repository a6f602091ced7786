"""Login sessions and their refresh tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
SESSION_ABSOLUTE_LIFETIME = timedelta(days=30)
SESSION_IDLE_LIFETIME = timedelta(days=7)
MAX_USER_AGENT_LENGTH = 512


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
