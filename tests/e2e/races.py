"""What the race files (tests/e2e/test_races_*_e2e.py) share: a local server of their own,
requests released together from threads, each test's own client addresses, the table
read afterwards through /_dev/table-items, and the number of rounds.

A server of its own per race file, not the session's: the local server's DynamoDB (moto)
copies the whole table for every transaction, one request at a time, so on a table that
the rest of the suite has filled, twenty racing requests would queue for minutes.

A race over HTTP ends with the state its invariant allows, read from the table, not only
from the answers: an answer can say "refused" while a half-written state stays behind.

Rounds: each race runs once in `make test`; `make soak-races` runs each RACE_ROUNDS=20
times. The round number is a parameter with a fixed id (round01, round02, ...), so the
test ids are the same on every pytest-xdist worker.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from typing import Any, TypeVar

import httpx
import pytest

from tests.e2e.helpers import DevServer, bearer, e2e_log_path, logged_in

T = TypeVar("T")

RACE_ROUNDS = int(os.environ.get("RACE_ROUNDS", "1"))
# `@rounds` on a race: one test per round, ids round01..roundNN.
rounds = pytest.mark.parametrize(
    "round_number", range(1, RACE_ROUNDS + 1), ids=[f"round{n:02d}" for n in range(1, RACE_ROUNDS + 1)]
)
# How long a thread waits for the others at the barrier: a thread that never arrives
# fails the race instead of hanging it.
BARRIER_TIMEOUT_S = 60
# A racing request's wait for its answer: a guard against a hang, not a measure (the
# racers' requests are answered one DynamoDB request at a time, on a shared machine).
RACER_TIMEOUT_S = 120


def _server_scope(fixture_name: str, config: pytest.Config) -> str:
    """One server per file for a single round (`make test`); one per test when the races
    repeat (`make soak-races`): the table then holds one round's items only. moto copies
    the whole table for every transaction, so on a table that twenty rounds have filled a
    race of twenty requests outlasts the test's time limit."""
    return "module" if RACE_ROUNDS == 1 else "function"


@pytest.fixture(scope=_server_scope)
def server(request: pytest.FixtureRequest) -> Iterator[DevServer]:
    """A local server for one race file, its table holding that file's items only.
    Imported by each race file, it stands in there for tests/e2e/conftest.py's
    session-wide `server` (and `client` below for its `client`)."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    running = DevServer(log_path=e2e_log_path(name)).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope=_server_scope)
def client(server: DevServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def at_once(server: DevServer, calls: list[Callable[[httpx.Client], T]], source_ips: list[str]) -> list[T]:
    """`calls[i](client)` from as many threads, each on its own connection from
    `source_ips[i % len(source_ips)]`, released together by a barrier once every
    connection is open; the answers in the order of `calls`."""
    barrier = threading.Barrier(len(calls), timeout=BARRIER_TIMEOUT_S)

    def run(index: int) -> T:
        with server.client(source_ip=source_ips[index % len(source_ips)]) as own:
            own.timeout = httpx.Timeout(RACER_TIMEOUT_S)
            # The connection is opened before the barrier, so the requests leave together.
            own.get("/openapi.json").raise_for_status()
            barrier.wait()
            return calls[index](own)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, range(len(calls))))


@dataclass
class Addresses:
    """Loopback addresses of one race file: 127.`file_octet`.x.y, never handed out twice
    in a session, so no limit another test (or round) spent applies."""

    file_octet: int
    _next: Iterator[int] = field(default_factory=lambda: count(1))

    def take(self, how_many: int = 1) -> list[str]:
        taken = []
        for _ in range(how_many):
            number = next(self._next)
            taken.append(f"127.{self.file_octet}.{number // 250}.{number % 250 + 2}")
        return taken

    def one(self) -> str:
        return self.take()[0]


def table_items(client: httpx.Client, pk_prefix: str) -> list[dict[str, Any]]:
    """Every item whose pk starts with `pk_prefix`, sorted by (pk, sk), from the local
    server's table as it is now (GET /_dev/table-items)."""
    answer = client.get("/_dev/table-items", params={"pk": pk_prefix})
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def partition(client: httpx.Client, pk: str) -> list[dict[str, Any]]:
    """The items of exactly one partition."""
    return [item for item in table_items(client, pk) if item["pk"] == pk]


def statuses(answers: list[httpx.Response]) -> list[int]:
    return sorted(answer.status_code for answer in answers)


def codes(answers: list[httpx.Response]) -> list[tuple[int, str]]:
    """(status, problem code) of each refusal, sorted."""
    refused = [answer for answer in answers if answer.status_code >= 400]
    return sorted((answer.status_code, answer.json().get("code", "")) for answer in refused)


def me(client: httpx.Client, access_token: str) -> dict[str, Any]:
    answer = client.get("/me", headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def shown(answers: list[httpx.Response]) -> list[str]:
    """The answers, short, for an assertion's message."""
    return [f"{answer.status_code} {answer.text[:160]}" for answer in answers]


def person(client: httpx.Client, name: str) -> dict[str, Any]:
    """A verified, signed-in account: {email, token, id}."""
    email, tokens = logged_in(client, name)
    return {"email": email.lower(), "token": tokens["access_token"], "id": me(client, tokens["access_token"])["id"]}


def new_org(client: httpx.Client, owner: dict[str, Any]) -> str:
    answer = client.post("/orgs", json={"name": f"Race {uuid.uuid4().hex[:8]}"}, headers=bearer(owner["token"]))
    assert answer.status_code == 201, answer.text
    org_id: str = answer.json()["id"]
    return org_id
