"""The organization purge on the fakes: the service's steps and hand-overs, and the
Lambda handler's partial batch response and metrics."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devserver.events import LambdaContext
from kuploy_access.domain.org_purge import (
    PURGE_STEP_ITEMS,
    PURGE_TIME_RESERVE_MS,
    OrganizationNotDeleted,
    PurgeOutcome,
    PurgeStep,
)
from kuploy_access.domain.permissions import Role
from kuploy_access.domain.users import User
from kuploy_access.services.org_purge import OrgPurgeService
from kuploy_access.services.ports.org_purge import OrgPurgeStore
from tests.unit.org_fakes import FakeOrganizations, OrgStore, OrgWorld

ORG_ID = "org_01acme"
HANDLER = Path(__file__).resolve().parents[2] / "functions" / "org_purge" / "app.py"
PLENTY_MS = 100_000


def _the_fake_honours_the_port(store: OrgStore) -> OrgPurgeStore:
    return FakeOrganizations(store)  # mypy holds the fake to the port


@dataclass
class CountingStore:
    """The fake store, counting steps and what each removed."""

    inner: FakeOrganizations
    steps: list[PurgeStep] = field(default_factory=list)

    def purge_step(self, org_id: str, limit: int) -> PurgeStep:
        step = self.inner.purge_step(org_id, limit)
        self.steps.append(step)
        return step

    def hand_over(self, org_id: str, handovers_seen: int | None) -> bool:
        return self.inner.hand_over(org_id, handovers_seen)


class Countdown:
    """A Lambda context's remaining time that drops by `per_call_ms` each time it is read."""

    def __init__(self, start_ms: int, per_call_ms: int) -> None:
        self.left = start_ms
        self.per_call_ms = per_call_ms

    def __call__(self) -> int:
        left = self.left
        self.left -= self.per_call_ms
        return left


@pytest.fixture
def world() -> OrgWorld:
    return OrgWorld()


def big_org(world: OrgWorld, members: int) -> User:
    owner = world.add_user("olive@example.com", user_id="usr_01olive")
    world.add_org(owner, ORG_ID)
    for n in range(members):
        member = world.add_user(f"m{n}@example.com", user_id=f"usr_01m{n:03}")
        world.add_member(ORG_ID, member, Role.MEMBER.value)
    return owner


def mark_deleted(world: OrgWorld) -> None:
    from dataclasses import replace

    world.store.orgs[ORG_ID] = replace(world.store.orgs[ORG_ID], deleted_at=world.clock.now())


def held(world: OrgWorld) -> int:
    return len([k for k in world.store.members if k[0] == ORG_ID])


def test_a_purge_removes_everything_in_steps_of_bounded_size(world):
    big_org(world, 24)
    mark_deleted(world)
    store = CountingStore(world.orgs)

    outcome = OrgPurgeService(store, step_items=10).purge(ORG_ID, lambda: PLENTY_MS)

    assert outcome == PurgeOutcome(ORG_ID, removed=26, finished=True)  # 25 members and the profile
    assert [s.removed for s in store.steps] == [10, 10, 5, 1]
    assert held(world) == 0 and ORG_ID not in world.store.orgs
    assert world.orgs.handovers == []


def test_a_purge_can_run_again_and_removes_nothing_more(world):
    big_org(world, 3)
    mark_deleted(world)
    service = world.org_purge_service()
    assert service.purge(ORG_ID, lambda: PLENTY_MS).finished

    again = service.purge(ORG_ID, lambda: PLENTY_MS)

    assert again == PurgeOutcome(ORG_ID, removed=0, finished=True)
    assert service.purge("org_01never", lambda: PLENTY_MS) == PurgeOutcome("org_01never", 0, finished=True)


def test_a_run_short_of_time_hands_over_and_the_next_run_finishes(world):
    big_org(world, 49)
    mark_deleted(world)
    service = world.org_purge_service(step_items=10)
    # Three steps fit before the reserve is reached.
    first = service.purge(ORG_ID, Countdown(PURGE_TIME_RESERVE_MS + 2_500, per_call_ms=1_000))

    assert first == PurgeOutcome(ORG_ID, removed=30, finished=False)
    assert world.orgs.handovers == [ORG_ID]
    assert held(world) == 20

    second = service.purge(ORG_ID, lambda: PLENTY_MS)

    assert second == PurgeOutcome(ORG_ID, removed=21, finished=True)
    assert held(world) == 0 and ORG_ID not in world.store.orgs
    assert world.orgs.handovers == [ORG_ID]


def test_a_run_reaching_an_organization_with_too_little_time_hands_it_over_untouched(world):
    big_org(world, 5)
    mark_deleted(world)

    outcome = world.org_purge_service().purge(ORG_ID, lambda: PURGE_TIME_RESERVE_MS - 1)

    assert outcome == PurgeOutcome(ORG_ID, removed=0, finished=False)
    assert world.orgs.handovers == [ORG_ID]
    assert held(world) == 6


