"""The first answers to Idempotency-Keys (domain/idempotency.py). DynamoAnswerLedger
implements it; FakeAnswerLedger (tests/unit/idempotency_fakes.py) is its fake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from kuploy_access.domain.idempotency import Answered, Attempt, FirstAnswer


class AnswerLedger(Protocol):
    """For the create routes (`http/idempotency.py`).

    Raises IdempotencyKeyReused (another body under this scope and key) and
    IdempotencyKeyInUse (the first request still runs); whatever `create` raises passes
    through unchanged, and then nothing is kept, so the client may fix the request and
    send it again with the same key."""

    def answer_once(self, attempt: Attempt, create: Callable[[], FirstAnswer]) -> Answered:
        """The first answer kept for `attempt` (replayed, `create` not called), or
        `create`'s answer, kept for retries within domain.idempotency.ANSWER_LIFETIME."""
