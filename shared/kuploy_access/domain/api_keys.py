"""Organization API keys: `kpy_` + 30 base62 characters of CSPRNG randomness (178 bits)
+ a 6-character base62 CRC32 of that random part.

The prefix and the checksum let secret scanners recognise a leaked key offline
(regex `kpy_[0-9A-Za-z]{36}`, then the checksum), and let the authorizer refuse a
mistyped key without a database call. Keys are stored as SHA-256 only: they are
high-entropy, so a slow hash would buy nothing.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

PREFIX = "kpy_"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(r"kpy_[0-9A-Za-z]{36}")
DISPLAY_PREFIX_LENGTH = len(PREFIX) + 6
MAX_EXPIRY_DAYS = 365
MAX_GRACE_HOURS = 168
# `last_used_at` is a hint for reviews: one write per key per minute at most.
USAGE_RESOLUTION = timedelta(minutes=1)


def _base62(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 62)
        chars.append(_BASE62[digit])
    return "".join(reversed(chars))


def checksum(random_part: str) -> str:
    return _base62(zlib.crc32(random_part.encode("ascii")), CHECKSUM_LENGTH)


def new_key() -> str:
    random_part = "".join(secrets.choice(_BASE62) for _ in range(RANDOM_LENGTH))
    return f"{PREFIX}{random_part}{checksum(random_part)}"


def is_well_formed(key: str) -> bool:
    """Shape and checksum: a typo or a truncated paste fails here, before any lookup."""
    if not KEY_PATTERN.fullmatch(key):
        return False
    random_part = key[len(PREFIX) : len(PREFIX) + RANDOM_LENGTH]
    return secrets.compare_digest(checksum(random_part), key[-CHECKSUM_LENGTH:])


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def display_prefix(key: str) -> str:
    return key[:DISPLAY_PREFIX_LENGTH]


@dataclass(frozen=True)
class ApiKey:
    id: str
    org_id: str
    key_hash: str
    prefix: str
    description: str
    scopes: frozenset[str]
    preset: str | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    last_used_ip: str = ""
    rotated_to: str | None = None

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class KeyRecord:
    """An API key as the authorizer reads it on every request: what it may do, and
    whether it still works."""

    key_id: str
    org_id: str
    scopes: tuple[str, ...]
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def is_usable(self, now: datetime) -> bool:
        if self.revoked_at is not None and self.revoked_at <= now:
            return False
        return self.expires_at is None or now < self.expires_at

    def needs_usage_mark(self, now: datetime) -> bool:
        return self.last_used_at is None or now - self.last_used_at >= USAGE_RESOLUTION
