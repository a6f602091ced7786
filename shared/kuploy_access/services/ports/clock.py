"""The time, as every service reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):  # every service
    """Raises nothing."""

    def now(self) -> datetime: ...
