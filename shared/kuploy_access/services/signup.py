"""Sign-up and email verification."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass

from kuploy_access.domain import email_messages
from kuploy_access.domain.emails import LOOK_ALIKE_REFUSAL, canonical_email
from kuploy_access.domain.errors import InvalidToken, TokenExpired
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.invitations import safe_continue_path
from kuploy_access.domain.one_time_tokens import (
    MAX_TOKEN_LENGTH,
    MAX_TRACKED_VERIFICATIONS,
    TOKEN_LIFETIMES,
    OneTimeToken,
    RequestOrigin,
    TokenKind,
    hash_secret,
    new_secret,
)
from kuploy_access.domain.passwords import check_new_password
from kuploy_access.domain.rate_limits import DECOY_EMAILS_PER_ADDRESS, VERIFICATION_EMAILS_PER_ADDRESS
from kuploy_access.domain.sessions import MAX_USER_AGENT_LENGTH
from kuploy_access.domain.users import NOBODY, User, clean_name
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.pacing import NO_FLOOR, AnswerFloor
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.crypto import PasswordHasher
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.throttling import RateLimiter
from kuploy_access.services.ports.tokens import TokenNotUsable, TokenRepository
from kuploy_access.services.ports.users import EmailAlreadyRegistered, EmailTooSimilar, UserRegistry
from kuploy_access.services.sessions import ClientInfo, SessionService

logger = logging.getLogger(__name__)


@dataclass
class SignUpService:
    users: UserRegistry
    tokens: TokenRepository
    sessions: SessionService
    mailer: Mailer
    hasher: PasswordHasher
    clock: Clock
    public_base_url: str
    limiter: RateLimiter
    floor: AnswerFloor = NO_FLOOR

    def sign_up(
        self,
        email: str,
        password: str,
        client: ClientInfo,
        name: str | None = None,
        continue_to: str | None = None,
    ) -> None:
        """Same outcome for every well-formed request: an email goes to the address.
        `continue_to` (an invitation's page) is where the verified person goes next."""
        continue_to = safe_continue_path(continue_to)
        address = canonical_email(email)
        password_hash = self.hasher.hash(check_new_password(password))
        user_id = new_id("usr")
        origin = self._origin(client)
        secret, token = self._new_link(user_id, password_hash, origin)
        user = User(
            id=user_id,
            email=address,
            name=clean_name(name),
            password_hash=password_hash,
            email_verified=False,
            two_factor_enabled=False,
            created_at=origin.at,
            pending_verification_hashes=frozenset({token.token_hash}),
        )
        try:
            self.users.create(user, token)
        except EmailAlreadyRegistered:
            if self._email_allowed(address):
                self._sign_up_again(address, password_hash, origin, continue_to)
            return
        except EmailTooSimilar:
            # Same 202 as any sign-up (it never tells who is registered); only the
            # inbox learns that this look-alike address cannot be used.
            if self._email_allowed(address):
                self._send(email_messages.address_too_similar_email(address, self.public_base_url))
            return
        if not self._email_allowed(address):  # its budget spent by resends before it existed
            return
        self._send_link(address, secret, token, origin, continue_to)

    def _sign_up_again(self, address: str, password_hash: str, origin: RequestOrigin, continue_to: str | None) -> None:
        existing = self.users.get_by_email(address)
        if existing is None:  # the account vanished between the two calls
            return
        if existing.email_verified:
            self._send(email_messages.account_exists_email(existing.email, self.public_base_url))
            return
        # One more pending link, bound to this sign-up's password; the earlier links keep
        # theirs. Whoever verifies first decides the password, and only the inbox's owner
        # can verify, after an email that says where each sign-up came from.
        secret, token = self._new_link(existing.id, password_hash, origin)
        if not self._add_link(existing, token, password_hash):
            return
        self._send_link(existing.email, secret, token, origin, continue_to)

    def resend_verification(self, email: str, client: ClientInfo) -> None:
        """A new link for an unverified address. The request carries no password, so
        the link sets none: verifying through it leaves the account without a password,
        to be chosen with "forgot password"."""
        address = canonical_email(email)
        with self.floor.held():
            self._resend(address, client)

    def _resend(self, address: str, client: ClientInfo) -> None:
        user = self.users.get_by_email(address)
        origin = self._origin(client)
        if user is None or user.email_verified:
            # The calls a pending account's resend makes, none of which changes anything
            # (README, "Timing"): an account nobody has, a budget that limits nothing
            # (only requests that would send count against the address's, or anyone
            # could spend it before the person signs up), a link its condition refuses.
            if user is None:
                self.users.get(NOBODY)
            self.limiter.consume(DECOY_EMAILS_PER_ADDRESS, address, self.clock.now())
            with suppress(TokenNotUsable):
                self.users.add_verification(NOBODY, self._new_link(NOBODY, None, origin)[1], None, False)
            return
        if not self._email_allowed(address):
            return
        secret, token = self._new_link(user.id, None, origin)
        if not self._add_link(user, token, None):
            return
        self._send(
            email_messages.resent_verification_email(user.email, self.public_base_url, secret, token.expires_at, origin)
        )

    def verify_email(self, secret: str) -> bool:
        """Verify the address with one of its pending links; answers whether the account
        has a password now (a resent link sets none).

        Whatever existed before ends: the other pending links, a pending reset link and
        every session, so nothing from an earlier sign-up outlives the owner's choice."""
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        token = self.tokens.get(TokenKind.EMAIL_VERIFICATION, hash_secret(secret))
        if token is None:
            raise InvalidToken()
        if token.is_expired(self.clock.now()):
            self.tokens.delete(token.kind, token.token_hash)
            raise TokenExpired("The verification link has expired; ask for a new one")
        user = self.users.get(token.user_id)
        if user is None:
            raise InvalidToken()
        try:
            self.users.verify_email(token, user.email)
        except TokenNotUsable:
            raise InvalidToken() from None
        except EmailTooSimilar:
            raise InvalidToken(LOOK_ALIKE_REFUSAL) from None
        self.sessions.revoke_all(token.user_id)
        try:
            self.users.discard_verifications(token.user_id, token.token_hash)
        except Exception:  # leftovers are refused anyway and expire by TTL
            logger.exception("pending verification links left to expire")
        return token.password_hash is not None

    def _add_link(self, user: User, token: OneTimeToken, password_hash: str | None) -> bool:
        tracked = len(user.pending_verification_hashes) < MAX_TRACKED_VERIFICATIONS
        try:
            self.users.add_verification(user.id, token, password_hash, tracked)
        except TokenNotUsable:  # verified in the meantime
            return False
        return True

    def _email_allowed(self, address: str) -> bool:
        """A few emails an hour per address, so nobody can flood an inbox through sign-up.
        Checked before anything changes: a refused request adds no link and changes no
        password."""
        if self.limiter.consume(VERIFICATION_EMAILS_PER_ADDRESS, address, self.clock.now()):
            return True
        logger.info("sign-up email skipped: hourly limit for the address reached")
        return False

    def _origin(self, client: ClientInfo) -> RequestOrigin:
        return RequestOrigin(at=self.clock.now(), ip=client.ip, user_agent=client.user_agent[:MAX_USER_AGENT_LENGTH])

    def _new_link(self, user_id: str, password_hash: str | None, origin: RequestOrigin) -> tuple[str, OneTimeToken]:
        secret = new_secret()
        token = OneTimeToken(
            kind=TokenKind.EMAIL_VERIFICATION,
            token_hash=hash_secret(secret),
            user_id=user_id,
            expires_at=origin.at + TOKEN_LIFETIMES[TokenKind.EMAIL_VERIFICATION],
            password_hash=password_hash,
            origin=origin,
        )
        return secret, token

    def _send_link(
        self, to: str, secret: str, token: OneTimeToken, origin: RequestOrigin, continue_to: str | None
    ) -> None:
        self._send(
            email_messages.verification_email(to, self.public_base_url, secret, token.expires_at, origin, continue_to)
        )

    def _send(self, email: email_messages.OutgoingEmail) -> None:
        send_quietly(self.mailer, email)
