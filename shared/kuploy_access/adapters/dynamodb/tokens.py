"""Single-use opaque tokens, stored by the SHA-256 of their secret."""

from __future__ import annotations

from kuploy_access.adapters.dynamodb.models import OneTimeTokenItem
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind

TOKEN = "TOKEN"


def token_key(kind: TokenKind, token_hash: str) -> str:
    return f"TOKEN#{kind.value}#{token_hash}"


def token_item(token: OneTimeToken) -> OneTimeTokenItem:
    return OneTimeTokenItem(
        pk=token_key(token.kind, token.token_hash),
        sk=TOKEN,
        kind=token.kind.value,
        user_id=token.user_id,
        expires_at=token.expires_at,
        expires_at_epoch=token.expires_at,
    )


class DynamoTokenRepository:
    def put(self, token: OneTimeToken) -> None:
        token_item(token).save(condition=OneTimeTokenItem.pk.does_not_exist())

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None:
        try:
            item = OneTimeTokenItem.get(token_key(kind, token_hash), TOKEN)
        except OneTimeTokenItem.DoesNotExist:
            return None
        if item.kind != kind.value:
            return None
        return OneTimeToken(
            kind=kind,
            token_hash=token_hash,
            user_id=item.user_id,
            expires_at=item.expires_at,
        )

    def delete(self, kind: TokenKind, token_hash: str) -> None:
        OneTimeTokenItem(pk=token_key(kind, token_hash), sk=TOKEN).delete()
