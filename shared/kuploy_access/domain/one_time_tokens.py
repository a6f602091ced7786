"""Opaque single-use tokens sent by email or handed to browsers.

The secret is 256 bits from `secrets`; only its SHA-256 is stored, under a key that
also names the kind, so a verification token can never be presented as a reset token.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TokenKind(StrEnum):
    EMAIL_VERIFICATION = "email_verification"
    PASSWORD_RESET = "password_reset"
    LOGIN_CODE = "login_code"
    OAUTH_STATE = "oauth_state"
    ACCOUNT_UNLOCK = "account_unlock"


TOKEN_LIFETIMES = {
    TokenKind.EMAIL_VERIFICATION: timedelta(hours=24),
    TokenKind.PASSWORD_RESET: timedelta(hours=1),
    TokenKind.LOGIN_CODE: timedelta(seconds=60),
    TokenKind.OAUTH_STATE: timedelta(minutes=10),
    TokenKind.ACCOUNT_UNLOCK: timedelta(hours=24),
}

MAX_TOKEN_LENGTH = 512


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class OneTimeToken:
    kind: TokenKind
    token_hash: str
    user_id: str
    expires_at: datetime

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
