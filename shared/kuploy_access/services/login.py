"""Password login: the token pair, or a refusal that says nothing about the account."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import EmailNotVerified, InvalidCredentials, InvalidEmail
from kuploy_access.domain.passwords import normalize_password
from kuploy_access.domain.rate_limits import LOGIN_FAILURES_PER_ACCOUNT, LOGIN_FAILURES_PER_IP, RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.domain.users import User
from kuploy_access.services.ports import Clock, PasswordHasher, RateLimiter, UserRepository
from kuploy_access.services.sessions import ClientInfo, SessionService

__all__ = ["ClientInfo", "LoginService"]


@dataclass
class LoginService:
    users: UserRepository
    sessions: SessionService
    hasher: PasswordHasher
    clock: Clock
    limiter: RateLimiter

    def log_in(self, email: str, password: str, client: ClientInfo) -> TokenPair:
        return self.sessions.start(self.authenticate(email, password, client).id, client)

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
