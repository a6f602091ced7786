"""Organizations in-process on moto: the DynamoDB requests and capacity of the org
routes (the permission check, invitations, API keys, lists), and the members and audit
log pages at 100 and at 10,000 items.

Same method as `bench.flows`: real events through the local gateway, the authorizer
in front, DynamoDB calls counted by a botocore handler on every session.
"""

from __future__ import annotations

import gc
import json
import re
import statistics
import time
from collections.abc import Callable, Iterable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.flows import (
    PASSWORD,
    FlowResult,
    Mark,
    Sample,
    _Answer,
    _Sink,
    _verification_token,
    dynamodb_times,
    install_counter,
)
from bench.project import forget_containers, prepare_in_process_imports, progress

OPERATIONS = (
    "create organization",
    "invite (email sent)",
    "accept invitation",
    "permission check (GET /orgs/{id})",
    "list members (1 page of 50)",
    "audit log (1 page of 50)",
    "create API key",
    "rotate API key",
    "revoke API key",
    "deploy an application",
)
LARGE = 10_000
SMALL = 100
PAGE_SIZE = 100
# Interleaved timings of one page: the small organization's, the large one's first
# page and its last page, in turn.
PAGE_REPEATS = 15


@dataclass
class PagingResult:
    """One list (members or audit log) at SMALL and at LARGE items."""

    listing: str
    # The large list's first pages and its last, read once: requests and items read per page.
    pages: int
    requests_per_page: set[int]
    # Items the Query read per page (ScannedCount): what a page costs on DynamoDB.
    scanned_per_page: set[int]
    small_scanned: set[int]
    units_per_page: set[float]
    small_units: float
    # Interleaved timings (ms) of the same three pages; `own` leaves out the time inside
    # the DynamoDB calls (moto's in-process Query walks the partition; DynamoDB does not).
    small_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    last_ms: list[float] = field(default_factory=list)
    small_own_ms: list[float] = field(default_factory=list)
    first_own_ms: list[float] = field(default_factory=list)
    last_own_ms: list[float] = field(default_factory=list)

    @staticmethod
    def median(values: list[float]) -> float:
        return statistics.median(values)

    @property
    def own_ratio(self) -> float:
        """The large list's page (first and last alike, the slower) over the small one's."""
        worst = max(self.median(self.first_own_ms), self.median(self.last_own_ms))
        return worst / self.median(self.small_own_ms)

    @property
    def total_ratio(self) -> float:
        worst = max(self.median(self.first_ms), self.median(self.last_ms))
        return worst / self.median(self.small_ms)


@dataclass
class OrgBenchResults:
    flows: list[FlowResult]
    members: PagingResult
    audit: PagingResult


