"""The local server for a soak: `python -m devserver` in a subprocess, and its memory.

A copy of what tests/e2e/helpers.py DevServer does (tools do not import tests), minus
what only the tests need (the secret registry, DEBUG function logs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = PROJECT_ROOT / "test-artifacts" / "soak"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def rss_kib(pid: int) -> int:
    """The process's resident set (VmRSS) in KiB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


@dataclass
class LocalServer:
    """One `python -m devserver --port N`, its output under test-artifacts/soak/."""

    log_dir: Path = LOG_DIR
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the server is not running")
        return self.process.pid

    def start(self) -> LocalServer:
        self.port = self.port or free_port()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"devserver-{self.port}.log"
        command = [sys.executable, "-m", "devserver", "--port", str(self.port)]
        command += ["--function-log", str(log_path.with_suffix(".functions.log"))]
        environment = dict(os.environ)
        environment.pop("PUBLIC_BASE_URL", None)  # the server's own, never a test's
        environment["PYTHONUNBUFFERED"] = "1"
        # glibc gives each of the server's many request threads an arena of its own and
        # keeps what they freed: the RSS would then measure the allocator, not the server.
        environment["MALLOC_ARENA_MAX"] = "2"
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, stdout=self._log, stderr=subprocess.STDOUT, env=environment
        )
        self._wait_until_ready(log_path)
        return self

    def _wait_until_ready(self, log_path: Path) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"devserver exited with {self.process.returncode}; see {log_path}")
            try:
                if httpx.get(f"{self.base_url}/openapi.json", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"devserver did not answer within {READY_TIMEOUT_S} s; see {log_path}")

    def stop(self) -> None:
        """Ctrl-C, as a person would; kill only if it does not stop in time."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT_S)
        if self._log is not None:
            self._log.close()
            self._log = None
