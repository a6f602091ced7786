"""Password login: the token pair, or a refusal that says nothing about the account.

The budgets (domain/login_throttle.py) are taken before the password is checked; an
account past its ceiling of consecutive failures takes no password until its owner
follows the emailed unlock link, and the client's answer does not change when it locks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from kuploy_access.domain import email_messages
from kuploy_access.domain.access_tokens import JwtKind, TokenRejected
from kuploy_access.domain.audit import Actor, AuditEvent, account_event, audit_event
from kuploy_access.domain.client_address import limit_key
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import (
    EmailNotVerified,
    InvalidCode,
    InvalidCredentials,
    InvalidEmail,
    InvalidMfaToken,
    InvalidToken,
    TokenExpired,
)
from kuploy_access.domain.login_throttle import CONSECUTIVE_FAILURES_BEFORE_LOCK, AttemptRefused, Refusal, retry_after
from kuploy_access.domain.one_time_tokens import (
    MAX_TOKEN_LENGTH,
    TOKEN_LIFETIMES,
    OneTimeToken,
    TokenKind,
    hash_secret,
    new_secret,
)
from kuploy_access.domain.passwords import normalize_password
from kuploy_access.domain.rate_limits import RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.domain.users import NOBODY, User
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.ports.audit import SignInAudit
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.crypto import PasswordHasher
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.metrics import EventCounter
from kuploy_access.services.ports.throttling import LoginThrottle
from kuploy_access.services.ports.tokens import TokenNotUsable, TokenRepository
from kuploy_access.services.ports.users import Credentials
from kuploy_access.services.sessions import ClientInfo, SessionService
from kuploy_access.services.two_factor import CodeRefused, TwoFactorService

__all__ = ["ClientInfo", "LoginService"]

LOCKOUT_METRIC = "Lockouts"


@dataclass
class LoginService:
    users: Credentials
    sessions: SessionService
    hasher: PasswordHasher
    clock: Clock
    throttle: LoginThrottle
    tokens: TokenRepository
    audit: SignInAudit
    mailer: Mailer
    public_base_url: str
    # Lockouts: one per `account.locked` event (the unlock email of a lock; again at
    # most daily while the locked account is still tried).
    counter: EventCounter
    # Built on first use: only sign-ins of accounts with 2FA load pyotp and the AES key.
    two_factor: Callable[[], TwoFactorService] | None = None

    def log_in(self, email: str, password: str, client: ClientInfo) -> TokenPair | MfaChallenge:
        # The signing key before the password: a sign-in that cannot end with a token
        # must not be recorded as one (its audit event, its reset of the failures).
        self.sessions.access_tokens()
        user = self.authenticate(email, password, client)
        if user.two_factor_enabled:
            return self.sessions.second_step(user.id)
        return self.sessions.start(user.id, client)

    def complete_two_factor(
        self, mfa_token: str, code: str | None, recovery_code: str | None, client: ClientInfo
    ) -> TokenPair:
        """The second step: a TOTP code or a recovery code for the challenge of a login."""
        now = self.clock.now()
        try:
            challenge = self.sessions.access_tokens().verify(JwtKind.MFA_CHALLENGE, mfa_token, now)
        except TokenRejected:
            raise InvalidMfaToken() from None
        user = self.users.get(challenge.subject)
        if user is None or not user.two_factor_enabled or self.two_factor is None:
            raise InvalidMfaToken()
        factors = self.two_factor()
        expires_at = datetime.fromtimestamp(challenge.expires_at, UTC)
        # Each attempt is taken before the code is checked (a conditional increment), so
        # no number of racing requests gets a challenge more than its 5 tries.
        if not factors.factors.take_attempt(challenge.token_id, expires_at):
            raise InvalidMfaToken("This sign-in is over (too many wrong codes, or done); sign in again")
        try:
            factors.verify_sign_in(user, code, recovery_code, challenge.token_id, expires_at, client)
        except CodeRefused:
            self.audit.record(self._event(user, "login.failed", client, factor="second"))
            raise InvalidCode() from None
        if not factors.factors.close_challenge(challenge.token_id, expires_at):
            raise InvalidMfaToken("This sign-in is over; sign in again")
        self.audit.record(self._event(user, "login.succeeded", client, factor="second"))
        return self.sessions.start(user.id, client)

    def authenticate(
        self, email: str, password: str, client: ClientInfo, success_action: str | None = "login.succeeded"
    ) -> User:
        """The account behind a correct email and password, under the same throttling
        and refusals as a login (pages that sign in and act in one step use it).

        `success_action` names the audit event of a right password, recorded with the
        attempt's settlement when no second factor follows (None: the caller records)."""
        now = self.clock.now()
        address = self._address(email)
        normalized = normalize_password(password)
        try:
            attempt = self.throttle.take(address, limit_key(client.ip), now)
        except AttemptRefused as refused:
            self._refuse(refused, address, normalized, client, now)
        user = self.users.get(attempt.user_id or NOBODY)
        if user is None or user.password_hash is None:
            # Spend the same time as a real check, so the answer's timing does not
            # tell which addresses have accounts.
            self.hasher.verify_dummy(normalized)
            self.audit.decoy(self._nobody_event(now, client))
            raise InvalidCredentials()
        if not self.hasher.verify(user.password_hash, normalized):
            self.audit.record(self._event(user, "login.failed", client, factor="password"))
            if attempt.may_reach_the_ceiling:
                self._notice_lock(user, address, client, now)
            raise InvalidCredentials()
        if not user.email_verified:
            # The password was right: the attempt is given back like a success's.
            self.throttle.succeeded(attempt)
            raise EmailNotVerified()
        event = None
        if success_action and not user.two_factor_enabled:
            event = self._event(user, success_action, client)
        self.throttle.succeeded(attempt, event)
        if self.hasher.needs_rehash(user.password_hash):
            self.users.update_password_hash(user.id, user.password_hash, self.hasher.hash(normalized))
        return user

    def unlock(self, secret: str, client: ClientInfo) -> None:
        """Follow the emailed unlock link: password sign-in works again."""
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        token = self.tokens.get(TokenKind.ACCOUNT_UNLOCK, hash_secret(secret))
        if token is None:
            raise InvalidToken()
        if token.is_expired(self.clock.now()):
            self.tokens.delete(token.kind, token.token_hash)
            raise TokenExpired("The unlock link has expired; a sign-in attempt or a password reset sends a new one")
        user = self.users.get(token.user_id)
        if user is None:
            raise InvalidToken()
        try:
            self.throttle.unlock(token, user.email, self._event(user, "account.unlocked", client))
        except TokenNotUsable:
            raise InvalidToken() from None

    def _refuse(
        self, refused: AttemptRefused, address: str, normalized: str, client: ClientInfo, now: datetime
    ) -> NoReturn:
        if refused.refusal is not Refusal.ACCOUNT_LOCKED:
            raise RateLimited(retry_after(refused.refusal, now))
        # A locked account answers exactly as a wrong password does, after as long, and
        # an unknown address at its ceiling makes the same reads and writes.
        self.hasher.verify_dummy(normalized)
        user = self.users.get(refused.user_id or NOBODY)
        if user is not None:
            self._notice_lock(user, address, client, now)
        else:
            self.throttle.notice_lock(address, now)
        raise InvalidCredentials()

    def _notice_lock(self, user: User, address: str, client: ClientInfo, now: datetime) -> None:
        """Email the owner an unlock link, once per lock (and again a day later)."""
        if not self.throttle.notice_lock(address, now):
            return
        secret = new_secret()
        token = OneTimeToken(
            kind=TokenKind.ACCOUNT_UNLOCK,
            token_hash=hash_secret(secret),
            user_id=user.id,
            expires_at=now + TOKEN_LIFETIMES[TokenKind.ACCOUNT_UNLOCK],
        )
        self.tokens.put(token)
        self.audit.record(self._event(user, "account.locked", client, failures=str(CONSECUTIVE_FAILURES_BEFORE_LOCK)))
        self.counter.count(LOCKOUT_METRIC)
        send_quietly(
            self.mailer,
            email_messages.account_locked_email(
                user.email, self.public_base_url, secret, token.expires_at, CONSECUTIVE_FAILURES_BEFORE_LOCK
            ),
        )

    def _event(self, user: User, action: str, client: ClientInfo, **details: str) -> AuditEvent:
        return account_event(user.id, user.email, self.clock.now(), action, client.ip, client.user_agent, **details)

    def _nobody_event(self, now: datetime, client: ClientInfo) -> AuditEvent:
        return audit_event(NOBODY, now, Actor("user", NOBODY), "login.failed", NOBODY, client.ip, client.user_agent)

    @staticmethod
    def _address(email: str) -> str:
        try:
            return canonical_email(email)
        except InvalidEmail:
            # Never a registered address; counted under its raw form all the same.
            return email.strip().casefold()[:320]
