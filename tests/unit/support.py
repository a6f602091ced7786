"""Builders shared by the service tests: services wired to the in-memory fakes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from kuploy_access.domain.access_tokens import JwtCodec
from kuploy_access.domain.email_messages import OutgoingEmail
from kuploy_access.domain.sessions import SessionLifetimes
from kuploy_access.domain.users import User
from kuploy_access.services.account import AccountService
from kuploy_access.services.login import LoginService
from kuploy_access.services.passwords import PasswordService
from kuploy_access.services.sessions import SessionService
from kuploy_access.services.signup import SignUpService
from tests.unit.fakes import (
    FakeAccountTrail,
    FakeClock,
    FakeHasher,
    FakeLoginThrottle,
    FakeMailer,
    FakeMemberships,
    FakeRateLimiter,
    FakeSessions,
    FakeTokens,
    FakeUsers,
)
from tests.unit.identity_fakes import FakeIdentities
from tests.unit.jwt_helpers import TEST_KEY
from tests.unit.metric_fakes import CountedEvents

PUBLIC_BASE_URL = "https://console.kuploy.example"
# A fixed moment in the past of any machine running the tests: the JWT library also
# looks at the system clock (see test_access_tokens), and these tests are not about that.
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

_LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email\?token=[^\s\"'<>]+")
_RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/reset-password\?token=[^\s\"'<>]+")


class CountingHasher(FakeHasher):
    """FakeHasher that also counts how often it was asked to hash and verify."""

    def __init__(self, version: str = "v1") -> None:
        super().__init__(version)
        self.hash_calls = 0
        self.verify_calls = 0

    def hash(self, password: str) -> str:
        self.hash_calls += 1
        return super().hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verify_calls += 1
        return super().verify(password_hash, password)


@dataclass
class World:
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    tokens: FakeTokens = field(default_factory=FakeTokens)
    mailer: FakeMailer = field(default_factory=FakeMailer)
    hasher: CountingHasher = field(default_factory=CountingHasher)
    sessions: FakeSessions = field(default_factory=FakeSessions)
    memberships: FakeMemberships = field(default_factory=FakeMemberships)
    codec: JwtCodec = field(default_factory=lambda: JwtCodec(TEST_KEY))
    lifetimes: SessionLifetimes = field(default_factory=SessionLifetimes)
    users: FakeUsers = field(init=False)
    limiter: FakeRateLimiter = field(init=False)
    trail: FakeAccountTrail = field(default_factory=FakeAccountTrail)
    throttle: FakeLoginThrottle = field(init=False)
    counted: CountedEvents = field(default_factory=CountedEvents)

    def __post_init__(self) -> None:
        self.users = FakeUsers(self.tokens, self.trail)
        self.identities = FakeIdentities(self.users)
        self.limiter = FakeRateLimiter(self.users)
        self.throttle = FakeLoginThrottle(self.users, self.limiter, self.trail)

    def session_service(self) -> SessionService:
        return SessionService(
            sessions=self.sessions,
            clock=self.clock,
            access_tokens=lambda: self.codec,
            counter=self.counted,
            lifetimes=self.lifetimes,
            audit=self.trail,
        )

    def passwords(self) -> PasswordService:
        return PasswordService(
            users=self.users,
            tokens=self.tokens,
            sessions=self.session_service(),
            mailer=self.mailer,
            hasher=self.hasher,
            clock=self.clock,
            limiter=self.limiter,
            throttle=self.throttle,
            public_base_url=PUBLIC_BASE_URL,
        )

    def signup(self) -> SignUpService:
        return SignUpService(
            users=self.users,
            tokens=self.tokens,
            sessions=self.session_service(),
            mailer=self.mailer,
            hasher=self.hasher,
            clock=self.clock,
            public_base_url=PUBLIC_BASE_URL,
            limiter=self.limiter,
        )

    def login(self) -> LoginService:
        return LoginService(
            users=self.users,
            sessions=self.session_service(),
            hasher=self.hasher,
            clock=self.clock,
            throttle=self.throttle,
            tokens=self.tokens,
            audit=self.trail,
            mailer=self.mailer,
            public_base_url=PUBLIC_BASE_URL,
            counter=self.counted,
        )

    def account(self) -> AccountService:
        return AccountService(users=self.users, memberships=self.memberships, identities=self.identities)

    def add_user(
        self,
        email: str = "ada@example.com",
        password: str = "Analytical-Engine-1843",
        verified: bool = True,
        name: str = "Ada",
        user_id: str = "usr_01ada",
        hasher: FakeHasher | None = None,
    ) -> User:
        user = User(
            id=user_id,
            email=email,
            name=name,
            password_hash=(hasher or FakeHasher(self.hasher.version)).hash(password),
            email_verified=verified,
            two_factor_enabled=False,
            created_at=self.clock.now(),
        )
        self.users.by_id[user.id] = user
        self.users.by_email[user.email] = user.id
        return user


def verification_link(email: OutgoingEmail) -> str:
    found = _LINK.findall(email.text)
    assert len(found) == 1, email.text
    return str(found[0])


def verification_secret(email: OutgoingEmail) -> str:
    query = parse_qs(urlsplit(verification_link(email)).query)
    return query["token"][0]


def reset_link(email: OutgoingEmail) -> str:
    found = _RESET_LINK.findall(email.text)
    assert len(found) == 1, email.text
    return str(found[0])


def reset_secret(email: OutgoingEmail) -> str:
    query = parse_qs(urlsplit(reset_link(email)).query)
    return query["token"][0]
