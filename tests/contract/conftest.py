"""Contract suites: each port's outcomes, run on the in-memory fake and on the DynamoDB
adapter (moto), so a fake that drifts from the adapter fails here.

One moto world per test module (creating the table costs more than most tests), emptied
before every test that asks for `moto_table`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT, REGION, embedded_aws
from devserver.template import api_spec


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked `dynamo_only(reason=...)` runs on the adapter only: its fake cases
    are deselected, and the summary names each with its reason, so what a fake cannot
    honour is a stated difference rather than a silent one."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("dynamo_only")
        if marker is None:
            kept.append(item)
            continue
        reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: dynamo_only needs a reason")
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "fake" in callspec.params.values():
            dropped.append(item)
            _DYNAMO_ONLY.append(f"{item.nodeid}: {reason}")
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


_DYNAMO_ONLY: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _DYNAMO_ONLY:
        terminalreporter.section("run on DynamoDB only (the fake cannot honour them)", sep="-")
        for line in _DYNAMO_ONLY:
            terminalreporter.write_line(line)


@pytest.fixture(scope="module")
def moto_world() -> Iterator[None]:
    """The table of template.yaml, the secrets and the SES sender, once per module."""
    from tests.integration.support import forget_containers

    environment = {name: os.environ.get(name, value) for name, value in LOCAL_ENVIRONMENT.items()}
    try:
        with embedded_aws(api_spec().table, environment):
            yield
    finally:
        forget_containers()


@pytest.fixture
def moto_table(moto_world: None) -> None:
    """The module's table, emptied: no test sees another's items."""
    client = boto3.client("dynamodb", region_name=REGION)
    name = os.environ["TABLE_NAME"]
    keys = [
        {"pk": item["pk"], "sk": item["sk"]}
        for page in client.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
        for item in page["Items"]
    ]
    for start in range(0, len(keys), 25):
        pending: Any = {name: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
