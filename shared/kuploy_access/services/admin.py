"""What platform operators do for people who cannot help themselves (a lost
authenticator and no recovery codes): run from the operator's command line with AWS
credentials, never reachable over the API."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain import email_messages
from kuploy_access.domain.audit import Actor, audit_event
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import NotFound
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.two_factor import FactorReset
from kuploy_access.services.ports.users import UserLookup
from kuploy_access.services.sessions import SessionService


@dataclass(frozen=True)
class ResetOutcome:
    user_id: str
    email: str
    was_enabled: bool
    sessions_revoked: int


@dataclass
class AdminService:
    users: UserLookup
    factors: FactorReset
    sessions: SessionService
    mailer: Mailer
    clock: Clock
    public_base_url: str

    def reset_two_factor(self, email: str, operator: str, reason: str = "") -> ResetOutcome:
        """Turn 2FA off, sign the account out everywhere, record it and tell the person."""
        user = self.users.get_by_email(canonical_email(email))
        if user is None:
            raise NotFound(f"No account with the address {email}")
        now = self.clock.now()
        details = {"reason": reason} if reason else {}
        event = audit_event(
            user.id, now, Actor("operator", operator), "two_factor.reset_by_operator", user.id, "", "", **details
        )
        self.factors.set_member_copies(user.id, False)
        self.factors.reset(user.id, event)
        revoked = self.sessions.revoke_all(user.id)
        send_quietly(
            self.mailer,
            email_messages.security_notice_email(
                user.email,
                self.public_base_url,
                "Two-factor authentication was turned off by a platform administrator",
                now,
                "Every device was signed out. Sign in with your password and turn two-factor authentication "
                "on again with your new authenticator.",
            ),
        )
        return ResetOutcome(user.id, user.email, user.two_factor_enabled, revoked)
