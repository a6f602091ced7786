"""Callers released at once, as concurrent requests reach the table: a race test asserts
that of all of them exactly as many won as the condition allows.

On DynamoDB (moto), each request is atomic as in AWS (devserver/embedded_aws.py), so
the threads interleave between requests, never inside one; the fakes hold a lock."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
TIMEOUT = 30


def run_together(count: int, target: Callable[[int], T]) -> list[T | Exception]:
    """`target(i)` on `count` threads released by one barrier: each one's answer, or what
    it raised."""
    start = threading.Barrier(count, timeout=TIMEOUT)
    outcomes: list[T | Exception] = [RuntimeError("the thread did not finish")] * count

    def work(index: int) -> None:
        start.wait()
        try:
            outcomes[index] = target(index)
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive(), "a thread hung"
    return outcomes


def raised(outcomes: list[T | Exception]) -> list[Exception]:
    return [outcome for outcome in outcomes if isinstance(outcome, Exception)]


def answered(outcomes: list[T | Exception]) -> list[T]:
    return [outcome for outcome in outcomes if not isinstance(outcome, Exception)]
