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

    def purge(self, org_id: str, remaining_ms: Callable[[], int], handovers_seen: int | None = None) -> PurgeOutcome:
        """`remaining_ms` is the run's time left (Lambda's context); `handovers_seen`
        the hand-over count in the triggering record (None: the deletion mark itself).
        Safe to run again, and at the same time as another run for the same
        organization: every step removes what is still there, and a run again for the
        same record (a retried batch) never hands over a second time, so the chain of
        runs never forks."""
        removed = 0
        while True:
            if remaining_ms() < self.reserve_ms:
                # Checked before every step, the first included: a run that reaches this
                # organization late in a batch passes it on rather than being cut short.
                # False: a run for this record handed over already; stop quietly.
                self.store.hand_over(org_id, handovers_seen)
                return PurgeOutcome(org_id, removed, finished=False)
            step = self.store.purge_step(org_id, self.step_items)
            removed += step.removed
            if step.finished:
                return PurgeOutcome(org_id, removed, finished=True)
