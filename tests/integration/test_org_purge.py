"""Deleting a large organization (issue 15, "Correct under retries"): DELETE marks it
and answers at once; from then on every route and every key of it is refused; the
table's stream hands the mark to OrgPurgeFunction, run here by the local server's
stream consumers (devserver/stream_consumers.py) as Lambda's event source mapping runs
it; the purge removes all 10,000 items, and only the audit log stays.

The organization is built through the real routes (owner, member, invitation, project
and application, API key), then grown to 10,000 items with the adapters' own item
builders in batches: through their transactions, moto would take minutes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from devserver.embedded_aws import LOCAL_ENVIRONMENT, embedded_aws
from devserver.stream_consumers import StreamConsumers
from devserver.template import FunctionSpec, StreamSourceSpec, api_spec
from kuploy_access.adapters.dynamodb import api_keys as api_key_items
from kuploy_access.adapters.dynamodb import invitations as invitation_items
from kuploy_access.adapters.dynamodb import resources as resource_items
from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_PK_PREFIX,
    AUDIT_PK_PREFIX,
    INVITATION_LINK_PK_PREFIX,
    audit_pk,
    org_pk,
)
from kuploy_access.adapters.dynamodb.org_purge import DynamoOrgPurge
from kuploy_access.adapters.dynamodb.organizations import membership_item
from kuploy_access.domain.api_keys import ApiKey, display_prefix, hash_key, new_key
from kuploy_access.domain.invitations import Invitation, InvitationStatus
from kuploy_access.domain.org_purge import PURGE_TIME_RESERVE_MS
from kuploy_access.domain.organizations import Member
from kuploy_access.domain.permissions import SCOPE_PRESETS, Role, rule_for
from kuploy_access.domain.resources import Resource, ResourceKind
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import add_member, cheap_hashing, create_org, invitation_token, invite, new_user
from tests.integration.support import assert_problem, count_dynamodb_requests

ITEMS = 10_000
# What the DELETE may cost, whatever the organization's size: the caller's access
# (BatchGetItem, session), the mark (one TransactWriteItems), and nothing that lists.
DELETE_REQUEST_LIMIT = 6
LISTING = {"Query", "Scan", "BatchWriteItem"}
# moto copies the whole table for each transaction (DynamoDB does not), so on moto any
# write of 10,000 items' table takes a second or so: the DELETE is held to what renaming
# another organization (one transaction too) takes, a ratio measured in the same moment;
# the request count above is the bound that carries over to DynamoDB. The purge's own
# time is printed, not judged: make test runs it beside another pytest worker, and on two
# shared cores one run took 24 s alone and 150 s beside the browser tests. What is judged
# is that it finishes, completely, through its hand-overs.
PURGE_DRAIN_DEADLINE_S = 600.0
AUTHORIZER_MODULE = "kuploy_function_AuthorizerFunction"


@dataclass
class World:
    client: GatewayClient
    consumers: StreamConsumers
    # Records per invocation of the purge, in order.
    invocations: list[int] = field(default_factory=list)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """A moto world whose table has its stream, and the local server's consumers of it
    (polled by the tests, not by a thread, so that each step is seen)."""
    environment = {name: os.environ.get(name, value) for name, value in LOCAL_ENVIRONMENT.items()}
    try:
        with embedded_aws(api_spec().table, environment, streams=True) as outbox, cheap_hashing():
            client = GatewayClient(outbox)
            built = World(client, StreamConsumers([], support.table_name(), client.gateway.invoke))

            def invoke(function: FunctionSpec, event: dict[str, Any]) -> Any:
                built.invocations.append(len(event["Records"]))
                return client.gateway.invoke(function, event)

            built.consumers = StreamConsumers(api_spec().stream_sources, support.table_name(), invoke)
            yield built
    finally:
        support.forget_containers()


@pytest.fixture
def fresh(world: World) -> World:
    world.consumers.drain()  # caught up: what earlier tests wrote is read and trimmed
    world.invocations.clear()
    return world


# --- the organization -------------------------------------------------------------------------------


@dataclass
class Org:
    id: str
    owner: str  # access tokens
    member: str
    member_id: str
    key: str  # a real API key's secret
    link: str  # a pending invitation's emailed link token
    ids: dict[str, str]  # path parameter -> a real id in this organization
    seeded_keys: list[str] = field(default_factory=list)


def build_org(client: GatewayClient, name: str) -> Org:
    tag = name.lower().replace(" ", "-")
    _, owner = new_user(client, f"owner-{tag}@example.com", "Olive Owner")
    org_id = create_org(client, owner, name)
    member_id, member = add_member(client, owner, org_id, f"member-{tag}@example.com", "member", "Mia Member")
    invitation = invite(client, owner, org_id, f"invitee-{tag}@example.com", "admin")
    link = invitation_token(client, f"invitee-{tag}@example.com")
    project = ok(client.request("POST", f"/orgs/{org_id}/projects", {"name": "web"}, token=owner), 201)
    application = ok(
        client.request("POST", f"/orgs/{org_id}/projects/{project['id']}/applications", {"name": "api"}, token=owner),
        201,
    )
    created = ok(
        client.request("POST", f"/orgs/{org_id}/api-keys", {"description": "ci", "preset": "full"}, token=owner), 201
    )
    ids = {
        "org_id": org_id,
        "user_id": member_id,
        "invitation_id": invitation["id"],
        "key_id": created["id"],
        "project_id": project["id"],
        "app_id": application["id"],
        "db_id": "db_01seeded",
        "channel_id": "nch_01seeded",
    }
    return Org(org_id, owner, member, member_id, created["key"], link, ids)


def ok(answer: Answer, status: int = 200) -> dict[str, Any]:
    assert answer.status == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


def grow(org: Org, items: int) -> None:
    """Members, invitations (each with its link and invitee guard), resources of every
    kind and API keys, until the organization holds about `items` items."""
    now = datetime.now(UTC)
    built: list[Any] = []
    keys = items // 50
    invitations = items // 10
    members = items * 3 // 10
    resources = items - keys - 3 * invitations - members - len(held(org))
    for n in range(members):
        member = Member(
            org_id=org.id,
            user_id=f"usr_01seed{n:05}",
            role=Role.MEMBER.value,
            email=f"m{n}@example.com",
            name=f"M {n}",
            joined_at=now,
        )
        built.append(membership_item(member))
    for n in range(invitations):
        invitation = Invitation(
            id=f"inv_01seed{n:05}",
            org_id=org.id,
            org_name="Big",
            email=f"i{n}@example.com",
            role=Role.MEMBER.value,
            invited_by="usr_01owner",
            inviter_name="Olive",
            status=InvitationStatus.PENDING.value,
            token_hash=f"{n:064x}",
            created_at=now,
            expires_at=now + timedelta(days=7),
        )
        built += [*invitation_items._items(invitation), invitation_items._guard(invitation)]
    kinds = list(ResourceKind)
    named = {
        0: (ResourceKind.DATABASE, org.ids["db_id"]),
        1: (ResourceKind.NOTIFICATION_CHANNEL, org.ids["channel_id"]),
    }
    for n in range(resources):
        kind, resource_id = named.get(n, (kinds[n % len(kinds)], f"res_01seed{n:05}"))
        resource = Resource(kind, resource_id, org.id, f"r{n}", "usr_01owner", now, now)
        built.append(resource_items._item(resource))
    for n in range(keys):
        secret = new_key()
        if n < 3:
            org.seeded_keys.append(secret)
        key = ApiKey(
            id=f"key_01seed{n:05}",
            org_id=org.id,
            key_hash=hash_key(secret),
            prefix=display_prefix(secret),
            description=f"seeded {n}",
            scopes=SCOPE_PRESETS["full"],
            preset="full",
            created_by="usr_01owner",
            created_at=now,
        )
        built.append(api_key_items._item(key))
    dynamodb = boto3.client("dynamodb", region_name=support.REGION)
    for start in range(0, len(built), 25):
        pending: Any = {
            support.table_name(): [{"PutRequest": {"Item": item.serialize()}} for item in built[start : start + 25]]
        }
        while pending:
            pending = dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def table_of(org: Org) -> list[tuple[str, str]]:
    """The keys of every item that belongs to the organization: its partition, its keys
    and links (by their org_id), and its audit log. Read from moto's backend: a Scan of
    10,000 items through botocore costs seconds."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from devserver.embedded_aws import dynamodb_paused

    with dynamodb_paused():
        table = dynamodb_backends[DEFAULT_ACCOUNT_ID][support.REGION].get_table(support.table_name())
        found = []
        for item in table.all_items():
            pk, sk = str(item.hash_key.value), str(item.range_key.value)  # type: ignore[union-attr]
            owner = item.attrs.get("org_id")
            if pk in (org_pk(org.id), audit_pk(org.id)) or (
                pk.startswith((API_KEY_PK_PREFIX, INVITATION_LINK_PK_PREFIX)) and owner and owner.value == org.id
            ):
                found.append((pk, sk))
    return sorted(found)


