"""The composition root: real adapters behind the services, one set per container.

Imports stay inside the factories so that each function loads only the adapters its
own service uses.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from kuploy_access.config import settings

if TYPE_CHECKING:
    from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle
    from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher
    from kuploy_access.domain.access_tokens import JwtCodec
    from kuploy_access.services.access import AccessService
    from kuploy_access.services.access_review import AccessReviewService
    from kuploy_access.services.account import AccountService
    from kuploy_access.services.admin import AdminService
    from kuploy_access.services.api_keys import ApiKeyService
    from kuploy_access.services.invitation_page import InvitationPageService
    from kuploy_access.services.invitations import InvitationService
    from kuploy_access.services.login import LoginService
    from kuploy_access.services.members import MemberService
    from kuploy_access.services.organizations import OrganizationService
    from kuploy_access.services.passwords import PasswordService
    from kuploy_access.services.reauthentication import ReauthenticationService
    from kuploy_access.services.resources import ResourceService
    from kuploy_access.services.sessions import SessionService
    from kuploy_access.services.signup import SignUpService
    from kuploy_access.services.sudo import SudoService
    from kuploy_access.services.two_factor import TwoFactorService


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
def login_throttle() -> DynamoLoginThrottle:
    from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle

    return DynamoLoginThrottle()


@lru_cache(maxsize=1)
def session_service() -> SessionService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
    from kuploy_access.services.sessions import SessionService

    return SessionService(
        sessions=DynamoSessionRepository(),
        clock=SystemClock(),
        access_tokens=jwt_codec,
        lifetimes=settings().session_lifetimes,
        audit=DynamoAuditLog(),
    )


@lru_cache(maxsize=1)
def password_service() -> PasswordService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.pacing import AnswerFloor
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
        throttle=login_throttle(),
        audit=DynamoAuditLog(),
        public_base_url=config.public_base_url,
        floor=AnswerFloor(config.quiet_answer_seconds),
    )


@lru_cache(maxsize=1)
def signup_service() -> SignUpService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.pacing import AnswerFloor
    from kuploy_access.services.signup import SignUpService

    config = settings()
    return SignUpService(
        users=DynamoUserRepository(),
        tokens=DynamoTokenRepository(),
        # Verifying an address ends the account's sessions; only listing and revoking
        # them, so the signing key is never fetched here.
        sessions=session_service(),
        mailer=SesMailer(config.sender_email, config.region),
        hasher=password_hasher(),
        clock=SystemClock(),
        public_base_url=config.public_base_url,
        limiter=rate_limiter(),
        floor=AnswerFloor(config.quiet_answer_seconds),
    )


@lru_cache(maxsize=1)
def login_service() -> LoginService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.login import LoginService

    config = settings()
    return LoginService(
        users=DynamoUserRepository(),
        sessions=session_service(),
        hasher=password_hasher(),
        clock=SystemClock(),
        throttle=login_throttle(),
        tokens=DynamoTokenRepository(),
        audit=DynamoAuditLog(),
        mailer=SesMailer(config.sender_email, config.region),
        public_base_url=config.public_base_url,
        two_factor=two_factor_service,
    )


@lru_cache(maxsize=1)
def two_factor_service() -> TwoFactorService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.secret_box import AesGcmSecretBox
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.two_factor import TwoFactorService

    config = settings()
    return TwoFactorService(
        users=DynamoUserRepository(),
        factors=DynamoTwoFactorRepository(),
        box=AesGcmSecretBox(config.totp_key_secret_id),
        hasher=password_hasher(),
        mailer=SesMailer(config.sender_email, config.region),
        audit=DynamoAuditLog(),
        limiter=rate_limiter(),
        clock=SystemClock(),
        public_base_url=config.public_base_url,
        sessions=session_service(),
        throttle=login_throttle(),
    )


@lru_cache(maxsize=1)
def reauthentication_service() -> ReauthenticationService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.services.reauthentication import ReauthenticationService

    return ReauthenticationService(
        users=DynamoUserRepository(),
        audit=DynamoAuditLog(),
        clock=SystemClock(),
        sessions=session_service(),
        login=login_service(),
        two_factor=two_factor_service,
    )


@lru_cache(maxsize=1)
def sudo_service() -> SudoService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
    from kuploy_access.services.sudo import SudoService

    return SudoService(sessions=DynamoSessionRepository(), clock=SystemClock(), window=settings().sudo_mode_window)


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.services.account import AccountService

    return AccountService(users=DynamoUserRepository(), memberships=organization_repository())


@lru_cache(maxsize=1)
def organization_repository() -> DynamoOrganizationRepository:
    from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository

    return DynamoOrganizationRepository()


@lru_cache(maxsize=1)
def access_service() -> AccessService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.services.access import AccessService

    return AccessService(orgs=organization_repository(), clock=SystemClock())


@lru_cache(maxsize=1)
def organization_service() -> OrganizationService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.services.organizations import OrganizationService

    return OrganizationService(
        orgs=organization_repository(),
        users=DynamoUserRepository(),
        audit=DynamoAuditLog(),
        clock=SystemClock(),
        limiter=rate_limiter(),
    )


@lru_cache(maxsize=1)
def member_service() -> MemberService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
    from kuploy_access.services.members import MemberService

    return MemberService(orgs=organization_repository(), clock=SystemClock(), invitations=DynamoInvitationRepository())


@lru_cache(maxsize=1)
def invitation_service() -> InvitationService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.invitations import InvitationService

    config = settings()
    return InvitationService(
        invitations=DynamoInvitationRepository(),
        users=DynamoUserRepository(),
        mailer=SesMailer(config.sender_email, config.region),
        limiter=rate_limiter(),
        clock=SystemClock(),
        public_base_url=config.public_base_url,
        lifetime=config.invitation_lifetime,
    )


@lru_cache(maxsize=1)
def invitation_page_service() -> InvitationPageService:
    from kuploy_access.services.invitation_page import InvitationPageService

    return InvitationPageService(
        invitations=invitation_service(),
        signup=signup_service,
        login=login_service,
        two_factor=two_factor_service,
    )


@lru_cache(maxsize=1)
def resource_service() -> ResourceService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.resources import DynamoResourceRepository
    from kuploy_access.services.resources import ResourceService

    return ResourceService(resources=DynamoResourceRepository(), clock=SystemClock())


@lru_cache(maxsize=1)
def admin_service() -> AdminService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.admin import AdminService

    config = settings()
    return AdminService(
        users=DynamoUserRepository(),
        factors=DynamoTwoFactorRepository(),
        sessions=session_service(),
        audit=DynamoAuditLog(),
        mailer=SesMailer(config.sender_email, config.region),
        clock=SystemClock(),
        public_base_url=config.public_base_url,
    )


@lru_cache(maxsize=1)
def api_key_service() -> ApiKeyService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository
    from kuploy_access.services.api_keys import ApiKeyService

    return ApiKeyService(keys=DynamoApiKeyRepository(), clock=SystemClock())


@lru_cache(maxsize=1)
def access_review_service() -> AccessReviewService:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository
    from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
    from kuploy_access.services.access_review import AccessReviewService

    return AccessReviewService(
        orgs=organization_repository(),
        keys=DynamoApiKeyRepository(),
        invitations=DynamoInvitationRepository(),
        clock=SystemClock(),
    )
