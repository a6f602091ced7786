"""Two-factor authentication: enrol (setup, enable), turn off, new recovery codes, and
the second step of a sign-in. Every change, every recovery-code use and every refused
replay writes an event to the account's security log and emails the person. Turning 2FA
on or off and new recovery codes end every other session of the account, as a password
change does: a session signed in before the change may be someone else's."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from kuploy_access.domain import email_messages
from kuploy_access.domain.audit import AuditEvent, account_event
from kuploy_access.domain.client_address import limit_key
from kuploy_access.domain.errors import Conflict, InvalidCode, Unauthorized, WrongCode, WrongPassword
from kuploy_access.domain.login_throttle import AttemptRefused, Refusal
from kuploy_access.domain.login_throttle import retry_after as login_retry_after
from kuploy_access.domain.passwords import normalize_password
from kuploy_access.domain.rate_limits import MFA_ATTEMPTS_PER_ACCOUNT, RateLimited
from kuploy_access.domain.two_factor import (
    hash_recovery_code,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    provisioning_uri,
    qr_svg,
)
from kuploy_access.domain.users import User
from kuploy_access.services.delivery import send_quietly
from kuploy_access.services.ports.audit import AuditRecorder
from kuploy_access.services.ports.clock import Clock
from kuploy_access.services.ports.crypto import PasswordHasher, SecretBox
from kuploy_access.services.ports.mail import Mailer
from kuploy_access.services.ports.throttling import LoginThrottle, RateLimiter
from kuploy_access.services.ports.two_factor import TwoFactorStore
from kuploy_access.services.ports.users import UserLookup
from kuploy_access.services.sessions import ClientInfo, SessionService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class Proof:
    """A verified second factor, not yet spent: a TOTP step or a recovery code's hash."""

    step: int | None = None
    recovery_hash: str | None = None


class CodeRefused(Exception):
    """Wrong code, or a right one already used (`replay`)."""

    def __init__(self, replay: bool = False) -> None:
        super().__init__("code refused")
        self.replay = replay


