"""Opaque, prefixed, time-sortable identifiers (`usr_…`, `ses_…`).

The body is a ULID-style string: 48 bits of milliseconds then 80 random bits, in
Crockford base32, so ids sort by creation time as strings.
"""

from __future__ import annotations

import secrets
import time

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str, now_ms: int | None = None) -> str:
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_base32(millis, 10)}{_base32(secrets.randbits(80), 16)}"
