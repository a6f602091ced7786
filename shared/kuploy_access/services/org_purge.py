"""The organization purge: one run removes a deleted organization's items step by step
until nothing is left, or hands the rest over to a new run while it still has time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kuploy_access.domain.org_purge import PURGE_STEP_ITEMS, PURGE_TIME_RESERVE_MS, PurgeOutcome
from kuploy_access.services.ports.org_purge import OrgPurgeStore


@dataclass
class OrgPurgeService:
    store: OrgPurgeStore
    step_items: int = PURGE_STEP_ITEMS
    reserve_ms: int = PURGE_TIME_RESERVE_MS

    def purge(self, org_id: str, remaining_ms: Callable[[], int]) -> PurgeOutcome:
        """`remaining_ms` is the run's time left (Lambda's context). Safe to run again,
        and at the same time as another run for the same organization: every step
        removes what is still there."""
        removed = 0
        while True:
            if remaining_ms() < self.reserve_ms:
                # Checked before every step, the first included: a run that reaches this
                # organization late in a batch passes it on rather than being cut short.
                self.store.hand_over(org_id)
                return PurgeOutcome(org_id, removed, finished=False)
            step = self.store.purge_step(org_id, self.step_items)
            removed += step.removed
            if step.finished:
                return PurgeOutcome(org_id, removed, finished=True)
