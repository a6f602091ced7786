"""Where the project is, how its code is imported in-process, and where python3.13 is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT / "shared"
FUNCTIONS = ROOT / "functions"
PUBLIC_BASE_URL = "https://access.bench.local"

_PROBE = "import sys; print(sys.executable); print(sys.version_info[:2] == (3, 13))"


def prepare_in_process_imports() -> None:
    """The local environment before any kuploy_access module is imported (as tests/conftest.py does)."""
    for path in (str(SHARED), str(ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from devserver.embedded_aws import LOCAL_ENVIRONMENT

    os.environ.update(LOCAL_ENVIRONMENT)
    os.environ["PUBLIC_BASE_URL"] = PUBLIC_BASE_URL


def progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def find_python313() -> Path | None:
    """A python3.13 that runs, real interpreters first (pyenv shims are skipped: they may hang)."""
    candidates: list[Path] = []
    if os.environ.get("PYTHON313"):
        candidates.append(Path(os.environ["PYTHON313"]))
    candidates.extend(sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in Path(directory).parts:
            candidates.append(Path(directory) / "python3.13")
    for candidate in dict.fromkeys(candidates):
        if not candidate.is_file() or not os.access(candidate, os.X_OK):
            continue
        try:
            probe = subprocess.run(
                [str(candidate), "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        lines = probe.stdout.split()
        if probe.returncode == 0 and len(lines) == 2 and lines[1] == "True":
            return Path(lines[0])
    return None


def forget_containers() -> None:
    """Drop the wiring's per-container caches, as a new Lambda container would: each
    bench part runs in its own moto world, and clients built for the last one would
    write to it."""
    from kuploy_access import wiring
    from kuploy_access.adapters.signing_key import forget_signing_keys

    for value in vars(wiring).values():
        if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", "") == wiring.__name__:
            value.cache_clear()
    forget_signing_keys()
