"""The counts handlers publish: one per success, one per refused attempt."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kuploy_access.domain.errors import Unauthorized
from kuploy_access.http.api import count, counting_failures, metrics


@pytest.fixture(autouse=True)
def no_metrics_left() -> Iterator[None]:
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def counted(name: str) -> list[float]:
    return list(metrics.metric_set.get(name, {}).get("Value", []))


def test_count_adds_one_of_a_count_metric():
    count("Logins")
    count("Logins")
    assert counted("Logins") == [1.0, 1.0]
    assert metrics.metric_set["Logins"]["Unit"] == "Count"


def test_a_refused_attempt_is_counted_and_its_error_goes_on():
    refused = Unauthorized("invalid_credentials", "Wrong email or password")
    with pytest.raises(Unauthorized) as raised, counting_failures("LoginFailures"):
        raise refused
    assert raised.value is refused
    assert counted("LoginFailures") == [1.0]


def test_a_success_is_not_a_failure():
    with counting_failures("LoginFailures"):
        pass
    assert counted("LoginFailures") == []


def test_a_bug_is_not_a_refused_attempt():
    with pytest.raises(KeyError), counting_failures("LoginFailures"):
        raise KeyError("bug")
    assert counted("LoginFailures") == []
