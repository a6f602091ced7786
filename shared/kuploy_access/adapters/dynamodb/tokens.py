"""Single-use opaque tokens (emailed links, and the login codes OAuth callbacks hand to
browsers), stored by the SHA-256 of their secret."""

from __future__ import annotations

from pynamodb.exceptions import DeleteError
from pynamodb.expressions.condition import Condition

from kuploy_access.adapters.dynamodb.conditions import absent, present
from kuploy_access.adapters.dynamodb.keys import ONE_TIME_TOKEN_SK, one_time_token_pk
from kuploy_access.adapters.dynamodb.models import OneTimeTokenItem
from kuploy_access.domain.one_time_tokens import OneTimeToken, RequestOrigin, TokenKind


def token_ref(kind: TokenKind, token_hash: str) -> OneTimeTokenItem:
    return OneTimeTokenItem(pk=one_time_token_pk(kind, token_hash), sk=ONE_TIME_TOKEN_SK)


def token_item(token: OneTimeToken) -> OneTimeTokenItem:
    origin = token.origin
    return OneTimeTokenItem(
        pk=one_time_token_pk(token.kind, token.token_hash),
        sk=ONE_TIME_TOKEN_SK,
        kind=token.kind.value,
        user_id=token.user_id,
        expires_at=token.expires_at,
        expires_at_epoch=token.expires_at,
        password_hash=token.password_hash,
        requested_at=origin.at if origin else None,
        ip=origin.ip if origin else None,
        user_agent=origin.user_agent if origin else None,
    )


def _token_of(kind: TokenKind, token_hash: str, item: OneTimeTokenItem) -> OneTimeToken:
    origin = None
    if item.requested_at is not None:
        origin = RequestOrigin(at=item.requested_at, ip=item.ip or "", user_agent=item.user_agent or "")
    return OneTimeToken(
        kind=kind,
        token_hash=token_hash,
        user_id=item.user_id,
        expires_at=item.expires_at,
        password_hash=item.password_hash,
        origin=origin,
    )


class DynamoTokenRepository:
    def put(self, token: OneTimeToken) -> None:
        token_item(token).save(condition=absent())

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None:
        try:
            item = OneTimeTokenItem.get(one_time_token_pk(kind, token_hash), ONE_TIME_TOKEN_SK)
        except OneTimeTokenItem.DoesNotExist:
            return None
        if item.kind != kind.value:
            return None
        return _token_of(kind, token_hash, item)

    def delete(self, kind: TokenKind, token_hash: str) -> None:
        token_ref(kind, token_hash).delete()

    def take(self, token: OneTimeToken) -> OneTimeToken | None:
        """LoginCodes.take: one conditional DeleteItem that answers what it deleted, so
        of racing takers only the one whose delete found the item gets it."""
        same_kind: Condition = present() & (OneTimeTokenItem.kind == token.kind.value)
        try:
            answer = OneTimeTokenItem._get_connection().delete_item(
                one_time_token_pk(token.kind, token.token_hash),
                range_key=ONE_TIME_TOKEN_SK,
                condition=same_kind,
                return_values="ALL_OLD",
            )
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return None
            raise
        item = OneTimeTokenItem.from_raw_data(answer["Attributes"])
        return _token_of(token.kind, token.token_hash, item)
