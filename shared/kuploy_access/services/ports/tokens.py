"""Single-use tokens (email verification, password reset, account unlock) and the
exception every port that consumes one raises when it lost the race."""

from __future__ import annotations

from typing import Protocol

from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind


class TokenNotUsable(Exception):
    """A single-use token was consumed concurrently or vanished."""


class TokenRepository(Protocol):  # SignUpService, LoginService, PasswordService
    """Plain reads and writes; raises nothing. Consuming a token is part of the write
    that uses it (users.py, throttling.py), which raises TokenNotUsable."""

    def put(self, token: OneTimeToken) -> None: ...

    def get(self, kind: TokenKind, token_hash: str) -> OneTimeToken | None: ...

    def delete(self, kind: TokenKind, token_hash: str) -> None: ...
