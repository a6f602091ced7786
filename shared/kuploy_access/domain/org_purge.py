"""Removing what a deleted organization held, in the background.

`DELETE /orgs/{org_id}` only marks the organization deleted (one transaction, with its
audit event): from that write on nothing of it can be used. The purge then removes its
items a step at a time, and hands the rest over to a new run before its own time runs
out, so an organization of any size is removed by runs of bounded length.
"""

from __future__ import annotations

from dataclasses import dataclass

# Items one step removes at most: a Query page and a few BatchWriteItem calls of 25, a
# second or so on DynamoDB, well inside the reserve below.
PURGE_STEP_ITEMS = 500
# A run starts no step with less than this left (Lambda's remaining time): it hands the
# rest over instead. A step is about a second; the reserve covers throttling retries.
PURGE_TIME_RESERVE_MS = 20_000


@dataclass(frozen=True)
class PurgeStep:
    """What one step did: `removed` delete requests (an item already gone counts too),
    and whether nothing of the organization is left (its profile included)."""

    removed: int
    finished: bool


@dataclass(frozen=True)
class PurgeOutcome:
    """What one run did for one organization: finished, or handed over to a next run."""

    org_id: str
    removed: int
    finished: bool


class OrganizationNotDeleted(Exception):
    """A purge was asked for an organization that is not marked deleted: nothing is
    removed (a bug or a forged trigger, never a state to clean up)."""

    def __init__(self, org_id: str) -> None:
        super().__init__(f"organization {org_id} is not marked deleted; nothing was purged")
        self.org_id = org_id
