"""Organizations in-process on moto: the DynamoDB requests of the permission check,
accepting an invitation and listing members, and the time per page of members in an
organization of 5,000 members.

Same method as `bench.flows`: real events through the local gateway, the authorizer
in front, DynamoDB calls counted by a botocore handler on every session.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.flows import (
    PASSWORD,
    FlowResult,
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
    "deploy an application",
)
LARGE_ORG_MEMBERS = 5000
SMALL_ORG_MEMBERS = 200
PAGE_SIZE = 100


@dataclass
class PagingResult:
    members: int
    page_ms: list[float]
    requests_per_page: set[int]
    # The same pages without the time spent inside DynamoDB calls (moto's in-process
    # Query reads the whole partition on every call; DynamoDB reads only the page).
    own_ms: list[float]
    # Items the Query read per page (ScannedCount): what a page costs on DynamoDB.
    scanned_per_page: set[int]

    @property
    def own_median_ms(self) -> float:
        return statistics.median(self.own_ms)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.page_ms)

    def median_of(self, first: bool, count: int = 5) -> float:
        chosen = self.page_ms[:count] if first else self.page_ms[-count:]
        return statistics.median(chosen)


@dataclass
class OrgBenchResults:
    flows: list[FlowResult]
    large: PagingResult
    small: PagingResult


def run(runs: int = 20) -> OrgBenchResults:
    calls = install_counter()
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
            before = len(calls.operations)
            started = time.perf_counter()
            answer = call(*request)
            elapsed = time.perf_counter() - started
            if answer.status != expected:
                raise RuntimeError(f"{operation}: HTTP {answer.status}, expected {expected}: {answer.body[:300]!r}")
            if record:
                samples[operation].append(Sample(elapsed, tuple(calls.operations[before:])))
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
            project = call("POST", f"/orgs/{org_id}/projects", {"name": "web"}, owner).json()["id"]
            application = call("POST", f"/orgs/{org_id}/projects/{project}/applications", {"name": "api"}, owner).json()
            deployments = f"/orgs/{org_id}/projects/{project}/applications/{application['id']}/deployments"
            timed("deploy an application", 202, record, "POST", deployments, {"ref": "main"}, member)
        progress(f"organizations: {runs} recorded runs of each operation")

        large = _walk_members(call, calls.operations, user("large-owner@example.com"), LARGE_ORG_MEMBERS)
        small = _walk_members(call, calls.operations, user("small-owner@example.com"), SMALL_ORG_MEMBERS)
        progress(f"organizations: paged through {LARGE_ORG_MEMBERS} and {SMALL_ORG_MEMBERS} members")
    return OrgBenchResults([FlowResult(name, samples[name]) for name in OPERATIONS], large, small)


def _walk_members(call: Callable[..., _Answer], operations: list[str], owner: str, size: int) -> PagingResult:
    org_id = call("POST", "/orgs", {"name": f"{size} members"}, owner).json()["id"]
    _seed_members(org_id, size - 1)
    call("GET", f"/orgs/{org_id}/billing", None, owner)  # the owner's activity mark is fresh from here on
    page_ms: list[float] = []
    own_ms: list[float] = []
    requests: set[int] = set()
    scanned: set[int] = set()
    times = dynamodb_times()
    cursor: str | None = None
    seen = 0
    while True:
        path = f"/orgs/{org_id}/members?limit={PAGE_SIZE}" + (f"&cursor={cursor}" if cursor else "")
        before = len(operations)
        before_times, before_scanned = len(times.seconds), len(times.scanned)
        started = time.perf_counter()
        answer = call("GET", path, None, owner)
        elapsed = time.perf_counter() - started
        page_ms.append(elapsed * 1000)
        own_ms.append((elapsed - sum(times.seconds[before_times:])) * 1000)
        requests.add(len(operations) - before)
        scanned.update(times.scanned[before_scanned:])
        if answer.status != 200:
            raise RuntimeError(f"members page: HTTP {answer.status}: {answer.body[:300]!r}")
        body = answer.json()
        seen += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            break
    if seen != size:
        raise RuntimeError(f"paged {seen} members of {size}")
    return PagingResult(size, page_ms, requests, own_ms, scanned)


def _seed_members(org_id: str, count: int) -> None:
    """Memberships written straight to the table (BatchWriteItem): inviting 5,000 people
    through the API would measure argon2, not paging."""
    from kuploy_access.adapters.dynamodb.models import TableItem
    from kuploy_access.adapters.dynamodb.organizations import membership_item
    from kuploy_access.domain.organizations import Member

    now = datetime.now(UTC)
    with TableItem.batch_write() as batch:
        for index in range(count):
            batch.save(
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
            )


def _invitation_secret(emails: list[dict[str, str]], to: str) -> str:
    for email in reversed(emails):
        if email["to"] == to:
            found = re.search(r"/invitations/([A-Za-z0-9_\-]+)", email["text"])
            if found:
                return found.group(1)
    raise RuntimeError(f"no invitation email to {to}")
