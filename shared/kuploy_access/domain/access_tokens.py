"""Signed JWTs: user access tokens and other short-lived signed tokens.

Every kind has its own `typ` header and `aud` claim, and verification requires
both, so a token minted for one purpose is refused everywhere else. The algorithm is
pinned (HS256) when verifying: `alg: none` and algorithm swaps are refused by PyJWT
before any claim is read. This module stays light: the authorizer imports it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

import jwt

ISSUER = "https://access.kuploy.dev"
ALGORITHM = "HS256"
MIN_KEY_BYTES = 32  # 256 bits, the HS256 security level


class JwtKind(Enum):
    ACCESS = ("at+jwt", "kuploy-api")
    MFA_CHALLENGE = ("mfa+jwt", "kuploy-mfa")

    @property
    def typ(self) -> str:
        return self.value[0]

    @property
    def audience(self) -> str:
        return self.value[1]


class TokenRejected(Exception):
    """The token cannot be used. `code` is `invalid_token` or `token_expired`."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class VerifiedToken:
    subject: str
    session_id: str | None
    token_id: str
    expires_at: int
    claims: dict[str, object]
    # Access tokens: when the person last proved a factor; 0 when the token does not say.
    auth_time: int = 0


class JwtCodec:
    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError("the signing key must have at least 256 bits")
        self._key = key

    def issue(
        self,
        kind: JwtKind,
        subject: str,
        now: datetime,
        lifetime: timedelta,
        extra: dict[str, object] | None = None,
    ) -> str:
        issued = int(now.timestamp())
        claims: dict[str, object] = {
            "iss": ISSUER,
            "aud": kind.audience,
            "sub": subject,
            "iat": issued,
            "exp": issued + int(lifetime.total_seconds()),
            "jti": secrets.token_urlsafe(16),
        }
        if extra:
            claims.update(extra)
        return jwt.encode(claims, self._key, algorithm=ALGORITHM, headers={"typ": kind.typ})

    def verify(self, kind: JwtKind, token: str, now: datetime) -> VerifiedToken:
        # A JWT is base64url and dots. PyJWT encodes the text as UTF-8 before parsing it,
        # which raises UnicodeEncodeError, no PyJWTError, on a lone surrogate.
        if not token.isascii():
            raise TokenRejected("invalid_token", "not ASCII")
        try:
            header = jwt.get_unverified_header(token)
            if header.get("typ") != kind.typ:
                raise TokenRejected("invalid_token", "wrong token type")
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=kind.audience,
                issuer=ISSUER,
                options={
                    "require": ["iss", "aud", "sub", "exp", "iat", "jti"],
                    # Time is judged below against the injected clock only.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except TokenRejected:
            raise
        except jwt.PyJWTError as error:
            raise TokenRejected("invalid_token", type(error).__name__) from None
        # Expiry is checked here, against the injected clock, and only after the
        # signature held: a forged token must never earn a `token_expired` answer.
        try:
            expires_at = int(claims["exp"])
        except (TypeError, ValueError):
            raise TokenRejected("invalid_token", "malformed exp") from None
        if int(now.timestamp()) >= expires_at:
            raise TokenRejected("token_expired", "token expired")
        subject = claims["sub"]
        session_id = claims.get("sid")
        auth_time = claims.get("auth_time")
        return VerifiedToken(
            subject=str(subject),
            session_id=str(session_id) if session_id is not None else None,
            token_id=str(claims["jti"]),
            expires_at=expires_at,
            claims=claims,
            auth_time=auth_time if type(auth_time) is int else 0,
        )
