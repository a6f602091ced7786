"""SessionRepository: a session and its refresh token, rotated once per token
(services/sessions.py: reuse detection, sign-out, re-authentication)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.adapters.dynamodb.keys import refresh_token_pk, session_sk, user_pk
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.services.ports.sessions import RefreshAlreadyRotated, SessionNotLive
from tests.contract.account_side import NOW, AccountSide, a_session, account_side
from tests.contract.cursors import cursor_of, every_page, forged_cursors, truncated

LATER = NOW + timedelta(minutes=20)
IDLE = LATER + timedelta(days=7)


@pytest.fixture(params=["fake", "dynamo"])
def side(request: pytest.FixtureRequest) -> AccountSide:
    return account_side(request)


def refresh_of(side: AccountSide, token_hash: str) -> RefreshToken:
    token = side.sessions.get_refresh(token_hash)
    assert token is not None
    return token


def test_create_stores_the_session_and_its_refresh_token(side: AccountSide) -> None:
    session = a_session()

    side.sessions.create(session)

    assert side.sessions.get("usr_ada", session.id) == session
    assert side.sessions.get_refresh(session.refresh_token_hash) == RefreshToken(
        token_hash=session.refresh_token_hash,
        session_id=session.id,
        user_id="usr_ada",
        expires_at=session.expires_at,
        idle_expires_at=session.idle_expires_at,  # type: ignore[arg-type]
        auth_time=session.auth_time,
    )


def test_a_refresh_token_without_an_idle_limit_lives_until_the_session_ends(side: AccountSide) -> None:
    session = replace(a_session(), idle_expires_at=None, auth_time=None)

    side.sessions.create(session)

    token = refresh_of(side, session.refresh_token_hash)
    assert token.idle_expires_at == session.expires_at
    assert token.auth_time is None


def test_unknown_sessions_and_tokens_are_none(side: AccountSide) -> None:
    side.sessions.create(a_session())

    assert side.sessions.get("usr_ada", "ses_other") is None
    assert side.sessions.get("usr_bob", "ses_one") is None  # another account's id
    assert side.sessions.get_refresh("refresh-unknown") is None


@pytest.mark.parametrize("clash", ["session id", "refresh token"])
def test_a_session_never_overwrites_another(side: AccountSide, clash: str) -> None:
    first = a_session()
    side.sessions.create(first)
    second = a_session("ses_two", refresh_hash="refresh-2")
    second = replace(second, id=first.id) if clash == "session id" else replace(second, refresh_token_hash="refresh-1")

    with pytest.raises(Exception):  # noqa: B017 - the adapter's and the fake's are not the port's
        side.sessions.create(replace(second, ip="203.0.113.9"))

    assert side.sessions.get("usr_ada", first.id) == first
    assert refresh_of(side, "refresh-1").session_id == first.id


def test_list_for_user_has_every_session_of_the_account_and_no_other(side: AccountSide) -> None:
    mine = [a_session("ses_a"), a_session("ses_b", refresh_hash="refresh-b")]
    for session in [*mine, a_session("ses_c", "usr_bob", "refresh-c")]:
        side.sessions.create(session)
    side.sessions.revoke("usr_ada", "ses_b", LATER)

    listed = sorted(side.sessions.list_for_user("usr_ada"), key=lambda s: s.id)

    assert listed == [mine[0], replace(mine[1], revoked_at=LATER)]  # revoked ones too
    assert side.sessions.list_for_user("usr_nobody") == []


# --- live sessions, a page at a time --------------------------------------------------------------


def used_at(session: Session, minutes_ago: int) -> Session:
    return replace(session, last_used_at=NOW - timedelta(minutes=minutes_ago))


def test_live_sessions_come_a_page_at_a_time_most_recently_used_first(side: AccountSide) -> None:
    """Then by id, newest first, where two were last used at the same moment."""
    made = [
        used_at(a_session("ses_1", refresh_hash="refresh-1"), 30),
        used_at(a_session("ses_2", refresh_hash="refresh-2"), 5),
        used_at(a_session("ses_3", refresh_hash="refresh-3"), 60),
        used_at(a_session("ses_4", refresh_hash="refresh-4"), 5),
        used_at(a_session("ses_5", refresh_hash="refresh-5"), 1),
    ]
    gone = [
        a_session("ses_revoked", refresh_hash="refresh-revoked"),
        replace(a_session("ses_ended", refresh_hash="refresh-ended"), expires_at=NOW),
        replace(a_session("ses_idle", refresh_hash="refresh-idle"), idle_expires_at=NOW),
        a_session("ses_bob", "usr_bob", "refresh-bob"),
    ]
    for session in [*made, *gone]:
        side.sessions.create(session)
    side.sessions.revoke("usr_ada", "ses_revoked", NOW)
    by_use = [made[4], made[3], made[1], made[0], made[2]]

    assert every_page(lambda cursor: side.sessions.live_page("usr_ada", NOW, 2, cursor)) == [
        by_use[:2],
        by_use[2:4],
        by_use[4:],
    ]
    assert side.sessions.live_page("usr_ada", NOW, 5, None) == Page(by_use, None)
    assert side.sessions.live_page("usr_nobody", NOW, 5, None) == Page([], None)


def test_the_next_page_of_sessions_starts_after_the_last_one_shown(side: AccountSide) -> None:
    made = [used_at(a_session(f"ses_{n}", refresh_hash=f"refresh-{n}"), n) for n in range(5)]
    for session in made:
        side.sessions.create(session)
    first = side.sessions.live_page("usr_ada", NOW, 2, None)
    assert first.items == made[:2]

    # Shown already: signed out, or used again (now the most recent), they skip nobody
    # and come back to nobody.
    side.sessions.revoke("usr_ada", "ses_0", NOW)
    side.sessions.rotate(refresh_of(side, "refresh-1"), "refresh-1b", LATER, IDLE, "203.0.113.7", "Safari")

    assert side.sessions.live_page("usr_ada", NOW, 2, first.next_cursor).items == made[2:4]


def test_a_forged_truncated_or_foreign_cursor_of_sessions_is_refused(side: AccountSide) -> None:
    for n in range(3):
        side.sessions.create(used_at(a_session(f"ses_{n}", refresh_hash=f"refresh-{n}"), n))
    own = side.sessions.live_page("usr_ada", NOW, 1, None)
    assert own.next_cursor is not None
    near_misses = [
        cursor_of(k=session_sk("ses_1")),  # no time of use
        cursor_of(k=session_sk("ses_1"), used="yesterday"),
        cursor_of(k=session_sk("ses_1"), used="2031-03-04T09:07:30"),  # no time zone
        cursor_of(k=refresh_token_pk("refresh-1"), used=NOW.isoformat()),  # another key's shape
        cursor_of(k=session_sk("ses_1"), used=NOW.isoformat(), pk=user_pk("usr_ada")),
    ]

    for forged in [*forged_cursors(), *near_misses, truncated(own.next_cursor)]:
        with pytest.raises(ValidationFailed):
            side.sessions.live_page("usr_ada", NOW, 10, forged)


# --- rotation -------------------------------------------------------------------------


def test_rotate_makes_the_new_token_the_sessions_and_marks_the_old_one(side: AccountSide) -> None:
    session = a_session()
    side.sessions.create(session)
    old = refresh_of(side, "refresh-1")

    side.sessions.rotate(old, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    assert refresh_of(side, "refresh-1") == replace(old, rotated_at=LATER)
    assert refresh_of(side, "refresh-2") == RefreshToken(
        token_hash="refresh-2",
        session_id=session.id,
        user_id="usr_ada",
        expires_at=session.expires_at,
        idle_expires_at=IDLE,
        auth_time=NOW,  # a refresh proves nothing: the old token's
    )
    assert side.sessions.get("usr_ada", session.id) == replace(
        session,
        refresh_token_hash="refresh-2",
        last_used_at=LATER,
        idle_expires_at=IDLE,
        ip="203.0.113.7",
        user_agent="Safari",
    )


def test_a_reauthentication_records_its_time_on_the_session_and_the_new_token(side: AccountSide) -> None:
    side.sessions.create(a_session())

    side.sessions.rotate(refresh_of(side, "refresh-1"), "refresh-2", LATER, IDLE, "203.0.113.7", "Safari", LATER)

    assert refresh_of(side, "refresh-2").auth_time == LATER
    assert side.sessions.get("usr_ada", "ses_one").auth_time == LATER  # type: ignore[union-attr]


def test_a_token_rotates_once(side: AccountSide) -> None:
    side.sessions.create(a_session())
    old = refresh_of(side, "refresh-1")
    side.sessions.rotate(old, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    with pytest.raises(RefreshAlreadyRotated):
        side.sessions.rotate(old, "refresh-3", LATER, IDLE, "203.0.113.66", "Thief")

    assert side.sessions.get_refresh("refresh-3") is None
    assert side.sessions.get("usr_ada", "ses_one").refresh_token_hash == "refresh-2"  # type: ignore[union-attr]


def test_a_token_read_before_it_rotated_is_refused_as_rotated(side: AccountSide) -> None:
    """Two refreshes read the same token; the second to write loses the race."""
    side.sessions.create(a_session())
    read_by_both = refresh_of(side, "refresh-1")
    side.sessions.rotate(read_by_both, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    with pytest.raises(RefreshAlreadyRotated):
        side.sessions.rotate(read_by_both, "refresh-3", LATER, IDLE, "203.0.113.7", "Safari")


def test_a_token_nobody_issued_is_refused_as_rotated(side: AccountSide) -> None:
    side.sessions.create(a_session())
    forged = replace(refresh_of(side, "refresh-1"), token_hash="refresh-forged")

    with pytest.raises(RefreshAlreadyRotated):
        side.sessions.rotate(forged, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    assert side.sessions.get_refresh("refresh-2") is None


def test_a_revoked_sessions_token_does_not_rotate(side: AccountSide) -> None:
    side.sessions.create(a_session())
    old = refresh_of(side, "refresh-1")
    assert side.sessions.revoke("usr_ada", "ses_one", LATER)

    with pytest.raises(SessionNotLive):
        side.sessions.rotate(old, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    assert refresh_of(side, "refresh-1").rotated_at is None  # all or nothing
    assert side.sessions.get_refresh("refresh-2") is None


def test_a_rotated_token_of_a_revoked_session_is_refused_as_rotated(side: AccountSide) -> None:
    """Both conditions fail: the rotation is what the service acts on (a reuse)."""
    side.sessions.create(a_session())
    old = refresh_of(side, "refresh-1")
    side.sessions.rotate(old, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")
    side.sessions.revoke("usr_ada", "ses_one", LATER)

    with pytest.raises(RefreshAlreadyRotated):
        side.sessions.rotate(old, "refresh-3", LATER, IDLE, "203.0.113.7", "Safari")


def test_a_token_naming_another_accounts_session_does_not_rotate(side: AccountSide) -> None:
    side.sessions.create(a_session())
    side.sessions.create(a_session("ses_bob", "usr_bob", "refresh-bob"))
    crossed = replace(refresh_of(side, "refresh-bob"), session_id="ses_one")

    with pytest.raises(SessionNotLive):
        side.sessions.rotate(crossed, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    assert side.sessions.get("usr_ada", "ses_one").refresh_token_hash == "refresh-1"  # type: ignore[union-attr]
    assert refresh_of(side, "refresh-bob").rotated_at is None


def test_a_rotation_never_overwrites_a_token(side: AccountSide) -> None:
    side.sessions.create(a_session())
    side.sessions.create(a_session("ses_two", refresh_hash="refresh-2"))
    old = refresh_of(side, "refresh-1")

    with pytest.raises(Exception) as raised:
        side.sessions.rotate(old, "refresh-2", LATER, IDLE, "203.0.113.7", "Safari")

    assert not isinstance(raised.value, RefreshAlreadyRotated | SessionNotLive)
    assert refresh_of(side, "refresh-2").session_id == "ses_two"
    assert refresh_of(side, "refresh-1").rotated_at is None


# --- revoke ---------------------------------------------------------------------------


def test_revoke_ends_a_live_session_once(side: AccountSide) -> None:
    session = a_session()
    side.sessions.create(session)

    assert side.sessions.revoke("usr_ada", session.id, LATER) is True
    assert side.sessions.revoke("usr_ada", session.id, LATER + timedelta(minutes=1)) is False

    assert side.sessions.get("usr_ada", session.id) == replace(session, revoked_at=LATER)


def test_revoke_of_an_unknown_session_or_anothers_is_false_and_creates_nothing(side: AccountSide) -> None:
    side.sessions.create(a_session())

    assert side.sessions.revoke("usr_bob", "ses_one", LATER) is False
    assert side.sessions.revoke("usr_ada", "ses_gone", LATER) is False

    assert side.sessions.get("usr_bob", "ses_one") is None
    assert side.sessions.get("usr_ada", "ses_gone") is None
    assert side.sessions.get("usr_ada", "ses_one").revoked_at is None  # type: ignore[union-attr]
