"""The composition root: real adapters behind the services, one set per container.

One factory per dependency (the clock, the audit log, the mailer, each repository,
each service), built on first use and then kept (lru_cache), so a container makes one
of each, whatever number of services share it. Imports stay inside the factories, so
that each function loads only the adapters its own services use: the authorizer, which
imports this module for the JWT codec, loads no PynamoDB, pydantic, argon2 or pyotp
(`make bench`, "Cold starts").

Factories call each other through this module's globals, so a test may swap one
(`monkeypatch.setattr(wiring, "password_hasher", ...)`) before the services that use it
are built; clearing every cache (tests' and bench's `forget_containers()`) starts a new
container.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from kuploy_access.config import settings

if TYPE_CHECKING:
    from kuploy_access.adapters.clock import SystemClock
    from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog
    from kuploy_access.adapters.dynamodb.idempotency import DynamoAnswerLedger
    from kuploy_access.adapters.dynamodb.identities import DynamoIdentityStore
    from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
    from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle
    from kuploy_access.adapters.dynamodb.oauth_flows import DynamoOAuthFlows
    from kuploy_access.adapters.dynamodb.org_purge import DynamoOrgPurge
    from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter
    from kuploy_access.adapters.dynamodb.resources import DynamoResourceRepository
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository
    from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository
    from kuploy_access.adapters.password_hasher import Argon2PasswordHasher
    from kuploy_access.adapters.secret_box import AesGcmSecretBox
    from kuploy_access.domain.access_tokens import JwtCodec
    from kuploy_access.observability import EmfCounter
    from kuploy_access.services.access import AccessService
    from kuploy_access.services.access_review import AccessReviewService
    from kuploy_access.services.account import AccountService
    from kuploy_access.services.admin import AdminService
    from kuploy_access.services.api_keys import ApiKeyService
    from kuploy_access.services.delivery import CountedMailer
    from kuploy_access.services.invitation_page import InvitationPageService
    from kuploy_access.services.invitations import InvitationService
    from kuploy_access.services.login import LoginService
    from kuploy_access.services.members import MemberService
    from kuploy_access.services.oauth import OAuthService
    from kuploy_access.services.org_purge import OrgPurgeService
    from kuploy_access.services.organizations import OrganizationService
    from kuploy_access.services.pacing import AnswerFloor
    from kuploy_access.services.passwords import PasswordService
    from kuploy_access.services.ports.identities import ProviderDirectory
    from kuploy_access.services.reauthentication import ReauthenticationService
    from kuploy_access.services.resources import ResourceService
    from kuploy_access.services.security_log import SecurityLogService
    from kuploy_access.services.sessions import SessionService
    from kuploy_access.services.signup import SignUpService
    from kuploy_access.services.sudo import SudoService
    from kuploy_access.services.two_factor import TwoFactorService

# Cold start: a function whose environment lacks a setting stops here, naming it
# (config.MissingSetting), not at its first request.
settings()


# --- adapters ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def clock() -> SystemClock:
    from kuploy_access.adapters.clock import SystemClock

    return SystemClock()


@lru_cache(maxsize=1)
def audit_log() -> DynamoAuditLog:
    from kuploy_access.adapters.dynamodb.audit import DynamoAuditLog

    return DynamoAuditLog()


@lru_cache(maxsize=1)
def event_counter() -> EmfCounter:
    from kuploy_access.observability import EmfCounter

    return EmfCounter()


@lru_cache(maxsize=1)
def mailer() -> CountedMailer:
    from kuploy_access.adapters.ses_mailer import SesMailer
    from kuploy_access.services.delivery import CountedMailer

    config = settings()
    return CountedMailer(SesMailer(config.sender_email, config.region, config.ses_configuration_set), event_counter())


@lru_cache(maxsize=1)
def answer_floor() -> AnswerFloor:
    from kuploy_access.services.pacing import AnswerFloor

    return AnswerFloor(settings().quiet_answer_seconds)


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
def secret_box() -> AesGcmSecretBox:
    from kuploy_access.adapters.secret_box import AesGcmSecretBox

    return AesGcmSecretBox(settings().totp_key_secret_id)


@lru_cache(maxsize=1)
def rate_limiter() -> DynamoRateLimiter:
    from kuploy_access.adapters.dynamodb.rate_limits import DynamoRateLimiter

    return DynamoRateLimiter()


@lru_cache(maxsize=1)
def login_throttle() -> DynamoLoginThrottle:
    from kuploy_access.adapters.dynamodb.login_throttle import DynamoLoginThrottle

    return DynamoLoginThrottle()


@lru_cache(maxsize=1)
def user_repository() -> DynamoUserRepository:
    from kuploy_access.adapters.dynamodb.users import DynamoUserRepository

    return DynamoUserRepository()


@lru_cache(maxsize=1)
def token_repository() -> DynamoTokenRepository:
    from kuploy_access.adapters.dynamodb.tokens import DynamoTokenRepository

    return DynamoTokenRepository()


@lru_cache(maxsize=1)
def session_repository() -> DynamoSessionRepository:
    from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository

    return DynamoSessionRepository()


@lru_cache(maxsize=1)
def two_factor_repository() -> DynamoTwoFactorRepository:
    from kuploy_access.adapters.dynamodb.two_factor import DynamoTwoFactorRepository

    return DynamoTwoFactorRepository()


@lru_cache(maxsize=1)
def organization_repository() -> DynamoOrganizationRepository:
    from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository

    return DynamoOrganizationRepository()


@lru_cache(maxsize=1)
def invitation_repository() -> DynamoInvitationRepository:
    from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository

    return DynamoInvitationRepository()


@lru_cache(maxsize=1)
def api_key_repository() -> DynamoApiKeyRepository:
    from kuploy_access.adapters.dynamodb.api_keys import DynamoApiKeyRepository

    return DynamoApiKeyRepository()


@lru_cache(maxsize=1)
def resource_repository() -> DynamoResourceRepository:
    from kuploy_access.adapters.dynamodb.resources import DynamoResourceRepository

    return DynamoResourceRepository()


@lru_cache(maxsize=1)
def answer_ledger() -> DynamoAnswerLedger:
    # Powertools' idempotency utility (and boto3 with it) loads on the first request
    # that carries an Idempotency-Key, not on a cold start.
    from kuploy_access.adapters.dynamodb.idempotency import DynamoAnswerLedger

    config = settings()
    return DynamoAnswerLedger(config.table_name, config.region, config.idempotency_key_secret_id)


# --- services ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def session_service() -> SessionService:
    from kuploy_access.services.sessions import SessionService

    return SessionService(
        sessions=session_repository(),
        clock=clock(),
        # The factory, not the codec: a service that only lists and revokes sessions
        # never fetches the signing key.
        access_tokens=jwt_codec,
        counter=event_counter(),
        lifetimes=settings().session_lifetimes,
        audit=audit_log(),
    )


@lru_cache(maxsize=1)
def password_service() -> PasswordService:
    from kuploy_access.services.passwords import PasswordService

    return PasswordService(
        users=user_repository(),
        tokens=token_repository(),
        sessions=session_service(),
        mailer=mailer(),
        hasher=password_hasher(),
        clock=clock(),
        limiter=rate_limiter(),
        throttle=login_throttle(),
        public_base_url=settings().public_base_url,
        floor=answer_floor(),
    )


@lru_cache(maxsize=1)
def signup_service() -> SignUpService:
    from kuploy_access.services.signup import SignUpService

    return SignUpService(
        users=user_repository(),
        tokens=token_repository(),
        # Verifying an address ends the account's sessions; only listing and revoking
        # them, so the signing key is never fetched here.
        sessions=session_service(),
        mailer=mailer(),
        hasher=password_hasher(),
        clock=clock(),
        public_base_url=settings().public_base_url,
        limiter=rate_limiter(),
        floor=answer_floor(),
    )


@lru_cache(maxsize=1)
def login_service() -> LoginService:
    from kuploy_access.services.login import LoginService

    return LoginService(
        users=user_repository(),
        sessions=session_service(),
        hasher=password_hasher(),
        clock=clock(),
        throttle=login_throttle(),
        tokens=token_repository(),
        audit=audit_log(),
        mailer=mailer(),
        public_base_url=settings().public_base_url,
        counter=event_counter(),
        two_factor=two_factor_service,
    )


@lru_cache(maxsize=1)
def two_factor_service() -> TwoFactorService:
    from kuploy_access.services.two_factor import TwoFactorService

    return TwoFactorService(
        users=user_repository(),
        factors=two_factor_repository(),
        box=secret_box(),
        hasher=password_hasher(),
        mailer=mailer(),
        audit=audit_log(),
        limiter=rate_limiter(),
        clock=clock(),
        public_base_url=settings().public_base_url,
        sessions=session_service(),
        throttle=login_throttle(),
    )


@lru_cache(maxsize=1)
def reauthentication_service() -> ReauthenticationService:
    from kuploy_access.services.reauthentication import ReauthenticationService

    return ReauthenticationService(
        users=user_repository(),
        audit=audit_log(),
        clock=clock(),
        sessions=session_service(),
        login=login_service(),
        two_factor=two_factor_service,
    )


@lru_cache(maxsize=1)
def sudo_service() -> SudoService:
    from kuploy_access.services.sudo import SudoService

    return SudoService(sessions=session_repository(), clock=clock(), window=settings().sudo_mode_window)


@lru_cache(maxsize=1)
def account_service() -> AccountService:
    from kuploy_access.services.account import AccountService

    return AccountService(users=user_repository(), memberships=organization_repository(), identities=identity_store())


@lru_cache(maxsize=1)
def identity_store() -> DynamoIdentityStore:
    from kuploy_access.adapters.dynamodb.identities import DynamoIdentityStore

    return DynamoIdentityStore()


@lru_cache(maxsize=1)
def oauth_flows() -> DynamoOAuthFlows:
    from kuploy_access.adapters.dynamodb.oauth_flows import DynamoOAuthFlows

    return DynamoOAuthFlows()


@lru_cache(maxsize=1)
def provider_directory() -> ProviderDirectory:
    # Authlib, joserfc and requests load here, in the OAuth function only.
    from kuploy_access.adapters.oauth import OAuthProviderDirectory
    from kuploy_access.config import oauth_settings

    return OAuthProviderDirectory(oauth_settings())


@lru_cache(maxsize=1)
def oauth_service() -> OAuthService:
    from kuploy_access.config import oauth_settings
    from kuploy_access.services.oauth import OAuthService

    return OAuthService(
        identities=identity_store(),
        flows=oauth_flows(),
        login_codes=token_repository(),
        users=user_repository(),
        providers=provider_directory(),
        sessions=session_service(),
        audit=audit_log(),
        mailer=mailer(),
        clock=clock(),
        limiter=rate_limiter(),
        public_base_url=settings().public_base_url,
        redirect_allow_list=oauth_settings().redirect_allow_list,
    )


@lru_cache(maxsize=1)
def security_log_service() -> SecurityLogService:
    from kuploy_access.services.security_log import SecurityLogService

    return SecurityLogService(trail=audit_log())


@lru_cache(maxsize=1)
def access_service() -> AccessService:
    from kuploy_access.services.access import AccessService

    return AccessService(orgs=organization_repository(), clock=clock())


@lru_cache(maxsize=1)
def organization_service() -> OrganizationService:
    from kuploy_access.services.organizations import OrganizationService

    return OrganizationService(
        orgs=organization_repository(),
        users=user_repository(),
        audit=audit_log(),
        clock=clock(),
        limiter=rate_limiter(),
    )


@lru_cache(maxsize=1)
def member_service() -> MemberService:
    from kuploy_access.services.members import MemberService

    return MemberService(orgs=organization_repository(), clock=clock(), invitations=invitation_repository())


@lru_cache(maxsize=1)
def invitation_service() -> InvitationService:
    from kuploy_access.services.invitations import InvitationService

    config = settings()
    return InvitationService(
        invitations=invitation_repository(),
        users=user_repository(),
        mailer=mailer(),
        limiter=rate_limiter(),
        clock=clock(),
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
    from kuploy_access.services.resources import ResourceService

    return ResourceService(resources=resource_repository(), clock=clock())


@lru_cache(maxsize=1)
def admin_service() -> AdminService:
    from kuploy_access.services.admin import AdminService

    return AdminService(
        users=user_repository(),
        factors=two_factor_repository(),
        sessions=session_service(),
        mailer=mailer(),
        clock=clock(),
        public_base_url=settings().public_base_url,
    )


@lru_cache(maxsize=1)
def api_key_service() -> ApiKeyService:
    from kuploy_access.services.api_keys import ApiKeyService

    return ApiKeyService(keys=api_key_repository(), clock=clock())


@lru_cache(maxsize=1)
def access_review_service() -> AccessReviewService:
    from kuploy_access.services.access_review import AccessReviewService

    return AccessReviewService(
        orgs=organization_repository(),
        keys=api_key_repository(),
        invitations=invitation_repository(),
        clock=clock(),
    )


@lru_cache(maxsize=1)
def org_purge_store() -> DynamoOrgPurge:
    from kuploy_access.adapters.dynamodb.org_purge import DynamoOrgPurge

    return DynamoOrgPurge()


@lru_cache(maxsize=1)
def org_purge_service() -> OrgPurgeService:
    from kuploy_access.services.org_purge import OrgPurgeService

    return OrgPurgeService(store=org_purge_store())
