"""Sign-in with GitHub, Google and GitLab (domain/identities.py has the rules).

A flow starts at `GET /auth/oauth/{provider}/start` (sign-in) or
`POST /me/identities/{provider}/link` (link, in sudo mode) and ends at the provider's
callback, which always answers a redirect to the flow's `redirect_to`: with a single-use
`login_code` (sign-in), `linked=<provider>` (link), or `error=<code>` and nothing created.
The login code becomes tokens at `POST /auth/oauth/exchange`, or the second step's
challenge when the account has 2FA: a provider never skips it.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kuploy_access.domain import email_messages
from kuploy_access.domain.audit import AuditEvent, account_event
from kuploy_access.domain.client_address import limit_key
from kuploy_access.domain.errors import (
    IdentityNotLinked,
    InvalidToken,
    LastSignInMethod,
    ProviderNotConfigured,
    TokenExpired,
    Unauthorized,
    ValidationFailed,
)
from kuploy_access.domain.identities import (
    LOGIN_CODE_LIFETIME,
    MAX_SUBJECT_LENGTH,
    OAUTH_FLOW_LIFETIME,
    PROVIDER_NAMES,
    FlowError,
    FlowMode,
    Identity,
    LinkOutcome,
    OAuthFlow,
    Provider,
    ProviderAccount,
    first_sign_in,
    flow_secrets,
    provider_named,
    redirect_allowed,
    well_formed_state,
)
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.one_time_tokens import MAX_TOKEN_LENGTH, OneTimeToken, TokenKind, hash_secret, new_secret
from kuploy_access.domain.rate_limits import OAUTH_FLOWS_PER_ADDRESS, RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.domain.users import User, clean_name
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.ports.audit import AuditRecorder
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.identities import (
    AccountChanged,
    IdentityStore,
    IdentityTaken,
    LastSignInMethodLeft,
    LoginCodes,
    NotLinked,
    OAuthFlows,
    ProviderAlreadyLinked,
    ProviderClient,
    ProviderDirectory,
    ProviderFailed,
)
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.throttling import RateLimiter
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar, UserLookup
from kuploy_access.services.sessions import ClientInfo, SessionService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedFlow:
    """Where the browser goes next, and the secret of the cookie that binds the flow to
    it (None when the flow could not start and `location` carries the error)."""

    location: str
    browser_secret: str | None


class _FlowFailed(Exception):
    def __init__(self, error: FlowError) -> None:
        super().__init__(error.value)
        self.error = error


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query (an allow-listed URL may have one)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*query, *params.items()])))


@dataclass
class OAuthService:
    identities: IdentityStore
    flows: OAuthFlows
    login_codes: LoginCodes
    users: UserLookup
    providers: ProviderDirectory
    sessions: SessionService
    audit: AuditRecorder
    mailer: Mailer
    clock: Clock
    limiter: RateLimiter
    public_base_url: str
    redirect_allow_list: tuple[str, ...]

    def configured_providers(self) -> list[Provider]:
        return self.providers.configured()

    # --- starting a flow ---------------------------------------------------------------

    def start_sign_in(self, provider_name: str, redirect_to: str, client: ClientInfo) -> StartedFlow:
        return self._start(self._client(provider_name), FlowMode.SIGN_IN, redirect_to, client)

    def start_link(
        self, user_id: str, session_id: str, provider_name: str, redirect_to: str, client: ClientInfo
    ) -> StartedFlow:
        """In sudo mode (the route's guard); the flow is the session's: signing out ends it."""
        return self._start(self._client(provider_name), FlowMode.LINK, redirect_to, client, user_id, session_id)

    def _start(
        self,
        provider: ProviderClient,
        mode: FlowMode,
        redirect_to: str,
        client: ClientInfo,
        user_id: str | None = None,
        session_id: str | None = None,
    ) -> StartedFlow:
        if not redirect_allowed(redirect_to, self.redirect_allow_list):
            raise ValidationFailed("redirect_to must be one of the addresses the platform allows, exactly")
        now = self.clock.now()
        if not self.limiter.consume(OAUTH_FLOWS_PER_ADDRESS, limit_key(client.ip), now):
            raise RateLimited(OAUTH_FLOWS_PER_ADDRESS.retry_after(now))
        state, browser_secret = new_secret(), new_secret()
        try:
            location = provider.authorize_url(
                state, flow_secrets(state, browser_secret), self._callback(provider.provider)
            )
        except ProviderFailed as failed:
            return StartedFlow(with_query(redirect_to, error=failed.error.value), None)
        flow = OAuthFlow(
            state_hash=hash_secret(state),
            provider=provider.provider,
            mode=mode,
            redirect_to=redirect_to,
            browser_hash=hash_secret(browser_secret),
            expires_at=now + OAUTH_FLOW_LIFETIME,
            user_id=user_id,
            session_id=session_id,
        )
        self.flows.save(flow)
        return StartedFlow(location, browser_secret)

    # --- the callback --------------------------------------------------------------------

    def finish(
        self,
        provider_name: str,
        state: str,
        code: str,
        error: str,
        browser_secret: str,
        client: ClientInfo,
    ) -> str:
        """The callback: where to send the browser. Every refusal is an `error=` there."""
        provider_client = self._client(provider_name)
        used = self.flows.use(hash_secret(state)) if well_formed_state(state) else None
        if used is None:
            return with_query(self._fallback(), error=FlowError.INVALID_STATE.value)
        flow, first_use = used
        try:
            if not first_use or flow.is_expired(self.clock.now()) or flow.provider is not provider_client.provider:
                raise _FlowFailed(FlowError.INVALID_STATE)
            # The cookie of the browser that started the flow: a callback URL carried to
            # another browser (login CSRF) signs nobody in there.
            if not browser_secret or not hmac.compare_digest(hash_secret(browser_secret), flow.browser_hash):
                raise _FlowFailed(FlowError.BROWSER_MISMATCH)
            if error:
                denied = error == FlowError.ACCESS_DENIED.value
                raise _FlowFailed(FlowError.ACCESS_DENIED if denied else FlowError.PROVIDER_ERROR)
            if not code or len(code) > MAX_TOKEN_LENGTH:
                raise _FlowFailed(FlowError.PROVIDER_ERROR)
            try:
                account = provider_client.fetch_account(
                    code, flow_secrets(state, browser_secret), self._callback(flow.provider)
                )
            except ProviderFailed as failed:
                # The detail names the step and the kind of failure, never a token or secret.
                logger.warning(
                    "provider sign-in failed", extra={"provider": flow.provider.value, "detail": failed.detail}
                )
                raise _FlowFailed(failed.error) from None
            if not account.subject or len(account.subject) > MAX_SUBJECT_LENGTH:
                logger.warning("provider answered an unusable user id", extra={"provider": flow.provider.value})
                raise _FlowFailed(FlowError.PROVIDER_ERROR)
            if flow.mode is FlowMode.LINK:
                return self._link(flow, account, client)
            return self._sign_in(flow, account, client)
        except _FlowFailed as failed:
            return with_query(flow.redirect_to, error=failed.error.value)

    def _sign_in(self, flow: OAuthFlow, account: ProviderAccount, client: ClientInfo) -> str:
        user = self._account_for(account, client, attempts_left=2)
        self.audit.record(self._event(user, "login.provider_verified", client, provider=account.provider.value))
        secret = new_secret()
        self.login_codes.put(
            OneTimeToken(
                kind=TokenKind.LOGIN_CODE,
                token_hash=hash_secret(secret),
                user_id=user.id,
                expires_at=self.clock.now() + LOGIN_CODE_LIFETIME,
            )
        )
        return with_query(flow.redirect_to, login_code=secret)

    def _account_for(self, account: ProviderAccount, client: ClientInfo, attempts_left: int) -> User:
        """The account this provider account signs in to, linking or creating it first
        when needed. A race with a sign-up, a verification or another callback for the
        same person is decided again on what the table holds now."""
        linked = self.identities.find(account.provider, account.subject)
        if linked is not None:
            user = self.users.get(linked.user_id)
            if user is None:
                raise _FlowFailed(FlowError.ACCOUNT_GONE)
            return user
        holder = self.users.get_by_email(account.email) if account.email else None
        outcome = first_sign_in(account, holder.email_verified if holder else None)
        if outcome is LinkOutcome.REFUSE_UNVERIFIED_EMAIL or account.email is None:
            raise _FlowFailed(FlowError.EMAIL_NOT_VERIFIED)
        now = self.clock.now()
        try:
            if outcome is LinkOutcome.CREATE or holder is None:
                # first_sign_in answers CREATE whenever no account holds the address.
                return self._create(account, account.email, now, client)
            identity = self._identity(account, holder.id, now)
            if outcome is LinkOutcome.LINK_VERIFIED:
                self.identities.link(identity)
                self._linked(holder, account.provider, client, "")
            else:
                self.identities.take_over(holder, identity, clean_name(account.name))
                # Whoever pre-registered the address had no way in (it was unverified);
                # end anything they might hold all the same.
                self.sessions.revoke_all(holder.id)
                self.audit.record(self._event(holder, "account.claimed", client, provider=account.provider.value))
                self._linked(
                    holder,
                    account.provider,
                    client,
                    "The address was not verified yet, so the password chosen when it was registered and any "
                    "pending sign-up links were removed. Set a password with 'Forgot password' if you want one.",
                )
            # Only its id and address are used from here on, and neither changed.
            return holder
        except (EmailAlreadyRegistered, AccountChanged, IdentityTaken):
            if attempts_left <= 1:
                raise _FlowFailed(FlowError.PROVIDER_ERROR) from None
            return self._account_for(account, client, attempts_left - 1)
        except EmailTooSimilar:
            raise _FlowFailed(FlowError.EMAIL_TOO_SIMILAR) from None
        except ProviderAlreadyLinked:
            raise _FlowFailed(FlowError.PROVIDER_ALREADY_LINKED) from None

    def _create(self, account: ProviderAccount, email: str, now: datetime, client: ClientInfo) -> User:
        user = User(
            id=new_id("usr"),
            email=email,
            name=clean_name(account.name),
            password_hash=None,
            email_verified=True,
            two_factor_enabled=False,
            created_at=now,
        )
        self.identities.create_account(user, self._identity(account, user.id, now))
        self.audit.record(self._event(user, "account.created", client, provider=account.provider.value))
        self.audit.record(self._event(user, "identity.linked", client, provider=account.provider.value))
        return user

    def _link(self, flow: OAuthFlow, account: ProviderAccount, client: ClientInfo) -> str:
        user = self.users.get(flow.user_id or "")
        if user is None:
            raise _FlowFailed(FlowError.ACCOUNT_GONE)
        if not self.sessions.is_live(user.id, flow.session_id or ""):
            raise _FlowFailed(FlowError.SESSION_ENDED)
        linked = self.identities.find(account.provider, account.subject)
        if linked is not None and linked.user_id != user.id:
            raise _FlowFailed(FlowError.IDENTITY_IN_USE)
        if linked is None:
            try:
                self.identities.link(self._identity(account, user.id, self.clock.now()))
            except IdentityTaken:
                raise _FlowFailed(FlowError.IDENTITY_IN_USE) from None
            except ProviderAlreadyLinked:
                raise _FlowFailed(FlowError.PROVIDER_ALREADY_LINKED) from None
            except AccountChanged:
                raise _FlowFailed(FlowError.ACCOUNT_GONE) from None
            self._linked(user, account.provider, client, "")
        return with_query(flow.redirect_to, linked=account.provider.value)

    def _linked(self, user: User, provider: Provider, client: ClientInfo, more: str) -> None:
        name = PROVIDER_NAMES[provider]
        self.audit.record(self._event(user, "identity.linked", client, provider=provider.value))
        detail = (
            f"You can now sign in with {name}. {more} If this was not you, also unlink {name} in your account's "
            "settings (DELETE /me/identities/" + provider.value + ")."
        )
        self._notify(user, f"Sign-in with {name} was linked", " ".join(detail.split()))

    # --- after the callback --------------------------------------------------------------

    def exchange(self, login_code: str, client: ClientInfo) -> TokenPair | MfaChallenge:
        """The callback's login code, once, within 60 seconds: tokens, or the second step."""
        if not login_code or len(login_code) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        now = self.clock.now()
        token = self.login_codes.take(OneTimeToken(TokenKind.LOGIN_CODE, hash_secret(login_code), "", now))
        if token is None:
            raise InvalidToken()
        if token.is_expired(now):
            raise TokenExpired("The login code has expired; sign in again")
        user = self.users.get(token.user_id)
        if user is None:
            raise InvalidToken()
        if user.two_factor_enabled:
            return self.sessions.second_step(user.id)
        self.audit.record(self._event(user, "login.succeeded", client, method="provider"))
        return self.sessions.start(user.id, client)

    def unlink(self, user_id: str, provider_name: str, client: ClientInfo) -> None:
        user = self.users.get(user_id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        provider = provider_named(provider_name)
        if provider is None:
            raise IdentityNotLinked()
        try:
            self.identities.unlink(user.id, provider)
        except NotLinked:
            raise IdentityNotLinked() from None
        except LastSignInMethodLeft:
            raise LastSignInMethod() from None
        name = PROVIDER_NAMES[provider]
        self.audit.record(self._event(user, "identity.unlinked", client, provider=provider.value))
        self._notify(user, f"Sign-in with {name} was unlinked", f"You can no longer sign in with {name}.")

    # --- helpers -------------------------------------------------------------------------

    def _client(self, provider_name: str) -> ProviderClient:
        provider = provider_named(provider_name)
        client = self.providers.client(provider) if provider is not None else None
        if client is None:
            raise ProviderNotConfigured()
        return client

    def _callback(self, provider: Provider) -> str:
        return f"{self.public_base_url.rstrip('/')}/auth/oauth/{provider.value}/callback"

    def _fallback(self) -> str:
        """Where an unknown state's callback goes: no flow names a `redirect_to`, so the
        first allowed address (never one the request names)."""
        if self.redirect_allow_list:
            return self.redirect_allow_list[0]
        return f"{self.public_base_url.rstrip('/')}/"

    @staticmethod
    def _identity(account: ProviderAccount, user_id: str, now: datetime) -> Identity:
        return Identity(account.provider, account.subject, user_id, account.email, now)

    def _notify(self, user: User, headline: str, detail: str) -> None:
        send_quietly(
            self.mailer,
            email_messages.security_notice_email(user.email, self.public_base_url, headline, self.clock.now(), detail),
        )

    def _event(self, user: User, action: str, client: ClientInfo, **details: str) -> AuditEvent:
        return account_event(user.id, user.email, self.clock.now(), action, client.ip, client.user_agent, **details)
