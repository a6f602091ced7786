"""What the clients saw, per route: statuses, latencies, the DynamoDB calls each request
made (the local server's X-Dev-DynamoDB-Calls header), and the server's memory."""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

# How many unexpected answers are kept to show; all are counted.
EXAMPLES_KEPT = 20


class Phase(Enum):
    SETUP = "setup"  # accounts, organizations and keys made before the clock starts
    WARMUP = "warm-up"  # the workload, while containers start and caches fill
    MEASURED = "measured"  # the workload, measured
    CHECK = "check"  # the invariant checks after the run


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value with at least `fraction` of the values at or below it."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def parse_dynamodb_calls(header: str | None) -> Counter[str]:
    """`GetItem=2 Query=1` -> Counter({"GetItem": 2, "Query": 1})."""
    calls: Counter[str] = Counter()
    for part in (header or "").split():
        operation, _, count = part.partition("=")
        calls[operation] += int(count or 0)
    return calls


@dataclass
class RouteStats:
    statuses: Counter[int] = field(default_factory=Counter)  # every phase
    latencies: list[float] = field(default_factory=list)  # seconds, measured phase only
    dynamodb: Counter[str] = field(default_factory=Counter)  # measured phase only
    measured: int = 0

    def dynamodb_per_request(self) -> dict[str, float]:
        return {op: count / self.measured for op, count in sorted(self.dynamodb.items())} if self.measured else {}


@dataclass
class Recorder:
    """Thread-safe: every client records into one."""

    phase: Phase = Phase.SETUP
    routes: dict[str, RouteStats] = field(default_factory=dict)
    unexpected: int = 0
    examples: list[str] = field(default_factory=list)
    measured_started: float = 0.0
    measured_ended: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def enter(self, phase: Phase) -> None:
        with self._lock:
            now = time.monotonic()
            if phase is Phase.MEASURED:
                self.measured_started = now
            if self.phase is Phase.MEASURED:
                self.measured_ended = now
            self.phase = phase

    def record(self, route: str, status: int, seconds: float, calls: Counter[str], expected: bool, detail: str) -> None:
        """`status` 0 is a request that got no answer (a transport error)."""
        with self._lock:
            stats = self.routes.setdefault(route, RouteStats())
            stats.statuses[status] += 1
            if self.phase is Phase.MEASURED:
                stats.measured += 1
                stats.latencies.append(seconds)
                stats.dynamodb.update(calls)
            if not expected:
                self.unexpected += 1
                if len(self.examples) < EXAMPLES_KEPT:
                    self.examples.append(f"{self.phase.value}: {route} -> {status} {detail[:300]}")

    @property
    def measured_seconds(self) -> float:
        end = self.measured_ended or time.monotonic()
        return max(0.0, end - self.measured_started) if self.measured_started else 0.0

    def total(self) -> int:
        return sum(sum(stats.statuses.values()) for stats in self.routes.values())

    def measured_total(self) -> int:
        return sum(stats.measured for stats in self.routes.values())

    def with_status(self, low: int, high: int) -> dict[str, int]:
        """Per route, the answers with a status in [low, high]."""
        found: dict[str, int] = {}
        for route, stats in self.routes.items():
            count = sum(n for status, n in stats.statuses.items() if low <= status <= high)
            if count:
                found[route] = count
        return found


@dataclass
class MemorySample:
    at: float  # monotonic seconds
    phase: Phase
    rss_kib: int


@dataclass
class MemoryTrace:
    samples: list[MemorySample] = field(default_factory=list)
    server_gone: bool = False  # the process ended (or was killed) before the sampling did

    def around(self, phase: Phase, last: bool) -> int | None:
        """The median RSS of the first (or `last`) five samples of a phase: one sample can
        catch a request's transient allocation."""
        chosen = [s.rss_kib for s in self.samples if s.phase is phase]
        window = chosen[-5:] if last else chosen[:5]
        return sorted(window)[len(window) // 2] if window else None