def run(runs: int = 20, large: int = LARGE, page_repeats: int = PAGE_REPEATS, first_pages: int = 3) -> OrgBenchResults:
    install_counter()
    prepare_in_process_imports()
    forget_containers()

    from devserver.embedded_aws import LOCAL_ENVIRONMENT, embedded_aws
    from devserver.gateway import LocalGateway
    from devserver.template import api_spec

    api = api_spec()
    samples: dict[str, list[Sample]] = {name: [] for name in OPERATIONS}

    with redirect_stdout(_Sink()), embedded_aws(api.table, dict(LOCAL_ENVIRONMENT)) as outbox:
        gateway = LocalGateway(api)
        gateway.load_all()

        def call(method: str, path: str, body: Any = None, token: str | None = None) -> _Answer:
            raw_path, _, query = path.partition("?")
            headers = [("Content-Type", "application/json"), ("User-Agent", "kuploy-bench")]
            if token is not None:
                headers.append(("Authorization", f"Bearer {token}"))
            payload = json.dumps(body).encode() if body is not None else b""
            answer = gateway.handle(method, raw_path, query, headers, payload, "203.0.113.9")
            return _Answer(answer.status, answer.body)

        def timed(operation: str, expected: int, record: bool, *request: Any) -> _Answer:
            mark = Mark.now()
            started = time.perf_counter()
            answer = call(*request)
            elapsed = time.perf_counter() - started
            if answer.status != expected:
                raise RuntimeError(f"{operation}: HTTP {answer.status}, expected {expected}: {answer.body[:300]!r}")
            if record:
                samples[operation].append(mark.sample(elapsed))
            return answer

        def user(email: str) -> str:
            call("POST", "/auth/signup", {"email": email, "password": PASSWORD, "name": email.split("@")[0]})
            call("POST", "/auth/verify-email", {"token": _verification_token(outbox.all(), email)})
            return str(call("POST", "/auth/login", {"email": email, "password": PASSWORD}).json()["access_token"])

        for index in range(runs + 1):
            record = index > 0
            owner = user(f"owner-{index}@example.com")
            member_email = f"member-{index}@example.com"
            member = user(member_email)
            org = timed("create organization", 201, record, "POST", "/orgs", {"name": "Bench"}, owner)
            org_id = org.json()["id"]
            invite = {"email": member_email, "role": "member"}
            timed("invite (email sent)", 201, record, "POST", f"/orgs/{org_id}/invitations", invite, owner)
            secret = _invitation_secret(outbox.all(), member_email)
            timed("accept invitation", 200, record, "POST", f"/invitations/{secret}/accept", None, member)
            timed("permission check (GET /orgs/{id})", 200, record, "GET", f"/orgs/{org_id}", None, member)
            timed("list members (1 page of 50)", 200, record, "GET", f"/orgs/{org_id}/members", None, member)
            timed("audit log (1 page of 50)", 200, record, "GET", f"/orgs/{org_id}/audit-log", None, owner)
            keys = f"/orgs/{org_id}/api-keys"
            new_key = {"description": "ci", "preset": "deploy"}
            created = timed("create API key", 201, record, "POST", keys, new_key, owner)
            key_id = created.json()["id"]
            rotated = timed("rotate API key", 201, record, "POST", f"{keys}/{key_id}/rotate", {}, owner)
            timed("revoke API key", 204, record, "DELETE", f"{keys}/{rotated.json()['id']}", None, owner)
            project = call("POST", f"/orgs/{org_id}/projects", {"name": "web"}, owner).json()["id"]
            application = call("POST", f"/orgs/{org_id}/projects/{project}/applications", {"name": "api"}, owner).json()
            deployments = f"/orgs/{org_id}/projects/{project}/applications/{application['id']}/deployments"
            timed("deploy an application", 202, record, "POST", deployments, {"ref": "main"}, member)
        progress(f"organizations: {runs} recorded runs of each operation")

        # Every organization made before any is filled: moto copies the whole table for
        # each transaction, and creating one is a transaction.
        owner = user("lists-owner@example.com")
        lists = {
            listing: (
                call("POST", "/orgs", {"name": f"{SMALL} {listing}"}, owner).json()["id"],
                call("POST", "/orgs", {"name": f"{large} {listing}"}, owner).json()["id"],
            )
            for listing in ("members", "audit-log")
        }
        for listing, (small_org, large_org) in lists.items():
            seed = _seed_members if listing == "members" else _seed_audit_events
            # The organization's own first items (its owner, its creation event) count too.
            seed(small_org, SMALL - 1)
            seed(large_org, large - 1)
        # 20,000 more items alive from here on: out of the collector's sight, so that a
        # collection during a timed page costs what it would without them.
        gc.freeze()
        try:
            members, audit = (
                _paging(call, listing, owner, lists[listing], large, page_repeats, first_pages)
                for listing in ("members", "audit-log")
            )
        finally:
            gc.unfreeze()
        progress(f"organizations: members and audit log paged at {SMALL:,} and {large:,} items")
    return OrgBenchResults([FlowResult(name, samples[name]) for name in OPERATIONS], members, audit)


def _paging(
    call: Callable[..., _Answer],
    listing: str,
    owner: str,
    orgs: tuple[str, str],
    large: int,
    repeats: int,
    first_pages: int,
) -> PagingResult:
    """Two organizations, SMALL and `large` items in the list: the large one's first
    pages and its last page read once (requests, items read, units), then the small
    one's page and the large one's first and last pages timed in turn."""
    small_org, large_org = orgs
    call("GET", f"/orgs/{large_org}/billing", None, owner)  # the owner's activity mark is fresh from here on
    call("GET", f"/orgs/{small_org}/billing", None, owner)

    def path(org_id: str, cursor: str | None) -> str:
        return f"/orgs/{org_id}/{listing}?limit={PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")

    def page(org_id: str, cursor: str | None) -> tuple[_Answer, Sample]:
        # moto's Query copies and sorts the partition; the collections its garbage sets
        # off would land in our own time, growing with the partition. Collected before
        # each page, and none during it, for every page alike.
        gc.collect()
        gc.disable()
        try:
            mark = Mark.now()
            started = time.perf_counter()
            answer = call("GET", path(org_id, cursor), None, owner)
            sample = mark.sample(time.perf_counter() - started)
        finally:
            gc.enable()
        if answer.status != 200:
            raise RuntimeError(f"{listing} page: HTTP {answer.status}: {answer.body[:300]!r}")
        return answer, sample

    times = dynamodb_times()
    requests: set[int] = set()
    scanned: set[int] = set()
    units: set[float] = set()

    def read(cursor: str | None) -> _Answer:
        before_scanned = len(times.scanned)
        answer, sample = page(large_org, cursor)
        requests.add(len(sample.operations))
        scanned.update(times.scanned[before_scanned:])
        units.add(sample.units.read)
        return answer

    cursor: str | None = None
    pages = 0
    for _ in range(first_pages):
        answer = read(cursor)
        pages += 1
        cursor = answer.json()["next_cursor"]
    # The last page, from a cursor naming the key before it: what the client would hold
    # after walking the other pages (walking 100 pages on moto, whose Query reads the
    # whole partition on every call, would take minutes and tell nothing more).
    last_cursor = _cursor_before_last_page(listing, large_org)
    last = read(last_cursor)
    pages += 1
    if last.json()["next_cursor"] is not None or len(last.json()["items"]) != PAGE_SIZE:
        raise RuntimeError(f"the last {listing} page is not the last {PAGE_SIZE} items")
    before_scanned = len(times.scanned)
    answer, small_sample = page(small_org, None)
    small_scanned = set(times.scanned[before_scanned:])
    if answer.json()["next_cursor"] is not None or len(answer.json()["items"]) < SMALL:
        raise RuntimeError(f"the small {listing} list is not one page of {SMALL}")
    result = PagingResult(listing, pages, requests, scanned, small_scanned, units, small_sample.units.read)
    for _ in range(repeats):
        for org_id, at, total, own in (
            (small_org, None, result.small_ms, result.small_own_ms),
            (large_org, None, result.first_ms, result.first_own_ms),
            (large_org, last_cursor, result.last_ms, result.last_own_ms),
        ):
            _, sample = page(org_id, at)
            total.append(sample.seconds * 1000)
            own.append((sample.seconds - sample.dynamodb_seconds) * 1000)
    return result


