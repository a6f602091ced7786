"""In-memory fakes of the service ports, for unit tests without moto."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind
from kuploy_access.domain.sessions import Session
from kuploy_access.domain.users import OrganizationMembership, User
from kuploy_access.services.ports import EmailAlreadyRegistered, TokenNotUsable


@dataclass
class FakeClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 11, 28, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, delta: timedelta) -> None:
        self.current += delta


class FakeHasher:
    """Not a password hash: a reversible marker, so tests run in microseconds."""

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.dummy_checks = 0

    def hash(self, password: str) -> str:
        return f"fake${self.version}${password}"

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash.split("$", 2)[-1] == password

    def verify_dummy(self, password: str) -> None:
        self.dummy_checks += 1

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"fake${self.version}$")


class FakeTokens:
    def __init__(self) -> None:
        self.items: dict[tuple[TokenKind, str], OneTimeToken] = {}

    def put(self, token: OneTimeToken) -> None:
        self.items[(token.kind, token.token_hash)] = token

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None:
        return self.items.get((kind, token_hash))

    def delete(self, kind: TokenKind, token_hash: str) -> None:
        self.items.pop((kind, token_hash), None)


class FakeUsers:
    def __init__(self, tokens: FakeTokens) -> None:
        self.tokens = tokens
        self.by_id: dict[str, User] = {}
        self.by_email: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, user: User, verification: OneTimeToken) -> None:
        with self._lock:
            if user.email in self.by_email:
                raise EmailAlreadyRegistered(self.by_email[user.email])
            self.by_email[user.email] = user.id
            self.by_id[user.id] = user
            self.tokens.put(verification)

    def get(self, user_id: str) -> User | None:
        return self.by_id.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        user_id = self.by_email.get(email)
        return self.by_id.get(user_id) if user_id else None

    def restart_verification(self, user: User, token: OneTimeToken, password_hash: str | None) -> None:
        with self._lock:
            current = self.by_id.get(user.id)
            if current is None or current.email_verified:
                raise TokenNotUsable()
            if current.verification_token_hash:
                self.tokens.delete(token.kind, current.verification_token_hash)
            self.tokens.put(token)
            changes: dict[str, object] = {"verification_token_hash": token.token_hash}
            if password_hash is not None:
                changes["password_hash"] = password_hash
            self.by_id[user.id] = replace(current, **changes)  # type: ignore[arg-type]

    def verify_email(self, token: OneTimeToken) -> None:
        with self._lock:
            user = self.by_id.get(token.user_id)
            if self.tokens.get(token.kind, token.token_hash) is None:
                raise TokenNotUsable()
            if user is None or user.verification_token_hash != token.token_hash:
                raise TokenNotUsable()
            self.tokens.delete(token.kind, token.token_hash)
            self.by_id[user.id] = replace(user, email_verified=True, verification_token_hash=None)

    def update_name(self, user_id: str, name: str) -> User | None:
        user = self.by_id.get(user_id)
        if user is None:
            return None
        self.by_id[user_id] = replace(user, name=name)
        return self.by_id[user_id]

    def update_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> None:
        user = self.by_id[user_id]
        if user.password_hash == old_hash:
            self.by_id[user_id] = replace(user, password_hash=new_hash)


class FakeSessions:
    def __init__(self) -> None:
        self.items: dict[str, Session] = {}

    def create(self, session: Session) -> None:
        self.items[session.id] = session


class FakeMemberships:
    def __init__(self) -> None:
        self.items: dict[str, list[OrganizationMembership]] = {}

    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        return list(self.items.get(user_id, []))


class FakeMailer:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[OutgoingEmail] = []
        self.fail = fail

    def send(self, email: OutgoingEmail) -> None:
        if self.fail:
            raise RuntimeError("SES is down")
        self.sent.append(email)
