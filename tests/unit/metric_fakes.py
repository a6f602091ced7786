"""What the services counted (services/ports/metrics.py), for the tests that check it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class CountedEvents:
    """An `EventCounter` that keeps every count: (metric, dimensions)."""

    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def count(self, metric: str, **dimensions: str) -> None:
        self.events.append((metric, dimensions))

    def of(self, metric: str) -> list[dict[str, str]]:
        """The dimensions of each count of `metric`, in order."""
        return [dimensions for name, dimensions in self.events if name == metric]

    def clear(self) -> None:
        self.events.clear()
