"""Response bodies that several functions answer (and the OpenAPI document names once)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from kuploy_access.domain.sessions import TokenPair


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int

    @classmethod
    def of(cls, pair: TokenPair) -> Tokens:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
        )


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
