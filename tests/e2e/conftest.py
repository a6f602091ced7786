"""End-to-end fixtures: the local server (`python -m devserver`) over real HTTP.

One server serves the whole session. It starts from a state file that holds only a
signing key this suite chose, so tests can mint an expired (but correctly signed)
access token and tell `token_expired` from `invalid_token` over HTTP.

Every server writes its output under test-artifacts/e2e-logs/, its functions logging
at DEBUG; when the session ends, those function logs are scanned for every secret the
tests saw and every secret-shaped string (tests/e2e/secret_scan.py), and a finding
fails the run.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import E2E_LOGS, STARTED, DevServer, e2e_log_path  # noqa: E402
from tests.e2e.secret_scan import PATTERNS, REGISTRY, scan  # noqa: E402

LOG_TAIL_CHARS = 6000
FINDINGS_SHOWN = 40
# How the scan's failure begins; its report gets no log tails (they would show the secrets).
SCAN_FAILURE = "secrets in the functions' logs"


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_the_logs() -> Iterator[None]:
    """First up, last down: the logs of the run before are cleared, and once every
    server has stopped, their function logs are scanned. A finding fails the run."""
    shutil.rmtree(E2E_LOGS, ignore_errors=True)
    E2E_LOGS.mkdir(parents=True)
    yield
    for running in STARTED:
        running.stop()  # flushed and closed before they are read
    logs = [running.function_log_path for running in STARTED]
    started = time.perf_counter()
    findings = scan(logs, REGISTRY)
    seconds = time.perf_counter() - started
    size = sum(path.stat().st_size for path in logs if path.is_file())
    summary = (
        f"secret scan: {len(logs)} function logs ({size / 1e6:.1f} MB) for {len(REGISTRY)} secrets the tests saw "
        f"and {len(PATTERNS)} patterns, in {seconds:.1f} s"
    )
    print(f"\n{summary}")
    if findings:
        shown = "\n".join(f"  {finding}" for finding in findings[:FINDINGS_SHOWN])
        more = f"\n  … and {len(findings) - FINDINGS_SHOWN} more" if len(findings) > FINDINGS_SHOWN else ""
        pytest.fail(f"{len(findings)} {SCAN_FAILURE} ({summary}):\n{shown}{more}", pytrace=False)
    # Control: the servers' own logs print every email, links and all, so the tokens the
    # tests read in those emails must be found there; if not, the registry saw nothing.
    emailed = REGISTRY.emailed()
    printed = "\n".join(running.log_text() for running in STARTED)
    if emailed and not any(token in printed for token in emailed):
        pytest.fail("secret scan control: no token read at /_dev/emails is in the servers' own logs", pytrace=False)


@pytest.fixture(scope="session")
def signing_key() -> str:
    key = secrets.token_urlsafe(48)
    REGISTRY.add("signing key", key)
    return key


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, signing_key: str) -> Iterator[DevServer]:
    directory = tmp_path_factory.mktemp("devserver")
    state = directory / "state.json"
    state.write_text(json.dumps({"items": [], "signing_key": signing_key}), encoding="utf-8")
    running = DevServer(log_path=e2e_log_path("devserver"), state=state).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def client(server: DevServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def start_server(request: pytest.FixtureRequest) -> Iterator[Callable[..., DevServer]]:
    """Start extra servers for one test; each is stopped at the end if still running."""
    started: list[DevServer] = []
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)

    def start(state: Path | None = None) -> DevServer:
        running = DevServer(log_path=e2e_log_path(f"{test_name}-{len(started)}"), state=state)
        started.append(running)
        return running.start()

    yield start
    for running in started:
        running.stop()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Headless, and none of the background connections this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (test tools cannot download browsers here)."""
    if CHROMIUM is None:
        # `make test` and `make test-e2e` install it first (the Makefile's `browser`
        # target): a missing browser is a broken setup, not a test to leave out.
        pytest.fail("no chromium on PATH: run `make test-e2e` (it installs Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and SCAN_FAILURE not in str(report.longrepr):
        for running in STARTED:
            tail = running.log_text()[-LOG_TAIL_CHARS:]
            report.sections.append((f"devserver log ({running.base_url}, {running.log_path})", tail))
            functions = running.function_log_text()[-LOG_TAIL_CHARS:]
            report.sections.append((f"functions' log ({running.base_url}, {running.function_log_path})", functions))
    return report
