"""Password login: the token pair, or a refusal that says nothing about the account."""

from __future__ import annotations

from dataclasses import dataclass

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import EmailNotVerified, InvalidCredentials, InvalidEmail
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.one_time_tokens import hash_secret, new_secret
from kuploy_access.domain.passwords import normalize_password
from kuploy_access.domain.sessions import (
    ACCESS_TOKEN_LIFETIME,
    MAX_USER_AGENT_LENGTH,
    SESSION_ABSOLUTE_LIFETIME,
    Session,
    TokenPair,
)
from kuploy_access.domain.users import User
from kuploy_access.services.ports import Clock, PasswordHasher, SessionRepository, UserRepository


@dataclass(frozen=True)
class ClientInfo:
    ip: str
    user_agent: str


@dataclass
class LoginService:
    users: UserRepository
    sessions: SessionRepository
    hasher: PasswordHasher
    clock: Clock
    access_tokens: JwtCodec

    def log_in(self, email: str, password: str, client: ClientInfo) -> TokenPair:
        user = self._find(email)
        normalized = normalize_password(password)
        if user is None or user.password_hash is None:
            # Spend the same time as a real check, so the answer's timing does not
            # tell which addresses have accounts.
            self.hasher.verify_dummy(normalized)
            raise InvalidCredentials()
        if not self.hasher.verify(user.password_hash, normalized):
            raise InvalidCredentials()
        if not user.email_verified:
            raise EmailNotVerified()
        if self.hasher.needs_rehash(user.password_hash):
            self.users.update_password_hash(user.id, user.password_hash, self.hasher.hash(normalized))
        return self.start_session(user, client)

    def start_session(self, user: User, client: ClientInfo) -> TokenPair:
        now = self.clock.now()
        refresh_token = new_secret()
        session = Session(
            id=new_id("ses"),
            user_id=user.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + SESSION_ABSOLUTE_LIFETIME,
            ip=client.ip,
            user_agent=client.user_agent[:MAX_USER_AGENT_LENGTH],
            refresh_token_hash=hash_secret(refresh_token),
        )
        self.sessions.create(session)
        access_token = self.access_tokens.issue(
            JwtKind.ACCESS, user.id, now, ACCESS_TOKEN_LIFETIME, extra={"sid": session.id}
        )
        return TokenPair(
            access_token=access_token,
            refresh_token=refresh_token,
            expires_in=int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        )

    def _find(self, email: str) -> User | None:
        try:
            address = canonical_email(email)
        except InvalidEmail:
            return None
        return self.users.get_by_email(address)
