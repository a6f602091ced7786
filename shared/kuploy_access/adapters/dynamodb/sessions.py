"""Login sessions and the refresh tokens that keep them alive."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from kuploy_access.adapters.dynamodb.models import RefreshTokenItem, SessionItem, user_key
from kuploy_access.config import settings
from kuploy_access.domain.sessions import RefreshToken, Session
from kuploy_access.services.ports.sessions import RefreshAlreadyRotated, SessionNotLive

REFRESH = "REFRESH"
SESSION_PREFIX = "SESSION#"


def refresh_key(token_hash: str) -> str:
    return f"REFRESH#{token_hash}"


def session_sort_key(session_id: str) -> str:
    return f"{SESSION_PREFIX}{session_id}"


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


def _refresh_item(session: Session, token_hash: str, idle_expires_at: datetime | None) -> RefreshTokenItem:
    return RefreshTokenItem(
        pk=refresh_key(token_hash),
        sk=REFRESH,
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
            pk=user_key(session.user_id),
            sk=session_sort_key(session.id),
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
        with TransactWrite(connection=self._connection) as transaction:
            transaction.save(record, condition=SessionItem.pk.does_not_exist())
            transaction.save(refresh, condition=RefreshTokenItem.pk.does_not_exist())

    def get_refresh(self, token_hash: str) -> RefreshToken | None:
        try:
            item = RefreshTokenItem.get(refresh_key(token_hash), REFRESH)
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
            with TransactWrite(connection=self._connection) as transaction:
                transaction.update(
                    RefreshTokenItem(pk=refresh_key(old.token_hash), sk=REFRESH),
                    actions=[RefreshTokenItem.rotated_at.set(now)],
                    condition=RefreshTokenItem.pk.exists() & RefreshTokenItem.rotated_at.does_not_exist(),
                )
                transaction.save(
                    _refresh_item(session, new_hash, idle_expires_at),
                    condition=RefreshTokenItem.pk.does_not_exist(),
                )
                transaction.update(
                    SessionItem(pk=user_key(old.user_id), sk=session_sort_key(old.session_id)),
                    actions=session_changes,
                    condition=SessionItem.pk.exists()
                    & SessionItem.revoked_at.does_not_exist()
                    & (SessionItem.refresh_token_hash == old.token_hash),
                )
        except TransactWriteError as error:
            # PynamoDB sends a transaction's puts before its updates, so the reasons
            # come as [put new token, update old token, update session].
            reasons = [r.code if r is not None else None for r in (error.cancellation_reasons or [])]
            failed = [reason == "ConditionalCheckFailed" for reason in reasons] + [False] * 3
            if failed[1]:
                raise RefreshAlreadyRotated() from None
            if failed[2]:
                raise SessionNotLive() from None
            raise

    def get(self, user_id: str, session_id: str) -> Session | None:
        try:
            return _to_session(SessionItem.get(user_key(user_id), session_sort_key(session_id)))
        except SessionItem.DoesNotExist:
            return None

    def list_for_user(self, user_id: str) -> list[Session]:
        return [
            _to_session(item)
            for item in SessionItem.query(user_key(user_id), SessionItem.sk.startswith(SESSION_PREFIX))
        ]

    def revoke(self, user_id: str, session_id: str, now: datetime) -> bool:
        """False when there is no such live session of this user."""
        item = SessionItem(pk=user_key(user_id), sk=session_sort_key(session_id))
        try:
            item.update(
                actions=[SessionItem.revoked_at.set(now)],
                condition=SessionItem.pk.exists() & SessionItem.revoked_at.does_not_exist(),
            )
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
