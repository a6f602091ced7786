"""Forgotten passwords, resets and changes."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain import email_messages
from kuploy_access.domain.audit import Actor, AuditEvent, audit_event
from kuploy_access.domain.client_address import limit_key
from kuploy_access.domain.emails import LOOK_ALIKE_REFUSAL, canonical_email
from kuploy_access.domain.errors import Conflict, InvalidToken, TokenExpired, Unauthorized, WrongPassword
from kuploy_access.domain.login_throttle import AttemptRefused, Refusal, retry_after
from kuploy_access.domain.one_time_tokens import (
    MAX_TOKEN_LENGTH,
    TOKEN_LIFETIMES,
    OneTimeToken,
    TokenKind,
    hash_secret,
    new_secret,
)
from kuploy_access.domain.passwords import check_new_password, normalize_password
from kuploy_access.domain.rate_limits import DECOY_EMAILS_PER_ADDRESS, RESET_EMAILS_PER_ADDRESS, RateLimited
from kuploy_access.domain.users import NOBODY, User, nobody
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.pacing import NO_FLOOR, AnswerFloor
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.crypto import PasswordHasher
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.throttling import LoginThrottle, RateLimiter
from kuploy_access.services.ports.tokens import TokenNotUsable, TokenRepository
from kuploy_access.services.ports.users import EmailTooSimilar, PasswordResets
from kuploy_access.services.sessions import SessionService


@dataclass
class PasswordService:
    users: PasswordResets
    tokens: TokenRepository
    sessions: SessionService
    mailer: Mailer
    hasher: PasswordHasher
    clock: Clock
    limiter: RateLimiter
    throttle: LoginThrottle
    public_base_url: str
    floor: AnswerFloor = NO_FLOOR

    def forgot(self, email: str) -> None:
        """Email a reset link when the address has an account; the caller learns nothing,
        not even from the answer's time."""
        address = canonical_email(email)
        with self.floor.held():
            self._forgot(address)

    def _forgot(self, address: str) -> None:
        now = self.clock.now()
        user = self.users.get_by_email(address)
        known = user is not None
        if user is None:
            # The reads and writes a known address makes, none of which changes anything:
            # an account nobody has, a budget of its own (only requests that would send
            # count against the address's), a reset that its condition refuses.
            user = self.users.get(NOBODY) or nobody(address, now)
            self.limiter.consume(DECOY_EMAILS_PER_ADDRESS, address, now)
        elif not self.limiter.consume(RESET_EMAILS_PER_ADDRESS, address, now):
            return
        secret = new_secret()
        token = OneTimeToken(
            kind=TokenKind.PASSWORD_RESET,
            token_hash=hash_secret(secret),
            user_id=user.id,
            expires_at=now + TOKEN_LIFETIMES[TokenKind.PASSWORD_RESET],
        )
        try:
            self.users.start_password_reset(user, token)
        except TokenNotUsable:  # the account vanished (or never was: the decoy)
            return
        if not known:
            return
        self._send(email_messages.password_reset_email(user.email, self.public_base_url, secret, token.expires_at))

    def reset(self, secret: str, new_password: str, client_ip: str = "") -> None:
        """Set a new password from an emailed link; every session of the account ends."""
        normalized = check_new_password(new_password)  # refuse a bad password before using the link
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        token = self.tokens.get(TokenKind.PASSWORD_RESET, hash_secret(secret))
        if token is None:
            raise InvalidToken()
        if token.is_expired(self.clock.now()):
            self.tokens.delete(token.kind, token.token_hash)
            raise TokenExpired("The reset link has expired; ask for a new one")
        new_hash = self.hasher.hash(normalized)
        user = self.users.get(token.user_id)
        if user is None:  # the account is gone: its link is as good as unknown
            raise InvalidToken()
        try:
            self.users.reset_password(token, new_hash, user, self._event(user, "password.reset", client_ip))
        except TokenNotUsable:
            raise InvalidToken() from None
        except EmailTooSimilar:
            # The reset would verify a pending account's address, whose look a verified
            # look-alike holds: refused as its verification link is, changing nothing (not
            # even the password: the account could not sign in with it anyway).
            raise InvalidToken(LOOK_ALIKE_REFUSAL) from None
        self.sessions.revoke_all(token.user_id)
        self.throttle.clear_lock(user.email, limit_key(client_ip), self.clock.now())
        self._send(email_messages.password_changed_email(user.email, self.public_base_url, self.clock.now()))

    def change(
        self, user_id: str, session_id: str, current_password: str, new_password: str, client_ip: str = ""
    ) -> None:
        """Change the password of a signed-in person; their other sessions end.

        Guesses at the current password count against the same limits as login, so a
        stolen access token is not an unthrottled password oracle."""
        user = self.users.get(user_id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        if user.password_hash is None:
            # Signs in with a provider only: there is no current password to prove.
            raise Conflict("This account has no password yet; set one with 'Forgot password'")
        now = self.clock.now()
        try:
            attempt = self.throttle.take(user.email, limit_key(client_ip), now)
        except AttemptRefused as refused:
            if refused.refusal is Refusal.ACCOUNT_LOCKED:
                raise WrongPassword() from None
            raise RateLimited(retry_after(refused.refusal, now)) from None
        if not self.hasher.verify(user.password_hash, normalize_password(current_password)):
            raise WrongPassword()
        self.throttle.succeeded(attempt)
        normalized = check_new_password(new_password)
        new_hash = self.hasher.hash(normalized)
        event = self._event(user, "password.changed", client_ip)
        if not self.users.change_password(user.id, user.password_hash, new_hash, event):
            raise WrongPassword("The password was changed meanwhile; try again")
        self.sessions.revoke_all(user.id, keep=session_id)
        self._send(email_messages.password_changed_email(user.email, self.public_base_url, self.clock.now()))

    def _event(self, user: User, action: str, client_ip: str) -> AuditEvent:
        """The account's own event, written by the change's own transaction."""
        actor = Actor("user", user.id, user.email)
        return audit_event(user.id, self.clock.now(), actor, action, user.id, client_ip, "")

    def _send(self, email: email_messages.OutgoingEmail) -> None:
        send_quietly(self.mailer, email)
