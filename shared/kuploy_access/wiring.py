"""The composition root: real adapters behind the services, one set per container.

Imports stay inside the factories so that each function loads only the adapters its
own service uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from kuploy_access.config import settings

if TYPE_CHECKING:
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher
    from kuploy_access.domain.access_tokens import JwtCodec
    from kuploy_access.services.account import AccountService
    from kuploy_access.services.login import LoginService
    from kuploy_access.services.passwords import PasswordService
    from kuploy_access.services.sessions import SessionService
    from kuploy_access.services.signup import SignUpService


@lru_cache(maxsize=1)
def password_hasher() -> Argon2PasswordHasher:
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher

    return Argon2PasswordHasher()


@lru_cache(maxsize=1)
def jwt_codec() -> JwtCodec:
    from kuploy_access.adapters.signing_key import signing_key
    from kuploy_access.domain.access_tokens import JwtCodec

    return JwtCodec(signing_key(settings().signing_key_secret_id))


@lru_cache(maxsize=1)
def rate_limiter() -> DynamoRateLimiter:
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter

    return DynamoRateLimiter()


@lru_cache(maxsize=1)
def session_service() -> SessionService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
    from kuploy_access.services.sessions import SessionService

    return SessionService(
        sessions=DynamoSessionRepository(),
        clock=SystemClock(),
        access_tokens=jwt_codec,
        lifetimes=settings().session_lifetimes,
    )


@lru_cache(maxsize=1)
def password_service() -> PasswordService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.passwords import PasswordService

    config = settings()
    return PasswordService(
        users=DynamoUserRepository(),
        tokens=DynamoTokenRepository(),
        sessions=session_service(),
        mailer=SesMailer(config.sender_email, config.region),
        hasher=password_hasher(),
        clock=SystemClock(),
        limiter=rate_limiter(),
        public_base_url=config.public_base_url,
    )


@lru_cache(maxsize=1)
def signup_service() -> SignUpService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.signup import SignUpService

    config = settings()
    return SignUpService(
        users=DynamoUserRepository(),
        tokens=DynamoTokenRepository(),
        mailer=SesMailer(config.sender_email, config.region),
        hasher=password_hasher(),
        clock=SystemClock(),
        public_base_url=config.public_base_url,
        limiter=rate_limiter(),
    )


@lru_cache(maxsize=1)
def login_service() -> LoginService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.services.login import LoginService

    return LoginService(
        users=DynamoUserRepository(),
        sessions=session_service(),
        hasher=password_hasher(),
        clock=SystemClock(),
        limiter=rate_limiter(),
    )


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    from kuploy_access.adapters.dynamodb.memberships import DynamoMembershipRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.services.account import AccountService

    return AccountService(users=DynamoUserRepository(), memberships=DynamoMembershipRepository())
