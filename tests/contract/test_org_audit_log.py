"""The organization's audit log as OrganizationService.audit_log reads it (AuditLog.page), on
the fake (tests/unit/org_fakes.FakeAuditLog) and on DynamoDB: newest first, a page at a
time, and only the organization's own events. The events come from the repositories'
changes; the other suites check which change writes one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kuploy_access.domain.errors import ValidationFailed
from tests.contract.org_fixtures import NOW, ORG_ID, OrgHouse, an_event, an_org, founded, join, org_house


@pytest.fixture(params=["fake", "dynamo"])
def house(request: pytest.FixtureRequest) -> OrgHouse:
    return org_house(request)


def test_the_log_pages_newest_first_and_ends_without_a_cursor(house: OrgHouse) -> None:
    org, owner = an_org()
    created = an_event(action="org.created")
    house.orgs.create(org, owner, created)
    founded(house, "org_02other")
    events = [created, *(an_event(at=NOW + timedelta(seconds=n)) for n in range(4))]
    for event in events[1:]:
        house.audit.record(event)

    first = house.audit.page(ORG_ID, 3, None)
    second = house.audit.page(ORG_ID, 3, first.next_cursor)

    assert first.items == events[:1:-1]
    assert second.items == events[1::-1]
    assert second.next_cursor is None
    assert house.audit.page(ORG_ID, 5, None).next_cursor is None
    assert [e.action for e in house.audit.page("org_02other", 50, None).items] == ["org.created"]


def test_the_next_page_starts_after_the_last_event_shown(house: OrgHouse) -> None:
    founded(house)
    events = [an_event() for _ in range(4)]
    for event in events:
        house.audit.record(event)
    top = house.audit.page(ORG_ID, 2, None)
    assert top.items == [events[3], events[2]]

    house.audit.record(an_event(at=NOW + timedelta(hours=1)))  # newer: on a new first page only

    assert house.audit.page(ORG_ID, 2, top.next_cursor).items == [events[1], events[0]]


def test_a_forged_cursor_is_refused(house: OrgHouse) -> None:
    founded(house)

    for forged in ("not-ours", "2", "eyJrIjogMX0", "%%%"):
        with pytest.raises(ValidationFailed):
            house.audit.page(ORG_ID, 10, forged)


def test_a_cursor_of_another_list_is_refused(house: OrgHouse) -> None:
    founded(house)
    join(house, "usr_01ada")
    members = house.orgs.members_page(ORG_ID, 1, None)
    assert members.next_cursor is not None

    with pytest.raises(ValidationFailed):
        house.audit.page(ORG_ID, 10, members.next_cursor)


def test_a_decoy_stores_nothing(house: OrgHouse) -> None:
    founded(house)
    before = house.audit.page(ORG_ID, 50, None)

    house.audit.decoy(an_event())

    assert house.audit.page(ORG_ID, 50, None) == before
