"""Re-authentication (sudo mode): the signed-in person proves their factors again and
gets a fresh token pair for the same session, whose `auth_time` is now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.errors import (
    Conflict,
    InvalidCredentials,
    Unauthorized,
    ValidationFailed,
    WrongCode,
    WrongPassword,
)
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.services.login import LoginService
from kuploy_access.services.ports.audit import AuditRecorder
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.users import UserLookup
from kuploy_access.services.sessions import ClientInfo, SessionService
from kuploy_access.services.two_factor import CodeRefused, TwoFactorService


@dataclass(frozen=True)
class Reauthenticated:
    """Who proved their factors, in which session (the subject of an audit event), and
    the session's new pair."""

    user_id: str
    session_id: str
    tokens: TokenPair


@dataclass
class ReauthenticationService:
    users: UserLookup
    audit: AuditRecorder
    clock: Clock
    sessions: SessionService
    login: LoginService
    # Built on first use: only accounts with 2FA load pyotp and the AES key.
    two_factor: Callable[[], TwoFactorService]

    def reauthenticate(
        self, caller: Principal, password: str, code: str | None, recovery_code: str | None, client: ClientInfo
    ) -> Reauthenticated:
        """The password, and for an account with 2FA exactly one of a TOTP code and a
        recovery code, under the same throttling and single-use rules as a sign-in.
        Wrong ones answer 403 (the access token is fine; the proof is not)."""
        session = self.sessions.live_session(caller.id, caller.session_id)
        user = self.users.get(caller.id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        if user.password_hash is None:
            # Signs in with a provider only: no password to prove, and no failed attempt
            # to count against the account.
            raise Conflict(
                "This account has no password: sign in again with your provider to confirm it is you "
                "(or set a password with 'Forgot password')"
            )
        if user.two_factor_enabled and bool(code) == bool(recovery_code):
            raise ValidationFailed("Two-factor authentication is on: send exactly one of code and recovery_code")
        try:
            proven = self.login.authenticate(user.email, password, client, success_action=None)
        except InvalidCredentials:
            raise WrongPassword("The password is wrong") from None
        if proven.id != user.id:
            raise WrongPassword("The password is wrong")
        if proven.two_factor_enabled:
            try:
                self.two_factor().verify_sign_in(
                    proven, code or None, recovery_code or None, session.id, session.expires_at, client
                )
            except CodeRefused:
                raise WrongCode("The code is wrong or was already used") from None
        tokens = self.sessions.reauthenticated(session, client)
        actor = Actor("user", user.id, user.email)
        self.audit.record(
            audit_event(
                user.id,
                self.clock.now(),
                actor,
                "session.reauthenticated",
                user.id,
                client.ip,
                client.user_agent,
                session_id=session.id,
            )
        )
        return Reauthenticated(user.id, session.id, tokens)
