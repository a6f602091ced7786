"""Login sessions and the refresh tokens that keep them alive."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.conditions import absent, present, update_if
from kuploy_access.adapters.dynamodb.keys import (
    REFRESH_TOKEN_SK,
    SESSION_SK_PREFIX,
    refresh_token_pk,
    session_sk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.models import RefreshTokenItem, SessionItem
from kuploy_access.adapters.dynamodb.query_pages import decode_cursor, encode_cursor
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.config import settings
from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.paging import Page
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.services.ports.sessions import RefreshAlreadyRotated, SessionNotLive


def _session_ref(user_id: str, session_id: str) -> SessionItem:
    return SessionItem(pk=user_pk(user_id), sk=session_sk(session_id))


def _refresh_ref(token_hash: str) -> RefreshTokenItem:
    return RefreshTokenItem(pk=refresh_token_pk(token_hash), sk=REFRESH_TOKEN_SK)


def _to_session(item: SessionItem) -> Session:
    return Session(
        id=item.session_id,
        user_id=item.user_id,
        created_at=item.created_at,
        last_used_at=item.last_used_at,
        expires_at=item.expires_at,
        ip=item.ip or "",
        user_agent=item.user_agent or "",
        refresh_token_hash=item.refresh_token_hash,
        idle_expires_at=item.idle_expires_at,
        revoked_at=item.revoked_at,
        auth_time=item.auth_time,
    )


def _position(session: Session) -> tuple[datetime, str]:
    return session.last_used_at, session.id


def _position_in(cursor: str) -> tuple[datetime, str]:
    keys = decode_cursor(cursor, {"k": SESSION_SK_PREFIX, "used": ""})
    try:
        used = datetime.fromisoformat(keys["used"])
    except ValueError:
        raise ValidationFailed("The cursor is not one this API gave out") from None
    if used.tzinfo is None:  # compared with the sessions' times, which are in UTC
        raise ValidationFailed("The cursor is not one this API gave out")
    return used, keys["k"].removeprefix(SESSION_SK_PREFIX)


def _refresh_item(session: Session, token_hash: str, idle_expires_at: datetime | None) -> RefreshTokenItem:
    return RefreshTokenItem(
        pk=refresh_token_pk(token_hash),
        sk=REFRESH_TOKEN_SK,
        session_id=session.id,
        user_id=session.user_id,
        expires_at=session.expires_at,
        idle_expires_at=idle_expires_at,
        auth_time=session.auth_time,
        expires_at_epoch=session.expires_at,
    )


class DynamoSessionRepository:
    def __init__(self) -> None:
        self._connection = Connection(region=settings().region)

    def create(self, session: Session) -> None:
        record = SessionItem(
            pk=user_pk(session.user_id),
            sk=session_sk(session.id),
            session_id=session.id,
            user_id=session.user_id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            ip=session.ip,
            user_agent=session.user_agent,
            refresh_token_hash=session.refresh_token_hash,
            idle_expires_at=session.idle_expires_at,
            auth_time=session.auth_time,
            expires_at_epoch=session.expires_at,
        )
        refresh = _refresh_item(session, session.refresh_token_hash, session.idle_expires_at)
        # One request for both: a session never exists without its refresh token.
        Transaction(self._connection).put("session", record, absent()).put("refresh", refresh, absent()).commit()

    def get_refresh(self, token_hash: str) -> RefreshToken | None:
        try:
            item = RefreshTokenItem.get(refresh_token_pk(token_hash), REFRESH_TOKEN_SK)
        except RefreshTokenItem.DoesNotExist:
            return None
        return RefreshToken(
            token_hash=token_hash,
            session_id=item.session_id,
            user_id=item.user_id,
            expires_at=item.expires_at,
            idle_expires_at=item.idle_expires_at or item.expires_at,
            rotated_at=item.rotated_at,
            auth_time=item.auth_time,
        )

    def rotate(
        self,
        old: RefreshToken,
        new_hash: str,
        now: datetime,
        idle_expires_at: datetime,
        ip: str,
        user_agent: str,
        auth_time: datetime | None = None,
    ) -> None:
        """Exchange `old` for `new_hash` in one transaction; exactly one of two racing
        exchanges of the same token can win, because `rotated_at` is set conditionally.
        With `auth_time` (a re-authentication) the session and its new token record it."""
        session = Session(
            id=old.session_id,
            user_id=old.user_id,
            created_at=now,
            last_used_at=now,
            expires_at=old.expires_at,
            ip=ip,
            user_agent=user_agent,
            refresh_token_hash=new_hash,
            auth_time=auth_time or old.auth_time,
        )
        session_changes: list[Action] = [
            SessionItem.refresh_token_hash.set(new_hash),
            SessionItem.last_used_at.set(now),
            SessionItem.idle_expires_at.set(idle_expires_at),
            SessionItem.ip.set(ip),
            SessionItem.user_agent.set(user_agent),
        ]
        if auth_time is not None:
            session_changes.append(SessionItem.auth_time.set(auth_time))
        try:
            (
                Transaction(self._connection)
                .update(
                    "old_token",
                    _refresh_ref(old.token_hash),
                    [RefreshTokenItem.rotated_at.set(now)],
                    present() & RefreshTokenItem.rotated_at.does_not_exist(),
                )
                .put("new_token", _refresh_item(session, new_hash, idle_expires_at), absent())
                .update(
                    "session",
                    _session_ref(old.user_id, old.session_id),
                    session_changes,
                    present()
                    & SessionItem.revoked_at.does_not_exist()
                    & (SessionItem.refresh_token_hash == old.token_hash),
                )
                .commit()
            )
        except ConditionFailed as failed:
            if "old_token" in failed.labels:
                raise RefreshAlreadyRotated() from None
            if "session" in failed.labels:
                raise SessionNotLive() from None
            raise

    def get(self, user_id: str, session_id: str) -> Session | None:
        try:
            return _to_session(SessionItem.get(user_pk(user_id), session_sk(session_id)))
        except SessionItem.DoesNotExist:
            return None

    def list_for_user(self, user_id: str) -> list[Session]:
        return [
            _to_session(item)
            for item in SessionItem.query(user_pk(user_id), SessionItem.sk.startswith(SESSION_SK_PREFIX))
        ]

    def live_page(self, user_id: str, now: datetime, limit: int, cursor: str | None) -> Page[Session]:
        """Most recently used first. Last use is no key, so one Query reads the account's
        sessions (few: each ends within 30 days, and TTL removes it) and the page is cut
        after the cursor's (last use, id), the position of the last session shown."""
        after = _position_in(cursor) if cursor else None
        live = sorted(
            (session for session in self.list_for_user(user_id) if session.is_live(now)),
            key=_position,
            reverse=True,
        )
        if after is not None:
            live = [session for session in live if _position(session) < after]
        shown = live[:limit]
        if len(live) <= limit:
            return Page(shown, None)
        last = shown[-1]
        return Page(shown, encode_cursor({"k": session_sk(last.id), "used": last.last_used_at.isoformat()}))

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        """False when there is no such live session of this user."""
        return update_if(
            _session_ref(user_id, session_id),
            [SessionItem.revoked_at.set(now)],
            present() & SessionItem.revoked_at.does_not_exist(),
        )
