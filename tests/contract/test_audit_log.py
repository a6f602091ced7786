"""AuditLog: events never rewritten, read newest first a page at a time (all of them,
or those of an actor and an action), and decoys that cost a write and leave nothing
(services/login.py, organizations.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kuploy_access.domain.audit import FILTER_READ_BUDGET, Actor, AuditEvent, AuditFilter, audit_event
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.users import NOBODY
from tests.contract.account_side import NOW, AccountSide, account_side, an_event
from tests.contract.cursors import every_page


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def events_at(*seconds: int, org_id: str = "usr_ada") -> list[AuditEvent]:
    return [an_event(org_id, f"action.{n}", NOW + timedelta(seconds=n)) for n in seconds]


def everything(side: AccountSide, org_id: str, limit: int) -> list[list[AuditEvent]]:
    pages, cursor = [], None
    while True:
        page = side.audit.page(org_id, limit, cursor)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_an_event_reads_back_as_it_was_recorded(side: AccountSide) -> None:
    event = AuditEvent(
        id="evt_01hzzzzzzz0000000000000000",
        org_id="org_acme",
        at=NOW,
        actor=Actor("api_key", "key_1"),
        action="member.role_changed",
        target="usr_bob",
        ip="2001:db8::1",
        user_agent="curl/8.5",
        details={"from": "member", "to": "admin"},
    )

    side.audit.record(event)

    assert side.audit.page("org_acme", 10, None).items == [event]


def test_the_log_is_newest_first_whatever_the_order_of_writing(side: AccountSide) -> None:
    first, second, third = events_at(1, 2, 3)
    for event in (second, third, first):
        side.audit.record(event)

    assert side.audit.page("usr_ada", 10, None).items == [third, second, first]


def test_each_log_holds_only_its_own_events(side: AccountSide) -> None:
    mine = events_at(1, 2)
    theirs = events_at(3, org_id="org_other")
    for event in mine + theirs:
        side.audit.record(event)

    assert side.audit.page("usr_ada", 10, None).items == mine[::-1]
    assert side.audit.page("org_other", 10, None).items == theirs
    assert side.audit.page("org_empty", 10, None).items == []


def test_pages_cover_the_log_once_newest_first(side: AccountSide) -> None:
    events = events_at(1, 2, 3, 4, 5)
    for event in events:
        side.audit.record(event)

    assert everything(side, "usr_ada", 2) == [events[4:2:-1], events[2:0:-1], events[:1]]


def test_a_full_last_page_has_no_next(side: AccountSide) -> None:
    events = events_at(1, 2, 3, 4)
    for event in events:
        side.audit.record(event)

    assert everything(side, "usr_ada", 2) == [events[3:1:-1], events[1::-1]]
    assert side.audit.page("usr_ada", 4, None).next_cursor is None


def test_an_empty_log_is_one_empty_page(side: AccountSide) -> None:
    page = side.audit.page("usr_ada", 10, None)

    assert (page.items, page.next_cursor) == ([], None)


def test_a_cursor_this_api_never_gave_out_is_refused(side: AccountSide) -> None:
    for event in events_at(1, 2, 3):
        side.audit.record(event)

    with pytest.raises(ValidationFailed):
        side.audit.page("usr_ada", 1, "not-ours")


def test_an_event_is_never_rewritten(side: AccountSide) -> None:
    (event,) = events_at(1)
    side.audit.record(event)

    with pytest.raises(Exception):  # noqa: B017 - the adapter's and the fake's are not the port's
        side.audit.record(AuditEvent(**{**vars(event), "action": "rewritten"}))

    assert side.audit.page("usr_ada", 10, None).items == [event]


def test_a_decoy_leaves_nothing(side: AccountSide) -> None:
    (event,) = events_at(1, org_id=NOBODY)
    (real,) = events_at(2)

    side.audit.decoy(event)
    side.audit.decoy(real)

    assert side.audit.page(NOBODY, 10, None).items == []
    assert side.audit.page("usr_ada", 10, None).items == []
    side.audit.record(real)  # its id was never taken
    assert side.audit.page("usr_ada", 10, None).items == [real]


# --- filters: GET /orgs/{org_id}/audit-log?actor=&action= ------------------------------


def an_org_log(side: AccountSide) -> list[AuditEvent]:
    """Seven events of org_acme, oldest first: Ada's and a key's, of three groups."""
    ada, key = Actor("user", "usr_ada", "ada@example.com"), Actor("api_key", "key_ci")
    acts = [
        (ada, "api_key.created"),
        (key, "project.created"),
        (ada, "member.invited"),
        (ada, "api_key.revoked"),
        (key, "api_key_like.action"),
        (ada, "api_key.created"),
        (key, "project.deleted"),
    ]
    events = [
        audit_event("org_acme", NOW + timedelta(seconds=n), actor, action, "t", "", "")
        for n, (actor, action) in enumerate(acts)
    ]
    for event in events:
        side.audit.record(event)
    return events


def filtered(side: AccountSide, only: AuditFilter, limit: int = 10) -> list[list[AuditEvent]]:
    pages, cursor = [], None
    while True:
        page = side.audit.page("org_acme", limit, cursor, only)
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


def test_an_action_filter_takes_that_action_or_its_group_only(side: AccountSide) -> None:
    events = an_org_log(side)

    assert filtered(side, AuditFilter(action="api_key.created")) == [[events[5], events[0]]]
    # The group is what comes before the dot: "api_key_like.action" is not in it.
    assert filtered(side, AuditFilter(action="api_key")) == [[events[5], events[3], events[0]]]
    assert filtered(side, AuditFilter(action="api_key.")) == [[]]


def test_an_actor_filter_takes_an_id_or_an_email_in_any_case(side: AccountSide) -> None:
    events = an_org_log(side)
    adas = [[events[5], events[3], events[2], events[0]]]

    assert filtered(side, AuditFilter(actor="usr_ada")) == adas
    assert filtered(side, AuditFilter(actor=" Ada@Example.com ")) == adas
    assert filtered(side, AuditFilter(actor="key_ci")) == [[events[6], events[4], events[1]]]
    assert filtered(side, AuditFilter(actor="nobody@example.com")) == [[]]


def test_both_filters_together_narrow_to_what_matches_both(side: AccountSide) -> None:
    events = an_org_log(side)

    assert filtered(side, AuditFilter(actor="key_ci", action="project")) == [[events[6], events[1]]]


def test_filtered_pages_are_full_and_cover_the_matches_once(side: AccountSide) -> None:
    events = an_org_log(side)

    # Non-matching events lie between the matches; every page but the last is still full.
    assert filtered(side, AuditFilter(actor="usr_ada"), limit=2) == [[events[5], events[3]], [events[2], events[0]]]
    assert filtered(side, AuditFilter(action="project"), limit=1) == [[events[6]], [events[1]]]


def test_a_filter_reads_only_its_own_log(side: AccountSide) -> None:
    an_org_log(side)
    other = audit_event("org_other", NOW, Actor("user", "usr_ada", "ada@example.com"), "api_key.created", "t", "", "")
    side.audit.record(other)

    assert side.audit.page("org_other", 10, None, AuditFilter(actor="usr_ada")).items == [other]


# --- a filter reads a bounded share of the log per request -----------------------------


def a_long_log(side: AccountSide, size: int, needles: set[int]) -> list[AuditEvent]:
    """`size` events of usr_ada, oldest first: `needle.found` at the indexes of
    `needles`, `noise.made` everywhere else."""
    events = [
        an_event("usr_ada", "needle.found" if n in needles else "noise.made", NOW + timedelta(seconds=n))
        for n in range(size)
    ]
    for event in events:
        side.audit.record(event)
    return events


def test_a_filter_matching_nothing_answers_within_its_read_budget_and_pages_on(side: AccountSide) -> None:
    """A filter that never matches must not read the whole log in one request (400
    days of events: Query after Query until a Lambda's timeout): past its budget the
    page ends short, here empty, with a cursor to page on from where it stopped."""
    a_long_log(side, FILTER_READ_BUDGET + 40, needles=set())
    never = AuditFilter(action="zz")

    first = side.audit.page("usr_ada", 10, None, never)

    assert first.items == [] and first.next_cursor is not None
    assert every_page(lambda cursor: side.audit.page("usr_ada", 10, cursor, never)) == [[], []]
    # The cursor is this log's, checked as any other: another list refuses it.
    with pytest.raises(ValidationFailed):
        side.sessions.live_page("usr_ada", NOW, 10, first.next_cursor)


def test_paging_a_budgeted_filter_misses_no_match_and_repeats_none(side: AccountSide) -> None:
    size = FILTER_READ_BUDGET + 30
    # Newest first, the budget runs out on event 30: a match on its last read, one on
    # the first read after it, and the log's two ends.
    needles = {0, 29, 30, size - 1}
    events = a_long_log(side, size, needles)
    needle = AuditFilter(action="needle")

    pages = every_page(lambda cursor: side.audit.page("usr_ada", 3, cursor, needle))

    assert pages == [[events[size - 1], events[30]], [events[29], events[0]]]
