"""Two-factor authentication's stored state: the account's TOTP secret, recovery codes
and last used step, the copies of the 2FA flag on its memberships, and each sign-in
challenge's attempts. DynamoTwoFactorRepository implements every port; FakeTwoFactor
(two_factor_fakes.py) is its fake.

Each method that answers a bool is one conditional write, False when its condition did
not hold (a replayed step, a used recovery code, a setup changed meanwhile); none
raises. The changes a person or an operator makes (enable, disable, new recovery codes,
reset) take their audit `event` and write it in the same transaction: both or neither."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kuploy_access.domain.audit import AuditEvent


class SecondFactors(Protocol):  # TwoFactorService: enrolment, changes, and spending a factor
    def set_pending(self, user_id: str, sealed_secret: str) -> bool: ...

    def enable(
        self, user_id: str, pending_sealed: str, step: int, recovery_hashes: set[str], event: AuditEvent
    ) -> bool: ...

    def use_step(self, user_id: str, step: int) -> bool: ...

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool: ...

    def replace_recovery_codes(self, user_id: str, step: int, recovery_hashes: set[str], event: AuditEvent) -> bool: ...

    def disable(self, user_id: str, step: int | None, recovery_hash: str | None, event: AuditEvent) -> bool: ...

    def set_member_copies(self, user_id: str, enabled: bool) -> None:
        """Copy the flag onto each of the account's memberships (the orgs' 2FA policy
        reads it there)."""


class ChallengeAttempts(Protocol):  # LoginService, through TwoFactorService.factors
    def take_attempt(self, challenge_id: str, expires_at: datetime) -> bool:
        """Take one of a challenge's attempts; False once they are spent (or it signed in)."""

    def close_challenge(self, challenge_id: str, expires_at: datetime) -> bool:
        """A challenge signs in once: True for the one request that closes it."""


class TwoFactorStore(SecondFactors, ChallengeAttempts, Protocol):  # TwoFactorService.factors
    """Both, because LoginService reaches the challenges through TwoFactorService."""


class FactorReset(Protocol):  # AdminService
    def set_member_copies(self, user_id: str, enabled: bool) -> None: ...

    def reset(self, user_id: str, event: AuditEvent) -> bool:
        """2FA off and every factor forgotten, whatever the state; False for an unknown
        account."""
