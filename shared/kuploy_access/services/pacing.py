"""A floor under the duration of answers that must not tell one case from another.

`forgot password` and `resend verification` answer 202 whether or not the address has
an account, but only a known address costs a token write and an email: left alone, the
answer's time would tell. Both paths make the same reads, and the answer is held until
the floor (README, "Timing"), which the slow path stays under.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerFloor:
    seconds: float
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    @contextmanager
    def held(self) -> Iterator[None]:
        started = self.monotonic()
        try:
            yield
        finally:
            remaining = self.seconds - (self.monotonic() - started)
            if remaining > 0:
                self.sleep(remaining)


NO_FLOOR = AnswerFloor(0.0)