def held(org: Org) -> list[tuple[str, str]]:
    """What the purge must remove: all of it but the audit log."""
    return [key for key in table_of(org) if not key[0].startswith(AUDIT_PK_PREFIX)]


# --- calling every route of it ------------------------------------------------------------------------

BODIES: dict[str, Any] = {
    "PATCH /orgs/{org_id}": {"name": "Back again"},
    "POST /orgs/{org_id}/transfer-ownership": {"user_id": "{user_id}"},
    "PATCH /orgs/{org_id}/members/{user_id}": {"role": "admin"},
    "POST /orgs/{org_id}/invitations": {"email": "late@example.com", "role": "member"},
    "PUT /orgs/{org_id}/billing": {"plan": "team"},
    "POST /orgs/{org_id}/api-keys": {"description": "late", "preset": "deploy"},
    "POST /orgs/{org_id}/api-keys/{key_id}/rotate": {"grace_period_hours": 1},
    "POST /orgs/{org_id}/projects": {"name": "late"},
    "PATCH /orgs/{org_id}/projects/{project_id}": {"name": "late"},
    "POST /orgs/{org_id}/projects/{project_id}/applications": {"name": "late"},
    "POST /orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments": {"ref": "main"},
    "POST /orgs/{org_id}/databases": {"name": "late", "engine": "postgres"},
    "POST /orgs/{org_id}/notification-channels": {"name": "late", "kind": "email", "target": "ops@example.com"},
}


