"""Hand-made JWTs for attack tests: any header, any payload, any signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Any

from kuploy_access.domain.access_tokens import ISSUER, JwtKind

TEST_KEY = b"unit-test-signing-key-" + b"0123456789abcdef" * 3  # 70 bytes, enough even for HS512
OTHER_KEY = b"another-signing-key-entirely-0123456789"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def segment(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def claims_for(
    kind: JwtKind, now: datetime, lifetime: timedelta = timedelta(minutes=15), **extra: object
) -> dict[str, Any]:
    issued = int(now.timestamp())
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": kind.audience,
        "sub": "usr_someone",
        "iat": issued,
        "exp": issued + int(lifetime.total_seconds()),
        "jti": "jti-1",
    }
    claims.update(extra)
    return claims


def hmac_token(header: dict[str, Any], claims: dict[str, Any], key: bytes = TEST_KEY, digest=hashlib.sha256) -> str:
    signing_input = f"{segment(header)}.{segment(claims)}"
    signature = hmac.new(key, signing_input.encode("ascii"), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{segment(header)}.{segment(claims)}."


def decode_segment(token: str, index: int) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(b64url_decode(token.split(".")[index]))
    return decoded
