"""Sign-up and email verification."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from kuploy_access.domain import email_messages
from kuploy_access.domain.emails import canonical_email
from kuploy_access.domain.errors import InvalidToken, TokenExpired
from kuploy_access.domain.ids import new_id
from kuploy_access.domain.invitations import safe_continue_path
from kuploy_access.domain.one_time_tokens import (
    MAX_TOKEN_LENGTH,
    TOKEN_LIFETIMES,
    OneTimeToken,
    TokenKind,
    hash_secret,
    new_secret,
)
from kuploy_access.domain.passwords import check_new_password
from kuploy_access.domain.rate_limits import VERIFICATION_EMAILS_PER_ADDRESS
from kuploy_access.domain.users import User, clean_name
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.ports import (
    Clock,
    EmailAlreadyRegistered,
    EmailTooSimilar,
    Mailer,
    PasswordHasher,
    RateLimiter,
    TokenNotUsable,
    TokenRepository,
    UserRepository,
)

logger = logging.getLogger(__name__)


@dataclass
class SignUpService:
    users: UserRepository
    tokens: TokenRepository
    mailer: Mailer
    hasher: PasswordHasher
    clock: Clock
    public_base_url: str
    limiter: RateLimiter

    def sign_up(self, email: str, password: str, name: str | None = None, continue_to: str | None = None) -> None:
        """Same outcome for every well-formed request: an email goes to the address.
        `continue_to` (an invitation's page) is where the verified person goes next."""
        continue_to = safe_continue_path(continue_to)
        address = canonical_email(email)
        password_hash = self.hasher.hash(check_new_password(password))
        now = self.clock.now()
        user = User(
            id=new_id("usr"),
            email=address,
            name=clean_name(name),
            password_hash=password_hash,
            email_verified=False,
            two_factor_enabled=False,
            created_at=now,
        )
        secret, token = self._new_verification(user.id)
        user = replace(user, verification_token_hash=token.token_hash)
        try:
            self.users.create(user, token)
        except EmailAlreadyRegistered:
            if self._email_allowed(address):
                self._sign_up_again(address, password_hash, continue_to)
            return
        except EmailTooSimilar:
            # Same 202 as any sign-up (it never tells who is registered); only the
            # inbox learns that this look-alike address cannot be used.
            if self._email_allowed(address):
                self._send(email_messages.address_too_similar_email(address, self.public_base_url))
            return
        if not self._email_allowed(address):  # its budget spent by resends before it existed
            return
        self._send(
            email_messages.verification_email(address, self.public_base_url, secret, token.expires_at, continue_to)
        )

    def _sign_up_again(self, address: str, password_hash: str, continue_to: str | None) -> None:
        existing = self.users.get_by_email(address)
        if existing is None:  # the account vanished between the two calls
            return
        if existing.email_verified:
            self._send(email_messages.account_exists_email(existing.email, self.public_base_url))
            return
        # The latest sign-up's password wins, and only its link works: whoever signed up
        # with this address before (without access to the inbox) is locked out.
        secret, token = self._new_verification(existing.id)
        try:
            self.users.restart_verification(existing, token, password_hash)
        except TokenNotUsable:  # verified in the meantime
            return
        self._send(
            email_messages.verification_email(
                existing.email, self.public_base_url, secret, token.expires_at, continue_to
            )
        )

    def resend_verification(self, email: str) -> None:
        address = canonical_email(email)
        user = self.users.get_by_email(address)
        # Only requests that would send count against the address's budget, or
        # anyone could spend it before the person signs up.
        if user is None or user.email_verified or not self._email_allowed(address):
            return
        secret, token = self._new_verification(user.id)
        try:
            self.users.restart_verification(user, token, None)
        except TokenNotUsable:
            return
        self._send(email_messages.verification_email(user.email, self.public_base_url, secret, token.expires_at))

    def verify_email(self, secret: str) -> None:
        if not secret or len(secret) > MAX_TOKEN_LENGTH:
            raise InvalidToken()
        token = self.tokens.get(TokenKind.EMAIL_VERIFICATION, hash_secret(secret))
        if token is None:
            raise InvalidToken()
        if token.is_expired(self.clock.now()):
            self.tokens.delete(token.kind, token.token_hash)
            raise TokenExpired("The verification link has expired; ask for a new one")
        try:
            self.users.verify_email(token)
        except TokenNotUsable:
            raise InvalidToken() from None

    def _email_allowed(self, address: str) -> bool:
        """A few emails an hour per address, so nobody can flood an inbox through sign-up.
        Checked before anything changes: a refused request must not kill the link the
        person already has."""
        if self.limiter.consume(VERIFICATION_EMAILS_PER_ADDRESS, address, self.clock.now()):
            return True
        logger.info("sign-up email skipped: hourly limit for the address reached")
        return False

    def _new_verification(self, user_id: str) -> tuple[str, OneTimeToken]:
        secret = new_secret()
        token = OneTimeToken(
            kind=TokenKind.EMAIL_VERIFICATION,
            token_hash=hash_secret(secret),
            user_id=user_id,
            expires_at=self.clock.now() + TOKEN_LIFETIMES[TokenKind.EMAIL_VERIFICATION],
        )
        return secret, token

    def _send(self, email: email_messages.OutgoingEmail) -> None:
        send_quietly(self.mailer, email)
