"""The audit trails: organizations' logs and accounts' own security trails (one
partition per organization or account). DynamoAuditLog implements the three ports;
the fakes are FakeAccountTrail (fakes.py) and FakeAuditLog (org_fakes.py).

Most events are written inside the transaction of the change they record (the
repositories take the event); these ports write the ones that stand alone."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.audit import ANY_EVENT, AuditEvent, AuditFilter
from kuploy_access.domain.paging import Page


class AuditRecorder(Protocol):
    """For SessionService, TwoFactorService and ReauthenticationService (PasswordService
    and AdminService hand their events to the change's own transaction). Raises nothing
    the services catch (an event id is never reused)."""

    def record(self, event: AuditEvent) -> None: ...


class SignInAudit(AuditRecorder, Protocol):  # LoginService
    """Raises nothing."""

    def decoy(self, event: AuditEvent) -> None:
        """The same write as `record`, refused by its condition: nothing is stored. Paths
        for unknown accounts make it so that they cost what known ones do."""


class AuditReader(Protocol):  # OrganizationService, SecurityLogService
    """`org_id` is an organization's id, or a user id for the account's own trail.
    Raises ValidationFailed for a cursor this API did not give out."""

    def page(self, org_id: str, limit: int, cursor: str | None, only: AuditFilter = ANY_EVENT) -> Page[AuditEvent]:
        """Newest first; with `only`, the events it matches among at most
        FILTER_READ_BUDGET read (domain/audit.py): the page is full when enough of them
        match, and otherwise ends short, even empty, with a cursor to read on from."""
