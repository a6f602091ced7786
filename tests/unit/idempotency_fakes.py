"""The AnswerLedger fake (services/ports/idempotency.py): first answers in memory, with
the adapter's rules (tests/contract/test_answer_ledger.py runs both)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from kuploy_access.domain.idempotency import (
    Answered,
    Attempt,
    FirstAnswer,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
)


class FakeAnswerLedger:
    """Keeps answers for the fake's life: expiry is the adapter's (a DynamoDB attribute)."""

    def __init__(self) -> None:
        # record -> (body document, the answer; None while the first request runs)
        self.kept: dict[str, tuple[str, FirstAnswer | None]] = {}
        self._lock = threading.Lock()

    def answer_once(self, attempt: Attempt, create: Callable[[], FirstAnswer]) -> Answered:
        with self._lock:
            found = self.kept.get(attempt.record)
            if found is not None:
                body, answer = found
                # The body first, as the adapter: another body is refused even while
                # the first request runs.
                if body != attempt.body_document:
                    raise IdempotencyKeyReused()
                if answer is None:
                    raise IdempotencyKeyInUse()
                return Answered(answer, replayed=True)
            self.kept[attempt.record] = (attempt.body_document, None)
        try:
            answer = create()
        except BaseException:
            with self._lock:
                del self.kept[attempt.record]
            raise
        with self._lock:
            self.kept[attempt.record] = (attempt.body_document, answer)
        return Answered(answer, replayed=False)
