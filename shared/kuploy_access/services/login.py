"""Password login: the token pair, or a refusal that says nothing about the account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from kuploy_access.domain.access_tokens import JwtKind, TokenRejected
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import EmailNotVerified, InvalidCode, InvalidCredentials, InvalidEmail, InvalidMfaToken
from kuploy_access.domain.passwords import normalize_password
from kuploy_access.domain.rate_limits import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.domain.two_factor import MFA_CHALLENGE_LIFETIME, MfaChallenge
from kuploy_access.domain.users import User
from kuploy_access.services.ports import Clock, PasswordHasher, RateLimiter, UserRepository
from kuploy_access.services.sessions import ClientInfo, SessionService
from kuploy_access.services.two_factor import CodeRefused, TwoFactorService

__all__ = ["ClientInfo", "LoginService"]


@dataclass
class LoginService:
    users: UserRepository
    sessions: SessionService
    hasher: PasswordHasher
    clock: Clock
    limiter: RateLimiter
    # Built on first use: only sign-ins of accounts with 2FA load pyotp and the AES key.
    two_factor: Callable[[], TwoFactorService] | None = None

    def log_in(self, email: str, password: str, client: ClientInfo) -> TokenPair | MfaChallenge:
        user = self.authenticate(email, password, client)
        if user.two_factor_enabled:
            token = self.sessions.access_tokens().issue(
                JwtKind.MFA_CHALLENGE, user.id, self.clock.now(), MFA_CHALLENGE_LIFETIME
            )
            return MfaChallenge(mfa_token=token, expires_in=int(MFA_CHALLENGE_LIFETIME.total_seconds()))
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
            raise InvalidCode() from None
        if not factors.factors.close_challenge(challenge.token_id, expires_at):
            raise InvalidMfaToken("This sign-in is over; sign in again")
        return self.sessions.start(user.id, client)

    def authenticate(self, email: str, password: str, client: ClientInfo) -> User:
        """The account behind a correct email and password, under the same throttling
        and refusals as a login (pages that sign in and act in one step use it)."""
        now = self.clock.now()
        address = self._address(email)
        attempts = self.limiter.look_up(address, client.ip, now)
        # Checked before the password: during a lockout the right password is refused
        # too, or the lockout would tell a guesser when they found it.
        for limit, used in (
            (LOGIN_FAILURES_PER_ACCOUNT, attempts.account_failures),
            (LOGIN_FAILURES_PER_IP, attempts.ip_failures),
        ):
            if used >= limit.limit:
                raise RateLimited(limit.retry_after(now))

        normalized = normalize_password(password)
        user = self.users.get(attempts.user_id) if attempts.user_id else None
        if user is None or user.password_hash is None:
            # Spend the same time as a real check, so the answer's timing does not
            # tell which addresses have accounts.
            self.hasher.verify_dummy(normalized)
            self.limiter.record_failure(address, client.ip, now)
            raise InvalidCredentials()
        if not self.hasher.verify(user.password_hash, normalized):
            self.limiter.record_failure(address, client.ip, now)
            raise InvalidCredentials()
        if not user.email_verified:
            raise EmailNotVerified()
        if attempts.account_failures:
            self.limiter.clear_account_failures(address, now)
        if self.hasher.needs_rehash(user.password_hash):
            self.users.update_password_hash(user.id, user.password_hash, self.hasher.hash(normalized))
        return user

    @staticmethod
    def _address(email: str) -> str:
        try:
            return canonical_email(email)
        except InvalidEmail:
            # Never a registered address; counted under its raw form all the same.
            return email.strip().casefold()[:320]
