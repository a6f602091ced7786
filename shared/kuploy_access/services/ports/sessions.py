"""Sessions and their refresh tokens. DynamoSessionRepository implements both ports;
FakeSessions is its fake (CountingSessionLookup counts SudoService's reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import RefreshToken, Session


class RefreshAlreadyRotated(Exception):
    """The refresh token was exchanged already (possibly a moment ago, by a racing request)."""


class SessionNotLive(Exception):
    """The session behind a refresh token was revoked or replaced its token."""


class SessionLookup(Protocol):  # SudoService
    """Raises nothing."""

    def get(self, user_id: str, session_id: str) -> Session | None:
        """One read of the session, revoked or expired ones included."""


class SessionRepository(SessionLookup, Protocol):  # SessionService
    """Only `rotate` (RefreshAlreadyRotated, SessionNotLive) and `live_page`
    (ValidationFailed) raise; `revoke` answers False where its condition did not hold."""

    def create(self, session: Session) -> None: ...

    def get_refresh(self, token_hash: str) -> RefreshToken | None: ...

    def rotate(
        self,
        old: RefreshToken,
        new_hash: str,
        now: datetime,
        idle_expires_at: datetime,
        ip: str,
        user_agent: str,
        auth_time: datetime | None = None,
    ) -> None:
        """Raises RefreshAlreadyRotated or SessionNotLive; otherwise `old` is dead and
        `new_hash` is the session's refresh token. The new token carries `old.auth_time`,
        or `auth_time` when given (a re-authentication), which the session records too."""

    def live_page(self, user_id: str, now: datetime, limit: int, cursor: str | None) -> Page[Session]:
        """The account's sessions live at `now`, most recently used first. Raises
        ValidationFailed for a cursor it did not give out."""

    def list_for_user(self, user_id: str) -> list[Session]:
        """Every session of the account, revoked and expired ones included, unpaged
        (signing out everywhere revokes each live one)."""

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        """False when the user has no such live session."""
