"""Fixtures for modules that share one moto world: creating a world per test costs more
than most of their tests. A module imports them by name (`from
tests.integration.shared_world import aws, client, gateway, world`); each importing
module still gets its own world (module scope), emptied before every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devserver.gateway import LocalGateway
from devserver.template import api_spec
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import SharedGatewayClient, restore_table


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture(scope="module")
def gateway(world: Any) -> LocalGateway:
    """One gateway for the module: its containers stay warm from test to test."""
    return LocalGateway(api_spec())


@pytest.fixture
def aws(world: Any) -> Any:
    """Overrides conftest's: the module's world, emptied, with an outbox of this test's emails."""
    restore_table([])
    return support.OutboxSince(world)


@pytest.fixture
def client(aws: Any, gateway: LocalGateway) -> GatewayClient:
    return SharedGatewayClient(aws, gateway)
