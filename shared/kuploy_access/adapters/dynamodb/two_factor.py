"""Two-factor state on the user item. Every rule that must hold under races is a
condition here: a TOTP step is accepted once (`totp_last_step < step`), a recovery
code once (`contains` + DELETE in one UpdateItem), a challenge dies after 5 wrong codes."""

from __future__ import annotations

from datetime import datetime

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.audit import audit_item
from kuploy_access.adapters.dynamodb.conditions import hits_below, present, update_if
from kuploy_access.adapters.dynamodb.keys import COUNTER_SK, ORG_PK_PREFIX, mfa_challenge_pk, user_pk
from kuploy_access.adapters.dynamodb.models import MembershipItem, RateCounterItem, UserItem, member_ref, user_ref
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.domain.audit import AuditEvent
from kuploy_access.domain.two_factor import WRONG_CODES_PER_CHALLENGE

CLOSED = 1_000  # any count at or past the limit ends a challenge


def _step_unused(step: int) -> Condition:
    condition: Condition = UserItem.totp_last_step.does_not_exist() | (UserItem.totp_last_step < step)
    return condition


def _enabled() -> Condition:
    condition: Condition = UserItem.two_factor_enabled == True  # noqa: E712
    return condition


def _apply(user_id: str, actions: list[Action], condition: Condition) -> bool:
    return update_if(user_ref(user_id), actions, condition)


def _apply_recorded(user_id: str, actions: list[Action], condition: Condition, event: AuditEvent) -> bool:
    """The change and its audit event in one TransactWriteItems: a write throttled past
    its retries leaves both or neither, never a change whose event is lost."""
    try:
        Transaction().update("account", user_ref(user_id), actions, condition).put("audit", audit_item(event)).commit()
    except ConditionFailed:
        return False
    return True


def _challenge(challenge_id: str) -> RateCounterItem:
    return RateCounterItem(pk=mfa_challenge_pk(challenge_id), sk=COUNTER_SK)


class DynamoTwoFactorRepository:
    def set_pending(self, user_id: str, sealed_secret: str) -> bool:
        return _apply(user_id, [UserItem.totp_pending_sealed.set(sealed_secret)], present())

    def enable(
        self, user_id: str, pending_sealed: str, step: int, recovery_hashes: set[str], event: AuditEvent
    ) -> bool:
        """Activate the pending secret proven by a code of `step` (which counts as used)."""
        return _apply_recorded(
            user_id,
            [
                UserItem.totp_secret_sealed.set(pending_sealed),
                UserItem.totp_pending_sealed.remove(),
                UserItem.two_factor_enabled.set(True),
                UserItem.totp_last_step.set(step),
                UserItem.recovery_code_hashes.set(recovery_hashes),
            ],
            (UserItem.totp_pending_sealed == pending_sealed) & (UserItem.two_factor_enabled == False),  # noqa: E712
            event,
        )

    def use_step(self, user_id: str, step: int) -> bool:
        """True for the one request that records this step; False if it (or a later one) was used."""
        return _apply(user_id, [UserItem.totp_last_step.set(step)], _enabled() & _step_unused(step))

    def use_recovery_code(self, user_id: str, code_hash: str) -> bool:
        return _apply(
            user_id,
            [UserItem.recovery_code_hashes.delete({code_hash})],
            _enabled() & UserItem.recovery_code_hashes.contains(code_hash),
        )

    def replace_recovery_codes(self, user_id: str, step: int, recovery_hashes: set[str], event: AuditEvent) -> bool:
        """New codes (the old ones stop working), proven by an unused TOTP step."""
        return _apply_recorded(
            user_id,
            [UserItem.recovery_code_hashes.set(recovery_hashes), UserItem.totp_last_step.set(step)],
            _enabled() & _step_unused(step),
            event,
        )

    def disable(self, user_id: str, step: int | None, recovery_hash: str | None, event: AuditEvent) -> bool:
        """Turn 2FA off, spending the proof (a TOTP step or a recovery code) in the same write."""
        actions: list[Action] = [
            UserItem.two_factor_enabled.set(False),
            UserItem.totp_secret_sealed.remove(),
            UserItem.totp_pending_sealed.remove(),
            UserItem.recovery_code_hashes.remove(),
        ]
        if step is not None:
            actions.append(UserItem.totp_last_step.set(step))
            return _apply_recorded(user_id, actions, _enabled() & _step_unused(step), event)
        if recovery_hash is not None:
            proof = UserItem.recovery_code_hashes.contains(recovery_hash)
            return _apply_recorded(user_id, actions, _enabled() & proof, event)
        return False

    def reset(self, user_id: str, event: AuditEvent) -> bool:
        """The operator's reset: off, whatever the state."""
        return _apply_recorded(
            user_id,
            [
                UserItem.two_factor_enabled.set(False),
                UserItem.totp_secret_sealed.remove(),
                UserItem.totp_pending_sealed.remove(),
                UserItem.recovery_code_hashes.remove(),
            ],
            present(),
            event,
        )

    def take_attempt(self, challenge_id: str, expires_at: datetime) -> bool:
        """Take one of a challenge's 5 attempts; False once they are spent (or it signed in)."""
        return update_if(
            _challenge(challenge_id),
            [RateCounterItem.hits.add(1), RateCounterItem.expires_at_epoch.set(expires_at)],
            hits_below(WRONG_CODES_PER_CHALLENGE),
        )

    def close_challenge(self, challenge_id: str, expires_at: datetime) -> bool:
        """A challenge signs in once: True for the one request that closes it."""
        return update_if(
            _challenge(challenge_id),
            [RateCounterItem.hits.set(CLOSED), RateCounterItem.expires_at_epoch.set(expires_at)],
            hits_below(WRONG_CODES_PER_CHALLENGE),
        )

    def set_member_copies(self, user_id: str, enabled: bool) -> None:
        """Memberships carry a copy of the 2FA status (org policy, member lists); one that
        left the organization meanwhile is passed over."""
        for membership in MembershipItem.by_user.query(
            user_pk(user_id), MembershipItem.gsi1sk.startswith(ORG_PK_PREFIX)
        ):
            update_if(
                member_ref(membership.org_id, user_id), [MembershipItem.two_factor_enabled.set(enabled)], present()
            )
