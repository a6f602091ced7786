"""In-memory fakes for two-factor authentication and re-authentication (sudo mode), and
a World that wires TwoFactorService, ReauthenticationService and SudoService to them."""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.sessions import SUDO_MODE_WINDOW, Session
from kuploy_access.domain.two_factor import (
    WRONG_CODES_PER_CHALLENGE,
    code_for_step,
    hash_recovery_code,
    new_recovery_codes,
    new_totp_secret,
    step_at,
)
from kuploy_access.domain.users import User
from kuploy_access.services.reauthentication import ReauthenticationService
from kuploy_access.services.sudo import SudoService
from kuploy_access.services.two_factor import TwoFactorService
from tests.unit.fakes import FakeAccountTrail, FakeUsers
from tests.unit.support import PUBLIC_BASE_URL, World


class FakeTwoFactor:
    """The ports of services/ports/two_factor.py on FakeUsers, with the DynamoDB conditions."""

    def __init__(self, users: FakeUsers, members: MutableMapping[tuple[str, str], Member] | None = None) -> None:
        self.users = users
        self.attempts: dict[str, int] = {}
        # Memberships by (org, user), e.g. an OrgStore's: each carries a copy of the 2FA status.
        self.members: MutableMapping[tuple[str, str], Member] = members if members is not None else {}

    def _apply(self, user_id: str, holds: bool, **changes: object) -> bool:
        user = self.users.by_id.get(user_id)
        if user is None or not holds:
            return False
        self.users.by_id[user_id] = replace(user, **changes)  # type: ignore[arg-type]
        return True

    def _recorded(self, event: AuditEvent, user_id: str, holds: bool, **changes: object) -> bool:
        """As the adapter's transaction: the change and its event on the account's trail, or neither."""
        applied = self._apply(user_id, holds, **changes)
        if applied:
            self.users.trail.record(event)
        return applied

    def _user(self, user_id: str) -> User | None:
        return self.users.by_id.get(user_id)

    def _step_unused(self, user_id: str, step: int) -> bool:
        user = self._user(user_id)
        return user is not None and user.two_factor_enabled and (user.totp_last_step or 0) < step

    def set_pending(self, user_id: str, sealed_secret: str) -> bool:
        return self._apply(user_id, True, totp_pending_sealed=sealed_secret)

    def enable(
        self, user_id: str, pending_sealed: str, step: int, recovery_hashes: set[str], event: AuditEvent
    ) -> bool:
        user = self._user(user_id)
        holds = user is not None and user.totp_pending_sealed == pending_sealed and not user.two_factor_enabled
        return self._recorded(
            event,
            user_id,
            holds,
            totp_secret_sealed=pending_sealed,
            totp_pending_sealed=None,
            two_factor_enabled=True,
            totp_last_step=step,
            recovery_code_hashes=frozenset(recovery_hashes),
        )

    def use_step(self, user_id: str, step: int) -> bool:
        return self._apply(user_id, self._step_unused(user_id, step), totp_last_step=step)

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        user = self._user(user_id)
        holds = user is not None and user.two_factor_enabled and code_hash in user.recovery_code_hashes
        left = user.recovery_code_hashes - {code_hash} if user is not None else frozenset()
        return self._apply(user_id, holds, recovery_code_hashes=left)

    def replace_recovery_codes(self, user_id: str, step: int, recovery_hashes: set[str], event: AuditEvent) -> bool:
        return self._recorded(
            event,
            user_id,
            self._step_unused(user_id, step),
            recovery_code_hashes=frozenset(recovery_hashes),
            totp_last_step=step,
        )

    def disable(self, user_id: str, step: int | None, recovery_hash: str | None, event: AuditEvent) -> bool:
        user = self._user(user_id)
        if step is not None:
            holds = self._step_unused(user_id, step)
        elif recovery_hash is not None:
            holds = user is not None and user.two_factor_enabled and recovery_hash in user.recovery_code_hashes
        else:
            return False
        return self._recorded(
            event,
            user_id,
            holds,
            two_factor_enabled=False,
            totp_secret_sealed=None,
            totp_pending_sealed=None,
            recovery_code_hashes=frozenset(),
            totp_last_step=step if step is not None else (user.totp_last_step if user else None),
        )

    def reset(self, user_id: str, event: AuditEvent) -> bool:
        return self._recorded(
            event,
            user_id,
            True,
            two_factor_enabled=False,
            totp_secret_sealed=None,
            totp_pending_sealed=None,
            recovery_code_hashes=frozenset(),
        )

    def take_attempt(self, challenge_id: str, expires_at: datetime) -> bool:
        used = self.attempts.get(challenge_id, 0)
        if used >= WRONG_CODES_PER_CHALLENGE:
            return False
        self.attempts[challenge_id] = used + 1
        return True

    def close_challenge(self, challenge_id: str, expires_at: datetime) -> bool:
        if self.attempts.get(challenge_id, 0) >= WRONG_CODES_PER_CHALLENGE:
            return False
        self.attempts[challenge_id] = 1_000
        return True

    def set_member_copies(self, user_id: str, enabled: bool) -> None:
        for key, member in list(self.members.items()):
            if member.user_id == user_id:
                self.members[key] = replace(member, two_factor_enabled=enabled)


