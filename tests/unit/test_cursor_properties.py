"""Properties of list cursors (Hypothesis): what a list gives out reads back as the same
position; any other text (junk, a cursor cut short or changed, another list's) is
`ValidationFailed`, the 422 validation_error of API.md, and never another exception;
and a cursor names a position only, never the partition a list reads (that comes from
the path and the caller), so a cursor cannot move a list into another organization's or
another person's items.

Cursors are not bound to one organization: `/orgs/A/members` takes a cursor from
`/orgs/B/members`. By design that is harmless: it only says where to start in the list
the caller is already allowed to read.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_GSI1SK_PREFIX,
    EVENT_SK_PREFIX,
    INVITATION_SK_PREFIX,
    MEMBER_SK_PREFIX,
    ORG_PK_PREFIX,
    SESSION_SK_PREFIX,
)
from kuploy_access.adapters.dynamodb.query_pages import decode_cursor, encode_cursor
from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.sessions import Session

# What each list's cursor must name (query_page: "k" the sort key, "ix" for index queries).
TABLE = "table"
LISTS: dict[str, dict[str, str]] = {
    "members": {"k": MEMBER_SK_PREFIX},
    "org invitations": {"k": INVITATION_SK_PREFIX},
    "audit log": {"k": EVENT_SK_PREFIX},
    "projects": {"k": "PRJ#"},
    "my invitations": {"k": INVITATION_SK_PREFIX, "ix": "gsi1"},
    "api keys": {"k": API_KEY_GSI1SK_PREFIX, "ix": "gsi1"},
    "my organizations": {"k": ORG_PK_PREFIX, "ix": "gsi1"},
    "my sessions": {"k": SESSION_SK_PREFIX, "used": ""},
}
LIST_NAMES = sorted(LISTS)
CURSOR_NAMES = ["k", "ix", "used", "x"]
# Text DynamoDB can hold: no lone surrogates.
KEY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


def cursor_of(keys: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("=")


def refused(cursor: str, prefixes: dict[str, str]) -> bool:
    try:
        keys = decode_cursor(cursor, prefixes)
    except ValidationFailed as error:
        assert error.status == 422 and error.code == "validation_error"
        return True
    assert set(keys) == set(prefixes)
    assert all(isinstance(keys[name], str) and keys[name].startswith(prefix) for name, prefix in prefixes.items())
    return False


@st.composite
def positions(draw: st.DrawFn, name: str) -> dict[str, str]:
    return {key: prefix + draw(KEY_TEXT) for key, prefix in LISTS[name].items()}


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(LIST_NAMES), data=st.data())
def test_a_cursor_reads_back_as_the_position_it_was_made_from(name, data):
    position = data.draw(positions(name))
    cursor = encode_cursor(position)
    assert decode_cursor(cursor, LISTS[name]) == position
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")  # URL-safe as is


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(LIST_NAMES), other=st.sampled_from(LIST_NAMES), data=st.data())
def test_a_cursor_of_one_list_is_refused_by_another_unless_it_is_one_of_its_positions(name, other, data):
    position = data.draw(positions(name))
    fits_other = set(position) == set(LISTS[other]) and all(
        position[key].startswith(prefix) for key, prefix in LISTS[other].items()
    )
    assert refused(encode_cursor(position), LISTS[other]) == (not fits_other)


def test_lists_that_share_a_sort_key_prefix_do_not_share_cursors():
    """An organization's invitations (the table) and mine (the index) both sort by
    INVITATION#: the index's cursor names the index, so neither takes the other's."""
    table = encode_cursor({"k": f"{INVITATION_SK_PREFIX}inv_01"})
    index = encode_cursor({"k": f"{INVITATION_SK_PREFIX}inv_01", "ix": "gsi1"})
    assert refused(table, LISTS["my invitations"]) and refused(index, LISTS["org invitations"])


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(LIST_NAMES),
    data=st.data(),
    position_seed=st.integers(min_value=0),
    replacement=st.characters(),
)
def test_a_changed_or_cut_cursor_is_refused_or_is_another_position_of_the_same_list(
    name, data, position_seed, replacement
):
    """Cursors are not signed: a changed one may still name a position of this list (a
    client can only move where its own list starts). Anything else is refused."""
    cursor = encode_cursor(data.draw(positions(name)))
    position = position_seed % len(cursor)
    refused(cursor[:position] + replacement + cursor[position + 1 :], LISTS[name])
    refused(cursor[:position], LISTS[name])


