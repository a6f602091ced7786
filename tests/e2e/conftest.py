"""End-to-end fixtures: the local server (`python -m devserver`) over real HTTP.

One server serves the whole session. It starts from a state file that holds only a
signing key this suite chose, so tests can mint an expired (but correctly signed)
access token and tell `token_expired` from `invalid_token` over HTTP.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.helpers import STARTED, DevServer  # noqa: E402

LOG_TAIL_CHARS = 6000


@pytest.fixture(scope="session")
def signing_key() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory, signing_key: str) -> Iterator[DevServer]:
    directory = tmp_path_factory.mktemp("devserver")
    state = directory / "state.json"
    state.write_text(json.dumps({"items": [], "signing_key": signing_key}), encoding="utf-8")
    running = DevServer(log_path=directory / "devserver.log", state=state).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def client(server: DevServer) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., DevServer]]:
    """Start extra servers for one test; each is stopped at the end if still running."""
    started: list[DevServer] = []

    def start(state: Path | None = None) -> DevServer:
        log_path = tmp_path / f"devserver-{len(started)}.log"
        running = DevServer(log_path=log_path, state=state)
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
    if report.failed:
        for running in STARTED:
            tail = running.log_text()[-LOG_TAIL_CHARS:]
            report.sections.append((f"devserver log ({running.base_url}, {running.log_path})", tail))
    return report
