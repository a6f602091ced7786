"""Login sessions and their refresh tokens.

A session is one login on one device. Its refresh token rotates on every use; each
rotated token is remembered, so presenting one again (a stolen copy racing the real
client) revokes the whole session (OAuth 2.0 Security BCP, RFC 9700 §4.14).

`auth_time` is when the person last proved a factor in this session (the login, or a
re-authentication): access tokens carry it and refreshes keep it. Sudo mode: an access
token lives 15 minutes and a stolen one acts as its owner, so the actions that would let
a thief keep access or do lasting harm (enrolling their own 2FA, minting an API key,
transferring or deleting an organization, ...) also need `auth_time` within a short
window, as GitHub's sudo mode does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
SESSION_ABSOLUTE_LIFETIME = timedelta(days=30)
SESSION_IDLE_LIFETIME = timedelta(days=7)
MAX_USER_AGENT_LENGTH = 512
SUDO_MODE_WINDOW = timedelta(minutes=10)


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
    # None for sessions from before auth_time was recorded: their tokens are never in sudo mode.
    auth_time: datetime | None = None

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
    # The session's auth_time, carried so that a refresh (one read) keeps it.
    auth_time: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return now < self.expires_at and now < self.idle_expires_at


def epoch_seconds(moment: datetime | None) -> int:
    """A token's `auth_time` claim: 0 when unknown, which no sudo window accepts."""
    return int(moment.timestamp()) if moment is not None else 0


def in_sudo_mode(auth_time: int, now: datetime, window: timedelta = SUDO_MODE_WINDOW) -> bool:
    """Whether a factor proven at `auth_time` (seconds since the epoch; 0 for tokens
    that do not say) is recent enough for a sensitive action at `now`."""
    if auth_time <= 0:
        return False
    return now.timestamp() - auth_time <= window.total_seconds()


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
