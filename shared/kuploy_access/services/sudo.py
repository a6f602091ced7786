"""Sudo mode at the door of a sensitive route: the caller's session must still be live
(one read) and their token's `auth_time` recent (README, "Sudo mode")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from kuploy_access.domain.errors import ReauthenticationRequired, Unauthorized
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.sessions import SUDO_MODE_WINDOW, in_sudo_mode
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.sessions import SessionLookup


@dataclass
class SudoService:
    sessions: SessionLookup
    clock: Clock
    window: timedelta = SUDO_MODE_WINDOW

    def require(self, caller: Principal) -> None:
        """401 `invalid_token` when the caller's session has ended (re-authenticating
        could not help then), else 403 `reauthentication_required` when the factor was
        proven longer ago than the window."""
        session = self.sessions.get(caller.id, caller.session_id) if caller.id and caller.session_id else None
        now = self.clock.now()
        if session is None or not session.is_live(now):
            raise Unauthorized("invalid_token", "This session was signed out; sign in again")
        if not in_sudo_mode(caller.auth_time, now, self.window):
            minutes = int(self.window.total_seconds() // 60)
            raise ReauthenticationRequired(
                f"This action needs a password (and 2FA code) confirmed within the last {minutes} minutes: "
                "POST /auth/reauthenticate, then try again with the new access token"
            )
