"""Opaque single-use tokens sent by email or handed to browsers.

The secret is 256 bits from `secrets`; only its SHA-256 is stored, under a key that
also names the kind, so a verification token can never be presented as a reset token.

An email verification link is bound to the request that sent it: it carries that
sign-up's password hash (none for a resent link) and when, from which IP and which
browser the request came. Verifying gives the account that hash and no other, so a
link from someone else's sign-up with the same address cannot set their password
unless the inbox's owner confirms it, after an email that names where it came from.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
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

# Pending verification links an unverified account keeps track of, so that verifying one
# can delete the others. 3 sign-up emails an hour per address make at most 72 live links
# in a day; 32 hashes keep the profile item within one 4 KB read unit. A link past them
# still works; once the account is verified it is refused like every other pending one,
# and its item expires by TTL within 24 hours.
MAX_TRACKED_VERIFICATIONS = 32


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # `surrogatepass`: a presented secret may hold a lone surrogate (JSON can spell one),
    # which strict UTF-8 refuses with an exception; it now hashes to what no stored
    # secret hashes to. Every other text encodes exactly as before.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class RequestOrigin:
    """When and from where the request that issued a token came."""

    at: datetime
    ip: str
    user_agent: str


@dataclass(frozen=True)
class OneTimeToken:
    kind: TokenKind
    token_hash: str
    user_id: str
    expires_at: datetime
    # Email verification links only: the password hash of the sign-up that sent the link
    # (None: a resent link, which sets no password) and that request's origin.
    password_hash: str | None = field(default=None, repr=False)
    origin: RequestOrigin | None = None

    def is_expired(self, now: datetime) -> bool:
        return now >= self.expires_at