def _cursor_before_last_page(listing: str, org_id: str) -> str:
    """The cursor a client holds before the list's last page: the key of the item just
    before the last PAGE_SIZE, in the list's order, read from moto's table."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    from devserver.embedded_aws import REGION
    from kuploy_access.adapters.dynamodb.keys import EVENT_SK_PREFIX, MEMBER_SK_PREFIX, audit_pk, org_pk
    from kuploy_access.adapters.dynamodb.models import TableItem
    from kuploy_access.adapters.dynamodb.query_pages import encode_cursor

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables[TableItem.Meta.table_name]
    if listing == "members":
        partition, prefix, newest_first = org_pk(org_id), MEMBER_SK_PREFIX, False
    else:
        partition, prefix, newest_first = audit_pk(org_id), EVENT_SK_PREFIX, True
    keys = sorted(
        (str(sort_key.value) for sort_key in table.items[DynamoType({"S": partition})]),
        reverse=newest_first,
    )
    listed = [key for key in keys if key.startswith(prefix)]
    return encode_cursor({"k": listed[-PAGE_SIZE - 1]})


def _seed(items: Iterable[Any]) -> None:
    """Items written straight into moto's table, past botocore: filling a list of 10,000
    is the set-up, not what is measured (inviting 10,000 people through the API would
    measure argon2, and 400 BatchWriteItems moto's request parsing)."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from devserver.embedded_aws import REGION, dynamodb_paused
    from kuploy_access.adapters.dynamodb.models import TableItem

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    with dynamodb_paused():
        for item in items:
            backend.put_item(TableItem.Meta.table_name, item.serialize())


def _seed_members(org_id: str, count: int) -> None:
    from kuploy_access.adapters.dynamodb.organizations import membership_item
    from kuploy_access.domain.organizations import Member

    now = datetime.now(UTC)
    _seed(
        membership_item(
            Member(
                org_id=org_id,
                user_id=f"usr_seed{index:06d}",
                role="member",
                email=f"seed-{index}@example.com",
                name=f"Seed {index}",
                joined_at=now,
            )
        )
        for index in range(count)
    )


def _seed_audit_events(org_id: str, count: int) -> None:
    """Audit events a millisecond apart, as a busy organization's log would hold them."""
    from kuploy_access.adapters.dynamodb.audit import audit_item
    from kuploy_access.domain.audit import Actor, audit_event

    start = datetime.now(UTC) - timedelta(days=1)
    actor = Actor("user", "usr_seed000000", "seed-0@example.com")
    _seed(
        audit_item(
            audit_event(
                org_id,
                start + timedelta(milliseconds=index),
                actor,
                "project.created",
                f"prj_seed{index:06d}",
                "203.0.113.9",
                "kuploy-bench",
            )
        )
        for index in range(count)
    )


def _invitation_secret(emails: list[dict[str, str]], to: str) -> str:
    for email in reversed(emails):
        if email["to"] == to:
            found = re.search(r"/invitations/([A-Za-z0-9_\-]+)", email["text"])
            if found:
                return found.group(1)
    raise RuntimeError(f"no invitation email to {to}")
