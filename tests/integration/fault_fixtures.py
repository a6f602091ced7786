"""What every fault suite (tests/integration/test_faults_*.py) starts from: a gateway client
that holds each answer to the OpenAPI document (the 503s first), the fault injector, and
what a 503 must carry. Imported by name into each suite, as pytest finds fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kuploy_access.domain.errors import SERVICE_UNAVAILABLE_RETRY_AFTER
from tests.integration.declared_answers import declared_answers
from tests.integration.faults import Faults, injected
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import assert_problem


@pytest.fixture
def client(aws: Any, cheap_password_hashing: Any, service_clock: Any) -> GatewayClient:
    client = GatewayClient(aws)
    client.contract = declared_answers()
    return client


@pytest.fixture
def faults(aws: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Faults]:
    with injected(monkeypatch) as faults:
        yield faults


def assert_unavailable(answer: Any) -> None:
    assert_problem(answer, 503, "service_unavailable")
    assert answer.headers["retry-after"] == str(SERVICE_UNAVAILABLE_RETRY_AFTER)
