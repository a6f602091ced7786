"""Counting what operators watch: sign-in failures, lockouts, refresh-token reuse, the
authorizer's refusals, API-key uses, emails. README's "Metrics" table lists each name.

`kuploy_access.observability.EmfCounter` publishes them as CloudWatch metrics (EMF);
tests use `tests.unit.metric_fakes.CountedEvents`.
"""

from __future__ import annotations

from typing import Protocol


class EventCounter(Protocol):  # Authorizer, LoginService, SessionService, CountedMailer
    """Raises nothing: a metric that cannot be published never changes an answer."""

    def count(self, metric: str, **dimensions: str) -> None:
        """One more `metric`; `dimensions` split it (a small, fixed set of values each)."""