@settings(max_examples=250, deadline=None)
@given(
    name=st.sampled_from(LIST_NAMES),
    cursor=st.one_of(
        st.text(max_size=80),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=80),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(CURSOR_NAMES), inner),
            max_leaves=8,
        ).map(cursor_of),
    ),
)
@example(name="members", cursor="")
@example(name="members", cursor="50")  # an offset, as lists used to take
@example(name="members", cursor=cursor_of({"k": "MEMBER#\ud800"}))  # a lone surrogate JSON can spell
@example(name="members", cursor=cursor_of({"k": ["MEMBER#"]}))
@example(name="members", cursor=base64.urlsafe_b64encode(b"\xff\xfe{").decode())
@example(name="members", cursor=base64.urlsafe_b64encode(b"[" * 5000).decode())  # deeper than the recursion limit
@example(name="members", cursor=base64.urlsafe_b64encode(b"1" * 5000).decode())  # past int's digit limit
@example(name="members", cursor="é")
@example(name="members", cursor="=")
@example(name="my sessions", cursor=cursor_of({"k": "SESSION#x", "used": "not a time"}))
def test_arbitrary_cursors_are_a_position_or_validation_failed(name, cursor):
    refused(cursor, LISTS[name])


# --- the sessions list: a position is (last use, id), decoded by the repository ----------------------

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class SessionsInMemory(DynamoSessionRepository):
    """The repository's paging over a given set of sessions, without the table."""

    def __init__(self, sessions: list[Session]) -> None:
        self._sessions = sessions

    def list_for_user(self, user_id: str) -> list[Session]:
        return [session for session in self._sessions if session.user_id == user_id]


def _session(number: int, minutes_ago: int) -> Session:
    used = NOW - timedelta(minutes=minutes_ago)
    return Session(
        id=f"ses_{number:04d}",
        user_id="usr_01ada",
        created_at=used - timedelta(days=1),
        last_used_at=used,
        expires_at=NOW + timedelta(days=20),
        ip="198.51.100.1",
        user_agent="pytest",
        refresh_token_hash=f"{number:064x}",
    )


@settings(max_examples=100, deadline=None)
@given(
    minutes_ago=st.lists(st.integers(min_value=0, max_value=30), max_size=25),
    limit=st.integers(min_value=1, max_value=7),
)
def test_a_walk_through_my_sessions_shows_each_once_newest_first(minutes_ago, limit):
    """Several sessions may share a last use: the id breaks the tie, so none is skipped."""
    sessions = [_session(number, ago) for number, ago in enumerate(minutes_ago)]
    repository = SessionsInMemory(sessions)
    shown: list[Session] = []
    cursor = None
    for _ in range(len(sessions) + 1):
        page = repository.live_page("usr_01ada", NOW, limit, cursor)
        assert len(page.items) <= limit
        shown += page.items
        cursor = page.next_cursor
        if cursor is None:
            break
    assert cursor is None
    assert shown == sorted(sessions, key=lambda s: (s.last_used_at, s.id), reverse=True)


@settings(max_examples=250, deadline=None)
@given(
    used=st.one_of(
        st.text(max_size=40),
        st.datetimes(timezones=st.sampled_from([UTC, None])).map(datetime.isoformat),
        st.sampled_from(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59.999999-23:59", "2026-03-01"]),
    ),
    session_id=KEY_TEXT,
)
@example(used="2026-03-01T09:30:00", session_id="ses_1")  # no time zone: cannot be compared with UTC
@example(used="0001-01-01T00:00:00+23:59", session_id="ses_1")
def test_any_sessions_cursor_pages_or_is_validation_failed(used, session_id):
    repository = SessionsInMemory([_session(1, 5), _session(2, 10)])
    cursor = encode_cursor({"k": SESSION_SK_PREFIX + session_id, "used": used})
    try:
        page = repository.live_page("usr_01ada", NOW, 1, cursor)
    except ValidationFailed as error:
        assert error.status == 422
        return
    assert len(page.items) <= 1