def org_routes() -> list[str]:
    return sorted({route.route_key for route in api_spec().routes if route.path.startswith("/orgs/{org_id}")})


def call(client: GatewayClient, route_key: str, org: Org, token: str) -> Answer:
    method, path = route_key.split(" ", 1)
    for name, value in org.ids.items():
        path = path.replace("{" + name + "}", value)
    body = BODIES.get(route_key)
    if isinstance(body, dict):
        body = {k: org.ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v for k, v in body.items()}
    return client.request(method, path, body, token=token)


def assert_every_route_refuses(client: GatewayClient, org: Org) -> None:
    """404 for its owner and member on every route; for its keys too, except where no
    key may go at all (403 api_key_not_allowed, which says nothing of the organization)."""
    routes = org_routes()
    assert len(routes) >= 30, routes
    for route_key in routes:
        for token in (org.owner, org.member):
            assert_problem(call(client, route_key, org, token), 404, "not_found")
        for key in (org.key, *org.seeded_keys):
            answer = call(client, route_key, org, key)
            if rule_for(route_key).user_only:
                assert_problem(answer, 403, "api_key_not_allowed")
            else:
                assert_problem(answer, 404, "not_found")
    for token in (org.owner, org.member):
        assert org.id not in [o["id"] for o in ok(client.request("GET", "/orgs", token=token))["items"]]
    link = client.request("GET", f"/invitations/{org.link}", headers={"Accept": "application/json"})
    assert_problem(link, 404, "not_found")


def forget_key_cache() -> None:
    """What a new authorizer container starts with: no key read yet."""
    for name, module in list(sys.modules.items()):
        if name.startswith(AUTHORIZER_MODULE):
            module.authorizer.forget_keys()


# --- the tests ------------------------------------------------------------------------------------


