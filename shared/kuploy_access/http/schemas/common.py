"""Response bodies that several functions answer (and the OpenAPI document names once)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Accepted(BaseModel):
    status: Literal["accepted"] = "accepted"
