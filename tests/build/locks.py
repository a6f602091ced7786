"""Reading the requirement files: the .in files people edit and the hashed locks `make lock` writes."""

from __future__ import annotations

import re
from pathlib import Path

from tests.build.helpers import ROOT

REQUIREMENTS = ROOT / "requirements"
OAUTH_LOCK = ROOT / "functions" / "oauth" / "requirements.txt"

# A lock's requirement line: `name==version \` (a marker may follow the version).
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(?P<version>[^\s;\\]+)")


def normalise(name: str) -> str:
    """PEP 503: case, `_` and `.` do not tell distributions apart."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked_pins(lock: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            pins[normalise(match["name"])] = match["version"]
    return pins


def locked_entries(lock: Path) -> dict[str, list[str]]:
    """name -> the hashes listed for it (the continuation lines after its pin)."""
    entries: dict[str, list[str]] = {}
    current: str | None = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        if match := _PIN.match(line):
            current = normalise(match["name"])
            entries[current] = []
        elif current is not None and line.strip().startswith("--hash=sha256:"):
            entries[current].append(line.strip().split(":", 1)[1].rstrip(" \\"))
        elif not line.startswith(" "):
            current = None
    return entries


def direct_requirements(requirements_in: Path) -> dict[str, str | None]:
    """What an .in file asks for itself: name -> its == version (None when unpinned); -r/-c
    lines are followed only for -r (a constraint asks for nothing)."""
    wanted: dict[str, str | None] = {}
    for raw in requirements_in.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            wanted |= direct_requirements(requirements_in.parent / line[3:].strip())
            continue
        if line.startswith("-"):
            continue
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(==\s*(\S+))?", line)
        assert match, f"{requirements_in.name}: cannot read {raw!r}"
        wanted[normalise(match[1])] = match[4]
    return wanted
