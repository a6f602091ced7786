"""The account's own audit trail (`GET /me/audit-log`) on the in-memory trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.audit import Actor, AuditEvent, audit_event
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.services.security_log import SecurityLogService
from tests.unit.fakes import FakeAccountTrail

ADA = "usr_01ada"
GRACE = "usr_01grace"
START = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def an_event(owner_id: str, minute: int, action: str = "session.login") -> AuditEvent:
    at = START + timedelta(minutes=minute)
    return audit_event(owner_id, at, Actor("user", owner_id), action, owner_id, "203.0.113.9", "pytest")


@pytest.fixture
def trail() -> FakeAccountTrail:
    return FakeAccountTrail()


def test_answers_the_accounts_events_newest_first(trail):
    ada = [an_event(ADA, minute) for minute in range(4)]
    for event in (ada[2], ada[0], ada[3], ada[1]):
        trail.record(event)
    page = SecurityLogService(trail).page(ADA, 50, None)
    assert page.items == list(reversed(ada))
    assert page.next_cursor is None


def test_pages_follow_one_another_without_gaps_or_repeats(trail):
    ada = [an_event(ADA, minute) for minute in range(5)]
    for event in ada:
        trail.record(event)
    service = SecurityLogService(trail)
    seen: list[AuditEvent] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = service.page(ADA, 2, cursor)
        seen += page.items
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [2, 2, 1]
    assert seen == list(reversed(ada))


def test_another_accounts_and_organizations_events_are_not_shown(trail):
    mine = an_event(ADA, 1)
    trail.record(an_event(GRACE, 0))
    trail.record(mine)
    trail.record(an_event("org_01analytical", 2, "org.updated"))
    trail.record(an_event(GRACE, 3, "two_factor.enabled"))
    assert SecurityLogService(trail).page(ADA, 50, None).items == [mine]
    assert [e.org_id for e in SecurityLogService(trail).page(GRACE, 50, None).items] == [GRACE, GRACE]


def test_an_empty_trail_answers_an_empty_last_page(trail):
    trail.record(an_event(GRACE, 0))
    page = SecurityLogService(trail).page(ADA, 50, None)
    assert (page.items, page.next_cursor) == ([], None)


def test_a_cursor_this_api_did_not_give_out_is_refused(trail):
    trail.record(an_event(ADA, 0))
    with pytest.raises(ValidationFailed):
        SecurityLogService(trail).page(ADA, 50, "bogus")
