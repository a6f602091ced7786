"""Login sessions and the refresh tokens that keep them alive."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from kuploy_access.adapters.dynamodb.models import RefreshTokenItem, SessionItem, user_key
from kuploy_access.config import settings
from kuploy_access.domain.sessions import Session


def refresh_key(token_hash: str) -> str:
    return f"REFRESH#{token_hash}"


def session_sort_key(session_id: str) -> str:
    return f"SESSION#{session_id}"


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
            expires_at_epoch=session.expires_at,
        )
        refresh = RefreshTokenItem(
            pk=refresh_key(session.refresh_token_hash),
            sk="REFRESH",
            session_id=session.id,
            user_id=session.user_id,
            expires_at=session.expires_at,
            expires_at_epoch=session.expires_at,
        )
        # One request for both: a session never exists without its refresh token.
        with TransactWrite(connection=self._connection) as transaction:
            transaction.save(record, condition=SessionItem.pk.does_not_exist())
            transaction.save(refresh, condition=RefreshTokenItem.pk.does_not_exist())