@pytest.mark.timeout(PURGE_DRAIN_DEADLINE_S + 300)
def test_a_10000_item_organization_is_refused_at_once_and_purged_completely(fresh: World) -> None:
    client, consumers = fresh.client, fresh.consumers
    org = build_org(client, "Big Engines")
    other = build_org(client, "Small Engines")
    started = time.perf_counter()
    grow(org, ITEMS)
    seeded_s = time.perf_counter() - started
    assert len(held(org)) == ITEMS, len(held(org))
    consumers.drain()  # the seeding's records: read, dropped by the filter, trimmed
    assert fresh.invocations == []
    started = time.perf_counter()
    assert client.request("PATCH", f"/orgs/{other.id}", {"name": "Small Engines"}, token=other.owner).status == 200
    rename_s = time.perf_counter() - started
    other_before = table_of(other)

    with count_dynamodb_requests() as seen:
        started = time.perf_counter()
        answer = client.request("DELETE", f"/orgs/{org.id}", token=org.owner)
        delete_s = time.perf_counter() - started

    assert answer.status == 204, answer.text
    assert len(seen.by_moto) <= DELETE_REQUEST_LIMIT and not LISTING & set(seen.by_moto), seen.by_moto
    assert seen.by_moto.count("TransactWriteItems") == 1, seen.by_moto
    assert delete_s < 3 * rename_s + 1.0, (delete_s, rename_s)
    # No purge has run: everything is still there, and nothing of it can be used.
    assert fresh.invocations == []
    assert len(held(org)) == ITEMS
    assert_every_route_refuses(client, org)

    started = time.perf_counter()
    consumers.drain(timeout_s=PURGE_DRAIN_DEADLINE_S)
    purge_s = time.perf_counter() - started

    assert held(org) == [], held(org)[:5]
    assert {pk for pk, _ in table_of(org)} == {audit_pk(org.id)}, "only the audit log stays"
    assert table_of(other) == other_before, "another organization is untouched"
    assert consumers.failures() == []
    # Its keys are gone: the authorizer refuses them itself now.
    forget_key_cache()
    for key in (org.key, *org.seeded_keys):
        assert_problem(client.request("GET", f"/orgs/{org.id}", token=key), 401, "invalid_token")
    assert ok(client.request("GET", f"/orgs/{other.id}", token=other.key))["id"] == other.id
    print(
        f"\n{ITEMS} items: seeded in {seeded_s:.1f} s, DELETE answered in {delete_s * 1000:.0f} ms "
        f"({len(seen.by_moto)} DynamoDB requests; a rename took {rename_s * 1000:.0f} ms), "
        f"purged in {purge_s:.1f} s by {len(fresh.invocations)} run(s)"
    )


def short_lived(world: World, seconds_of_work: float) -> StreamConsumers:
    """The consumers, with the purge function's Timeout cut to the time-left reserve
    plus `seconds_of_work`: each run hands over after about that long."""
    (source,) = api_spec().stream_sources
    function = replace(source.function, timeout_seconds=PURGE_TIME_RESERVE_MS / 1000 + seconds_of_work)
    shortened: StreamSourceSpec = replace(source, function=function)

    def invoke(function: FunctionSpec, event: dict[str, Any]) -> Any:
        world.invocations.append(len(event["Records"]))
        return world.client.gateway.invoke(function, event)

    return StreamConsumers([shortened], support.table_name(), invoke)


def test_a_run_short_of_time_hands_over_and_the_next_runs_finish(fresh: World) -> None:
    org = build_org(fresh.client, "Handed Over")
    grow(org, 2_000)
    consumers = short_lived(fresh, seconds_of_work=0.05)
    consumers.drain()
    fresh.invocations.clear()
    assert fresh.client.request("DELETE", f"/orgs/{org.id}", token=org.owner).status == 204

    consumers.drain()

    assert len(fresh.invocations) >= 3, fresh.invocations  # the mark, then each hand-over
    assert held(org) == []
    assert consumers.failures() == []


def test_a_run_cut_short_by_its_timeout_is_retried_and_finishes(fresh: World, monkeypatch) -> None:
    """Lambda ends a run that overruns its Timeout: the batch fails, and the event source
    mapping hands the same record to a new run, which removes what is left."""
    org = build_org(fresh.client, "Cut Short")
    grow(org, 1_500)
    step = DynamoOrgPurge.purge_step
    calls: list[int] = []

    def overrunning(self: DynamoOrgPurge, org_id: str, limit: int) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise TimeoutError("Task timed out after 120.00 seconds")
        return step(self, org_id, limit)

    monkeypatch.setattr(DynamoOrgPurge, "purge_step", overrunning)
    assert fresh.client.request("DELETE", f"/orgs/{org.id}", token=org.owner).status == 204
    fresh.consumers.drain()

    assert fresh.invocations == [1, 1], "the mark's record, then the same record again"
    assert held(org) == []
    assert fresh.consumers.failures() == []