def test_a_run_again_for_the_same_record_does_not_hand_over_a_second_time(world):
    # A batch retried after a timeout: the record whose run handed over comes back.
    big_org(world, 5)
    mark_deleted(world)
    service = world.org_purge_service()
    short = lambda: PURGE_TIME_RESERVE_MS - 1  # noqa: E731

    assert service.purge(ORG_ID, short) == PurgeOutcome(ORG_ID, removed=0, finished=False)
    assert service.purge(ORG_ID, short) == PurgeOutcome(ORG_ID, removed=0, finished=False)
    assert world.orgs.handovers == [ORG_ID], "another run already took over"

    service.purge(ORG_ID, short, handovers_seen=1)  # the hand-over's own record
    assert world.orgs.handovers == [ORG_ID, ORG_ID]


def test_a_live_organization_is_refused_and_nothing_is_removed(world):
    big_org(world, 2)

    with pytest.raises(OrganizationNotDeleted):
        world.org_purge_service().purge(ORG_ID, lambda: PLENTY_MS)

    assert held(world) == 3
    assert world.orgs.get(ORG_ID) is not None


def test_a_step_fits_well_inside_the_time_reserve():
    # A step is a Query page and BatchWriteItem calls of 25: even at 200 ms a call
    # (throttled and retried), it ends well before a run's time does.
    calls = 1 + PURGE_STEP_ITEMS / 25
    assert calls * 200 <= PURGE_TIME_RESERVE_MS / 4


# --- the Lambda handler -------------------------------------------------------------------------


def load_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("org_purge_app_under_test", HANDLER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream_record(org_id: str, sequence: int, with_image: bool = True, handovers: int | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {
        "Keys": {"pk": {"S": f"ORG#{org_id}"}, "sk": {"S": "ORG"}},
        "SequenceNumber": str(sequence),
        "SizeBytes": 100,
        "StreamViewType": "NEW_IMAGE",
    }
    if with_image:
        change["NewImage"] = {
            "pk": {"S": f"ORG#{org_id}"},
            "sk": {"S": "ORG"},
            "org_id": {"S": org_id},
            "deleted_at": {"S": "2025-03-01T09:30:00.000000+0000"},
        }
        if handovers is not None:
            change["NewImage"]["purge_handovers"] = {"N": str(handovers)}
    return {
        "eventID": f"e{sequence}",
        "eventName": "MODIFY",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2025",
    }


def emitted_metrics(output: str) -> dict[str, float]:
    """The EMF documents printed by Powertools, summed by metric name."""
    totals: dict[str, float] = {}
    for line in output.splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for definition in document["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                value = document[metric["Name"]]
                values = value if isinstance(value, list) else [value]
                totals[metric["Name"]] = totals.get(metric["Name"], 0) + sum(values)
    return totals


def test_the_handler_purges_each_record_and_reports_only_the_failed_ones(world, monkeypatch, capsys):
    big_org(world, 4)
    mark_deleted(world)
    other = world.add_user("lee@example.com", user_id="usr_01lee")
    world.add_org(other, "org_01live")
    handler = load_handler()
    monkeypatch.setattr(handler, "org_purge_service", world.org_purge_service)

    answer = handler.lambda_handler(
        {"Records": [stream_record(ORG_ID, 101), stream_record("org_01live", 102), stream_record(ORG_ID, 103, False)]},
        LambdaContext("OrgPurgeFunction", timeout_seconds=120),
    )

    assert answer == {"batchItemFailures": [{"itemIdentifier": "102"}, {"itemIdentifier": "103"}]}
    assert ORG_ID not in world.store.orgs
    assert world.orgs.get("org_01live") is not None
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics["OrgPurgeItems"] == 6  # five members and the profile
    assert metrics["OrgPurgeFailures"] == 1  # the live organization; the record without an image is no purge


def test_the_handler_hands_over_with_its_context_s_time(world, monkeypatch):
    big_org(world, 4)
    mark_deleted(world)
    handler = load_handler()
    monkeypatch.setattr(handler, "org_purge_service", world.org_purge_service)
    short = LambdaContext("OrgPurgeFunction", timeout_seconds=PURGE_TIME_RESERVE_MS / 1000 - 1)

    answer = handler.lambda_handler({"Records": [stream_record(ORG_ID, 7)]}, short)

    assert answer == {"batchItemFailures": []}
    assert world.orgs.handovers == [ORG_ID]
    assert held(world) == 5


def test_the_handler_hands_over_once_per_record_however_often_it_is_retried(world, monkeypatch):
    big_org(world, 4)
    mark_deleted(world)
    handler = load_handler()
    monkeypatch.setattr(handler, "org_purge_service", world.org_purge_service)
    short = LambdaContext("OrgPurgeFunction", timeout_seconds=PURGE_TIME_RESERVE_MS / 1000 - 1)

    for _ in range(3):  # the mark's record, and the whole batch retried twice
        handler.lambda_handler({"Records": [stream_record(ORG_ID, 7)]}, short)
    assert world.orgs.handovers == [ORG_ID]

    handler.lambda_handler({"Records": [stream_record(ORG_ID, 8, handovers=1)]}, short)
    assert world.orgs.handovers == [ORG_ID, ORG_ID]
