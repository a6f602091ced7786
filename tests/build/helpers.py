"""What the build tests share: the SAM CLI's own environment and a real python3.13."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
SAM_VENV = ROOT / ".venv-sam"
SAM = SAM_VENV / "bin" / "sam"
SAM_PYTHON = SAM_VENV / "bin" / "python"

_PROBE = "import sys; print(sys.executable); print(sys.version_info[:2] == (3, 13))"


def python313_candidates() -> list[Path]:
    """Places a python3.13 may live, real interpreters before anything on PATH.

    pyenv's shims are skipped: a shim for a version that is not selected either fails
    or, with the shims directory on PATH twice (as `make`'s SAM_PATH puts it), never
    returns. The interpreters under ~/.pyenv/versions are the real ones.
    """
    candidates: list[Path] = []
    if os.environ.get("PYTHON313"):
        candidates.append(Path(os.environ["PYTHON313"]))
    candidates.extend(sorted(Path.home().glob(".pyenv/versions/3.13*/bin/python3.13"), reverse=True))
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if directory and "shims" not in Path(directory).parts:
            candidates.append(Path(directory) / "python3.13")
    candidates.extend(Path(p) for p in ("/usr/local/bin/python3.13", "/usr/bin/python3.13"))
    return list(dict.fromkeys(candidates))


def find_python313() -> Path | None:
    """A python3.13 that runs (checked by running it), or None."""
    for candidate in python313_candidates():
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


def sam_environment(extra_path: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["SAM_CLI_TELEMETRY"] = "0"
    if extra_path is not None:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    return env