@dataclass
class TwoFactorService:
    users: UserLookup
    factors: TwoFactorStore
    box: SecretBox
    hasher: PasswordHasher
    mailer: Mailer
    audit: AuditRecorder
    limiter: RateLimiter
    clock: Clock
    public_base_url: str
    sessions: SessionService
    throttle: LoginThrottle

    # --- enrolment and changes (signed in) ---------------------------------------------------

    def setup(self, user_id: str) -> TotpSetup:
        user = self._user(user_id)
        if user.two_factor_enabled:
            raise Conflict("Two-factor authentication is already on; turn it off first to change the authenticator")
        secret = new_totp_secret()
        self.factors.set_pending(user.id, self.box.seal(secret, user.id))
        uri = provisioning_uri(secret, user.email)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))

    def enable(self, user_id: str, code: str, client: ClientInfo, keep_session: str | None = None) -> list[str]:
        """Every session but `keep_session` (the caller's) ends."""
        user = self._user(user_id)
        if user.two_factor_enabled:
            raise Conflict("Two-factor authentication is already on")
        if not user.totp_pending_sealed:
            raise Conflict("Start with POST /me/2fa/setup")
        self._take_attempt(user)
        step = matching_step(self.box.open(user.totp_pending_sealed, user.id), code, self.clock.now())
        if step is None:
            raise WrongCode("That is not the current code of the new authenticator")
        self._right(user)
        codes = new_recovery_codes()
        hashes = {h for h in (hash_recovery_code(c, self.box.keyed_hash) for c in codes) if h}
        event = self._event(user, "two_factor.enabled", client)
        if not self.factors.enable(user.id, user.totp_pending_sealed, step, hashes, event):
            raise Conflict("The setup changed meanwhile; start again with POST /me/2fa/setup")
        self.factors.set_member_copies(user.id, True)
        self.sessions.revoke_all(user.id, keep=keep_session)
        self._notify(user, "Two-factor authentication was turned on")
        return codes

    def disable(
        self, user_id: str, password: str, code: str, client: ClientInfo, keep_session: str | None = None
    ) -> None:
        """Every session but `keep_session` (the caller's) ends."""
        user = self._enabled_user(user_id)
        self._take_attempt(user)
        self._check_password(user, password, client)
        proof = self._prove(user, code, client)
        self._right(user)
        # The copies go first: a member whose copy says "off" while 2FA is still on is
        # only refused more, never let through an org's policy.
        self.factors.set_member_copies(user.id, False)
        event = self._event(user, "two_factor.disabled", client)
        if not self.factors.disable(user.id, proof.step, proof.recovery_hash, event):
            self.factors.set_member_copies(user.id, True)
            self._refused_replay(user, client)
        self.sessions.revoke_all(user.id, keep=keep_session)
        self._notify(user, "Two-factor authentication was turned off")

    def _check_password(self, user: User, password: str, client: ClientInfo) -> None:
        """Under the login's budgets (domain/login_throttle.py): a stolen access token
        is no unthrottled password oracle."""
        now = self.clock.now()
        try:
            attempt = self.throttle.take(user.email, limit_key(client.ip), now)
        except AttemptRefused as refused:
            if refused.refusal is Refusal.ACCOUNT_LOCKED:
                raise WrongPassword("The password is wrong") from None
            raise RateLimited(login_retry_after(refused.refusal, now)) from None
        # Normalised as at sign-up and sign-in, or a password typed with a full-width
        # letter would be "wrong" here and right everywhere else.
        if user.password_hash is None or not self.hasher.verify(user.password_hash, normalize_password(password)):
            raise WrongPassword("The password is wrong")
        self.throttle.succeeded(attempt)

    def new_recovery_codes(
        self, user_id: str, code: str, client: ClientInfo, keep_session: str | None = None
    ) -> list[str]:
        """The old codes stop working; every session but `keep_session` (the caller's) ends."""
        user = self._enabled_user(user_id)
        self._take_attempt(user)
        step = self._totp_step(user, code)
        if step is None:
            raise WrongCode("Enter the current code of your authenticator")
        self._right(user)
        codes = new_recovery_codes()
        hashes = {h for h in (hash_recovery_code(c, self.box.keyed_hash) for c in codes) if h}
        event = self._event(user, "two_factor.recovery_codes_replaced", client)
        if not self.factors.replace_recovery_codes(user.id, step, hashes, event):
            self._refused_replay(user, client)
        self.sessions.revoke_all(user.id, keep=keep_session)
        self._notify(user, "New recovery codes were made")
        return codes

    # --- the second step of a sign-in --------------------------------------------------------

    def verify_sign_in(
        self,
        user: User,
        code: str | None,
        recovery_code: str | None,
        challenge_id: str,
        challenge_expires: datetime,
        client: ClientInfo,
    ) -> None:
        """Spend one valid factor for this sign-in, or raise CodeRefused (counted)."""
        self._take_attempt(user)
        proof = self._proof_of(user, code, recovery_code)
        if proof is None:
            raise CodeRefused()
        self._right(user)
        if proof.step is not None:
            if not self.factors.use_step(user.id, proof.step):
                self._refused_replay(user, client, raise_as=CodeRefused(replay=True))
            return
        if proof.recovery_hash is None or not self.factors.use_recovery_code(user.id, proof.recovery_hash):
            raise CodeRefused(replay=True)
        self._record(
            user,
            "two_factor.recovery_code_used",
            client,
            "A recovery code was used to sign in",
            f"{len(user.recovery_code_hashes) - 1} recovery codes are left.",
        )

    def verify_code(self, user: User, code: str, client: ClientInfo) -> None:
        """Spend one factor (a TOTP code or a recovery code) where a page signs in and acts
        in one step (the invitation page): the same single-use rules as a sign-in."""
        self._take_attempt(user)
        proof = self._proof_of(user, code, code)
        if proof is None:
            raise InvalidCode("Enter the current code of your authenticator or a recovery code")
        self._right(user)
        if proof.step is not None:
            if not self.factors.use_step(user.id, proof.step):
                self._refused_replay(user, client, raise_as=InvalidCode("That code was already used"))
            return
        if proof.recovery_hash is None or not self.factors.use_recovery_code(user.id, proof.recovery_hash):
            raise InvalidCode("That recovery code was already used")
        self._record(
            user,
            "two_factor.recovery_code_used",
            client,
            "A recovery code was used to sign in",
            f"{len(user.recovery_code_hashes) - 1} recovery codes are left.",
        )

    # --- rules ----------------------------------------------------------------------------------

    def _prove(self, user: User, code: str, client: ClientInfo) -> Proof:
        proof = self._proof_of(user, code, code)
        if proof is None:
            raise WrongCode("Enter the current code of your authenticator or one of your recovery codes")
        return proof

    def _proof_of(self, user: User, code: str | None, recovery_code: str | None) -> Proof | None:
        if code:
            step = self._totp_step(user, code)
            if step is not None:
                return Proof(step=step)
        if recovery_code:
            code_hash = hash_recovery_code(recovery_code, self.box.keyed_hash)
            if code_hash is not None and code_hash in user.recovery_code_hashes:
                return Proof(recovery_hash=code_hash)
        return None

    def _totp_step(self, user: User, code: str) -> int | None:
        if not user.totp_secret_sealed:
            return None
        return matching_step(self.box.open(user.totp_secret_sealed, user.id), code, self.clock.now())

    def _refused_replay(self, user: User, client: ClientInfo, raise_as: Exception | None = None) -> None:
        self._record(
            user,
            "two_factor.replay_refused",
            client,
            "A sign-in code was refused because it had been used",
            "Someone entered a code of your authenticator that had already been used. If it was not you, "
            "your password and a code may be known to someone else.",
        )
        raise raise_as or WrongCode("That code was already used; wait for the next one")

    def _take_attempt(self, user: User) -> None:
        """Every code check spends one of the account's attempts first, atomically, so
        that racing requests cannot get more guesses than the budget; a right code gives
        its attempt back (`_right`), so only wrong ones use the budget up."""
        now = self.clock.now()
        if not self.limiter.consume(MFA_ATTEMPTS_PER_ACCOUNT, user.id, now):
            raise RateLimited(MFA_ATTEMPTS_PER_ACCOUNT.retry_after(now), "Too many wrong codes; try again later")

    def _right(self, user: User) -> None:
        self.limiter.release(MFA_ATTEMPTS_PER_ACCOUNT, user.id, self.clock.now())

    def _record(self, user: User, action: str, client: ClientInfo, headline: str, detail: str = "") -> None:
        event = self._event(user, action, client)
        try:
            self.audit.record(event)
        except Exception:
            self.audit.record(event)
        self._notify(user, headline, detail)

    def _event(self, user: User, action: str, client: ClientInfo) -> AuditEvent:
        return account_event(user.id, user.email, self.clock.now(), action, client.ip, client.user_agent)

    def _notify(self, user: User, headline: str, detail: str = "") -> None:
        send_quietly(
            self.mailer,
            email_messages.security_notice_email(
                user.email,
                self.public_base_url,
                headline,
                self.clock.now(),
                detail or "No action is needed if it was you.",
            ),
        )

    def _user(self, user_id: str) -> User:
        user = self.users.get(user_id)
        if user is None:
            raise Unauthorized("invalid_token", "The account no longer exists")
        return user

    def _enabled_user(self, user_id: str) -> User:
        user = self._user(user_id)
        if not user.two_factor_enabled:
            raise Conflict("Two-factor authentication is off")
        return user