class FakeSecretBox:
    """Not encryption: a marker bound to its owner, so a secret opens only for its account."""

    def seal(self, plaintext: str, owner: str) -> str:
        return f"sealed:{owner}:{plaintext}"

    def open(self, token: str, owner: str) -> str:
        prefix = f"sealed:{owner}:"
        if not token.startswith(prefix):
            raise ValueError("sealed for another owner")
        return token[len(prefix) :]

    def keyed_hash(self, value: str) -> str:
        return hashlib.sha256(b"fake key|" + value.encode()).hexdigest()


class CountingSessionLookup:
    """The sessions' reads, counted: sudo mode must cost one."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.reads = 0

    def get(self, user_id: str, session_id: str) -> Session | None:
        self.reads += 1
        return self.world.sessions.get(user_id, session_id)


@dataclass
class SudoWorld(World):
    factors: FakeTwoFactor = field(init=False)
    box: FakeSecretBox = field(default_factory=FakeSecretBox)
    security_log: FakeAccountTrail = field(default_factory=FakeAccountTrail)
    sudo_window: timedelta = SUDO_MODE_WINDOW

    def __post_init__(self) -> None:
        super().__post_init__()
        self.factors = FakeTwoFactor(self.users)
        self.lookup = CountingSessionLookup(self)

    def two_factor(self) -> TwoFactorService:
        return TwoFactorService(
            users=self.users,
            factors=self.factors,
            box=self.box,
            hasher=self.hasher,
            mailer=self.mailer,
            audit=self.security_log,
            limiter=self.limiter,
            clock=self.clock,
            public_base_url=PUBLIC_BASE_URL,
            sessions=self.session_service(),
            throttle=self.throttle,
        )

    def reauthentication(self) -> ReauthenticationService:
        return ReauthenticationService(
            users=self.users,
            audit=self.trail,
            clock=self.clock,
            sessions=self.session_service(),
            login=self.login(),
            two_factor=self.two_factor,
        )

    def sudo(self) -> SudoService:
        return SudoService(sessions=self.lookup, clock=self.clock, window=self.sudo_window)

    def turn_on_two_factor(self, user: User) -> tuple[str, list[str]]:
        """2FA on for `user`, as enrolment leaves it: answers the secret and the recovery codes.
        The step of now counts as used (as the enabling code's)."""
        secret = new_totp_secret()
        codes = new_recovery_codes()
        hashes = {h for h in (hash_recovery_code(c, self.box.keyed_hash) for c in codes) if h}
        self.users.by_id[user.id] = replace(
            self.users.by_id[user.id],
            two_factor_enabled=True,
            totp_secret_sealed=self.box.seal(secret, user.id),
            totp_last_step=step_at(self.clock.now()),
            recovery_code_hashes=frozenset(hashes),
        )
        return secret, codes

    def next_code(self, secret: str) -> str:
        """A code not used yet: moves the clock to the next 30-second step."""
        self.clock.advance(timedelta(seconds=30))
        return code_for_step(secret, step_at(self.clock.now()))
