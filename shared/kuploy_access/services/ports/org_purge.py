"""What the organization purge needs of the table. DynamoOrgPurge implements it;
FakeOrganizations (org_fakes.py) is its fake."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.org_purge import PurgeStep


class OrgPurgeStore(Protocol):  # OrgPurgeService
    """Raises OrganizationNotDeleted (domain/org_purge.py) for a live organization;
    nothing else."""

    def purge_step(self, org_id: str, limit: int) -> PurgeStep:
        """Remove at most about `limit` items of a deleted organization: its API keys,
        then its invitations with their links, then the rest of its partition, and its
        profile last. An organization already gone is finished, with nothing removed:
        a step is safe to run again. The audit log stays until its TTL."""

    def hand_over(self, org_id: str, handovers_seen: int | None) -> bool:
        """Ask for another run for this organization (the purge's trigger sees a new
        change of the deleted profile), if the profile's hand-over count is still
        `handovers_seen` (the triggering record's; None: no hand-over yet). False, with
        nothing written, when it moved on (a run for the same record, retried, already
        handed over) or the profile is gone."""
