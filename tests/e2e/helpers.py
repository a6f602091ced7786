"""The local server as a subprocess, and the few steps every end-to-end test repeats."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.secret_scan import REGISTRY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Every server's output (git-ignored), for a reader and for the session's secret scan. One
# folder per pytest-xdist worker: each session clears and scans its own servers' logs.
E2E_LOGS = PROJECT_ROOT / "test-artifacts" / "e2e-logs" / os.environ.get("PYTEST_XDIST_WORKER", "main")
# The functions log at DEBUG here: the scan proves that even DEBUG lines hold no secret.
FUNCTION_LOG_LEVEL = "DEBUG"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
BANNER = re.compile(r"Kuploy Access on (\S+)")
LINK = re.compile(r"https?://[^\s\"'<>]+/verify-email\?token=[A-Za-z0-9_\-%.~=]+")
RESET_LINK = re.compile(r"https?://[^\s\"'<>]+/reset-password\?token=[A-Za-z0-9_\-%.~=]+")
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code"}

# Every server started by this suite, so a failing test can show their logs.
STARTED: list[DevServer] = []


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class DevServer:
    """`python -m devserver` in a subprocess: what its functions write (their logs) in
    `function_log_path`, the server's own lines (banner, requests, printed emails) in
    `log_path`."""

    log_path: Path
    state: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    public_base_url: str = ""
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def function_log_path(self) -> Path:
        return self.log_path.with_suffix(".functions.log")

    def start(self) -> DevServer:
        command = [sys.executable, "-m", "devserver", "--port", str(self.port)]
        command += ["--function-log", str(self.function_log_path)]
        if self.state is not None:
            command += ["--state", str(self.state)]
        environment = dict(os.environ)
        # The unit tests' conftest sets a fake public URL; this server must use its own.
        environment.pop("PUBLIC_BASE_URL", None)
        environment["PYTHONUNBUFFERED"] = "1"
        environment["POWERTOOLS_LOG_LEVEL"] = FUNCTION_LOG_LEVEL
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        STARTED.append(self)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devserver exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.base_url}/openapi.json", timeout=2).status_code == 200:
                    banner = BANNER.search(self.log_text())
                    if banner is None:
                        raise RuntimeError(f"devserver answers but printed no banner:\n{self.log_text()}")
                    self.public_base_url = banner.group(1)
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"devserver did not answer within {READY_TIMEOUT_S} s:\n{self.log_text()}")

    def stop(self) -> int | None:
        """Ctrl-C, as a person would; kill only if it does not stop in time. Answers the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None
        return self.process.returncode

    def log_text(self) -> str:
        return _read(self.log_path)

    def function_log_text(self) -> str:
        return _read(self.function_log_path)

    def client(self, source_ip: str | None = None) -> httpx.Client:
        """A client; with `source_ip` (a loopback address such as 127.0.0.23) its
        connections come from that address, which the server sees as the client IP.

        Every secret it sends or is answered (and every token in an email it reads at
        /_dev/emails) goes into the session's registry, which the logs are scanned for."""
        hooks = {"request": [REGISTRY.saw_request], "response": [REGISTRY.saw_response]}
        transport = None if source_ip is None else httpx.HTTPTransport(local_address=source_ip)
        return httpx.Client(base_url=self.base_url, timeout=30, transport=transport, event_hooks=hooks)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def e2e_log_path(name: str) -> Path:
    """A new server's log under test-artifacts/e2e-logs/ (its function log beside it)."""
    return E2E_LOGS / f"{name}.log"


# --- accounts over HTTP ------------------------------------------------------------


def unique_email(label: str = "Ada") -> str:
    """A fresh, mixed-case address: the service must fold it."""
    return f"{label}.{uuid.uuid4().hex[:12]}@Example.COM"


def strong_password() -> str:
    return f"Quiet-Harbour-{uuid.uuid4().hex[:10]}"


def sign_up(client: httpx.Client, email: str, password: str, name: str | None = None, **kwargs: Any) -> None:
    body: dict[str, Any] = {"email": email, "password": password}
    if name is not None:
        body["name"] = name
    response = client.post("/auth/signup", json=body, **kwargs)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "verification_sent"}


def log_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post("/auth/login", json={"email": email, "password": password})


def emails_to(client: httpx.Client, address: str) -> list[dict[str, str]]:
    response = client.get("/_dev/emails")
    assert response.status_code == 200, response.text
    return [email for email in response.json() if email["to"] == address.lower()]


def wait_for_emails(client: httpx.Client, address: str, count: int, timeout: float = 5.0) -> list[dict[str, str]]:
    """The emails sent to `address` (newest last), once there are at least `count`."""
    deadline = time.monotonic() + timeout
    found = emails_to(client, address)
    while len(found) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        found = emails_to(client, address)
    assert len(found) >= count, f"expected {count} emails to {address}, got {found}"
    return found


def verification_link(email: dict[str, str]) -> str:
    links = LINK.findall(email["text"])
    assert links, f"no verification link in {email['text']!r}"
    assert len(set(links)) == 1, links
    return str(links[0])


def reset_link(email: dict[str, str]) -> str:
    links = RESET_LINK.findall(email["text"])
    assert links, f"no reset link in {email['text']!r}"
    assert len(set(links)) == 1, links
    return str(links[0])


def reset_emails_to(client: httpx.Client, address: str) -> list[dict[str, str]]:
    return [email for email in emails_to(client, address) if RESET_LINK.search(email["text"])]


def token_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def latest_verification_token(client: httpx.Client, address: str) -> str:
    return token_of(verification_link(wait_for_emails(client, address, 1)[-1]))


def signed_up_and_verified(client: httpx.Client, name: str | None = None) -> tuple[str, str]:
    email, password = unique_email(), strong_password()
    sign_up(client, email, password, name)
    response = client.post("/auth/verify-email", json={"token": latest_verification_token(client, email)})
    assert response.status_code == 200, response.text
    return email, password


def logged_in(client: httpx.Client, name: str | None = None) -> tuple[str, dict[str, Any]]:
    email, password = signed_up_and_verified(client, name)
    response = log_in(client, email, password)
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    return email, tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_FIELDS, body
    assert body["status"] == status
    assert body["code"] == code, body
    return body


def tokens_of(response: httpx.Response) -> dict[str, Any]:
    """The token pair of a 200 login or refresh, checked for its documented shape."""
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in"}, pair
    assert pair["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    return pair


def outside_window_edge(window_seconds: int, margin_seconds: float = 20.0) -> None:
    """Wait until the current fixed window (aligned to the epoch, as the server's rate
    limits are) has at least `margin_seconds` left, so that one test's attempts all land
    in one window. The server runs on this machine's clock."""
    left = window_seconds - time.time() % window_seconds
    if left < margin_seconds:
        time.sleep(left + 0.5)
