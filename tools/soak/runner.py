"""One soak: set the clients up, run the mix for the set time, check the invariants.

The clock runs in two parts: a warm-up (the server starts a container per concurrent
request, its caches fill), then the measured part, whose answers give the latencies and
DynamoDB counts and whose end the memory is judged at, against the warm-up's end."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tools.soak.invariants import check_client
from tools.soak.local_server import rss_kib
from tools.soak.stats import MemorySample, MemoryTrace, Phase, Recorder
from tools.soak.workload import REQUEST_TIMEOUT_S, Client, verification_tokens

DYNAMODB_CALLS_PATH = "/_dev/dynamodb-calls"
TABLE_KEYS_PATH = "/_dev/table-keys"


@dataclass(frozen=True)
class SoakOptions:
    clients: int = 50
    duration_s: float = 600.0  # the workload's time, warm-up included
    # Long enough for each warm copy of a function to have served each route once: a
    # copy's first request on a route builds what it then keeps (validators, imports).
    warmup_s: float = 120.0
    seed: int = 16
    invitees: int = 2  # per client: the accounts its organization invites, accepts and removes in turn
    sample_every_s: float = 1.0
    # Before the clock: every function the mix calls, called by every client at once.
    prime: bool = True


@dataclass
class SoakResult:
    options: SoakOptions
    base_url: str
    recorder: Recorder
    memory: MemoryTrace
    violations: list[str]
    clients_ready: int
    dynamodb_measured: Counter[str] = field(default_factory=Counter)  # every call in the measured part, by operation
    items_at_warmup_end: int = 0  # items in the table
    items_at_end: int = 0


def _dev_document(base_url: str, path: str, lost: list[str]) -> dict[str, Any]:
    """A /_dev/ route's answer; {} (and a note in `lost`) when the server gave none, so
    that a server that died mid-run still gets its report."""
    try:
        answer = httpx.get(f"{base_url}{path}", timeout=REQUEST_TIMEOUT_S)
        answer.raise_for_status()
        document: dict[str, Any] = answer.json()
        return document
    except httpx.HTTPError as error:
        lost.append(f"GET {path}: {error!r}")
        return {}


def _dynamodb_calls(base_url: str, lost: list[str]) -> Counter[str]:
    return Counter(_dev_document(base_url, DYNAMODB_CALLS_PATH, lost).get("operations", []))


def _table_items(base_url: str, lost: list[str]) -> int:
    return int(_dev_document(base_url, TABLE_KEYS_PATH, lost).get("count", 0))


def _each(clients: Iterable[Client], work: Callable[[Client], None]) -> None:
    clients = list(clients)
    with ThreadPoolExecutor(max_workers=max(1, len(clients))) as pool:
        list(pool.map(work, clients))


def _prime(clients: list[Client]) -> None:
    """Each function the mix calls, by every client at once, one function after the other.
    The local server starts a copy of a function (a container, as Lambda does) for each
    request that finds every copy busy, and a copy costs some MiB; no run can need more
    copies at once than there are clients, so after this none is started during the run
    to be mistaken for a leak."""
    for at_once in zip(*(client.priming_steps() for client in clients), strict=True):
        with ThreadPoolExecutor(max_workers=len(at_once)) as pool:
            list(pool.map(lambda step: step(), at_once))


def _sample_memory(pid: int, recorder: Recorder, trace: MemoryTrace, every_s: float, done: threading.Event) -> None:
    while not done.is_set():
        try:
            trace.samples.append(MemorySample(time.monotonic(), recorder.phase, rss_kib(pid)))
        except (OSError, RuntimeError):  # the server is gone: its last samples stay
            trace.server_gone = True
            return
        done.wait(every_s)


def run_soak(options: SoakOptions, base_url: str, server_pid: int) -> SoakResult:
    recorder = Recorder()
    memory = MemoryTrace()
    lost: list[str] = []
    sampling_done = threading.Event()
    sampler = threading.Thread(
        target=_sample_memory, args=(server_pid, recorder, memory, options.sample_every_s, sampling_done), daemon=True
    )
    sampler.start()
    clients = [Client(n, base_url, recorder, options.seed, options.invitees) for n in range(options.clients)]
    try:
        _each(clients, Client.sign_up_all)
        with httpx.Client(base_url=base_url) as http:
            tokens = verification_tokens(http, [a.email for c in clients for a in c.accounts])
        _each(clients, lambda client: client.verify_and_sign_in(tokens))
        _each(clients, Client.create_org_and_key)
        ready = [client for client in clients if client.ready]

        stop = threading.Event()
        if options.prime:
            _prime(ready)
        workers = [threading.Thread(target=client.run, args=(stop,), daemon=True) for client in ready]
        recorder.enter(Phase.WARMUP)
        started = time.monotonic()
        for worker in workers:
            worker.start()
        time.sleep(max(0.0, options.warmup_s - (time.monotonic() - started)))
        before = _dynamodb_calls(base_url, lost)
        recorder.enter(Phase.MEASURED)
        # Counted once the warm-up's last memory samples are taken: listing the keys
        # allocates, and must not raise the baseline the growth is measured from.
        items_at_warmup_end = _table_items(base_url, lost)
        time.sleep(max(0.0, options.duration_s - (time.monotonic() - started)))
        after = _dynamodb_calls(base_url, lost)
        recorder.enter(Phase.CHECK)
        items_at_end = _table_items(base_url, lost)
        stop.set()
        for worker in workers:
            worker.join()
        sampling_done.set()
        sampler.join()
        with ThreadPoolExecutor(max_workers=max(1, len(ready))) as pool:
            violations = [violation for found in pool.map(check_client, ready) for violation in found]
        violations += [f"client {c.index}: setup failed" for c in clients if not c.ready]
        if lost or memory.server_gone:
            violations.append(f"the server stopped answering /_dev/ or died: {lost}, gone={memory.server_gone}")
    finally:
        sampling_done.set()
        for client in clients:
            client.close()
    return SoakResult(
        options, base_url, recorder, memory, violations, len(ready), after - before, items_at_warmup_end, items_at_end
    )
