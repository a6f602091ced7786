"""The web console in Debian's Chromium, against a local server of its own.

The console's tests get their own server (so their own table, and their own rate-limit
budgets: they never spend the HTTP suites' login or email budgets, nor those theirs).
Every page a test opens is checked for script errors and CSP violations when the test
ends; `shoot` saves desktop and phone screenshots under test-artifacts/screenshots/
(git-ignored); `assert_accessible` runs axe-core and fails on serious violations.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import DevServer, e2e_log_path, signed_up_and_verified
from tests.e2e.secret_scan import REGISTRY

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# axe-core impacts that fail a page: "serious" and "critical" (not "minor"/"moderate").
FAILING_IMPACTS = {"serious", "critical"}


@pytest.fixture(scope="session")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    directory = tmp_path_factory.mktemp("console-server")
    state = directory / "state.json"
    signing_key = secrets.token_urlsafe(48)
    REGISTRY.add("signing key", signing_key)
    state.write_text(json.dumps({"items": [], "signing_key": signing_key}), encoding="utf-8")
    running = DevServer(log_path=e2e_log_path("console-server"), state=state).start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def console_api(console_server: DevServer) -> Iterator[httpx.Client]:
    """Plain HTTP to the console's server: emails, accounts set up without the browser."""
    with console_server.client() as http:
        yield http


@pytest.fixture
def verified_account(console_api: httpx.Client) -> Callable[[str], tuple[str, str]]:
    """verified_account("Grace") → (email, password) of a new, confirmed account."""

    def make(name: str = "Ada") -> tuple[str, str]:
        return signed_up_and_verified(console_api, name)

    return make


class PageProblems:
    """Script errors and CSP reports a page raised (both mean a broken page)."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        page.on(
            "console",
            lambda message: (
                self.errors.append(f"console.{message.type}: {message.text}")
                if message.type == "error" and not _expected_http_error(message.text)
                else None
            ),
        )


def _expected_http_error(text: str) -> bool:
    # Chromium logs every 4xx/5xx fetch answer ("Failed to load resource: ... 403").
    # A refused action is part of a flow (the page shows the problem's message); a
    # 5xx never is, and the server log would show it too.
    return "Failed to load resource: the server responded with a status of 4" in text


@pytest.fixture
def open_console(browser: Any, console_server: DevServer) -> Iterator[Callable[..., Any]]:
    """open_console() → a new page (own cookies) at the console's root, desktop size."""
    contexts: list[Any] = []
    problems = PageProblems()

    def open_page(path: str = "/") -> Any:
        context = browser.new_context(viewport=DESKTOP, base_url=console_server.base_url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        problems.watch(page)
        page.goto(path)
        return page

    yield open_page
    for context in contexts:
        # The browser's session cookies join the secrets the logs are scanned for.
        for cookie in context.cookies():
            REGISTRY.add(f"cookie {cookie['name']}", cookie["value"])
        context.close()
    assert not problems.errors, problems.errors


def shoot(page: Any, name: str) -> None:
    """Screenshots of the page as it is now: desktop and phone widths."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or DESKTOP
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    page.set_viewport_size(size)


def assert_accessible(page: Any) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    violations = [v for v in results.response["violations"] if v.get("impact") in FAILING_IMPACTS]
    summary = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in violations]
    assert not violations, summary


@pytest.fixture(scope="session")
def console_signing_key(console_server: DevServer) -> str:
    """The key the console's server signs access tokens with (its state file holds it), for
    a test that hands the page a correctly signed token of an old sign-in (sudo mode)."""
    assert console_server.state is not None
    key: str = json.loads(console_server.state.read_text(encoding="utf-8"))["signing_key"]
    return key
