"""docs/architecture.md names files; a renamed or deleted one fails here, not in a reader's hands."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
# Where the document's short paths start from.
BASES = (
    ROOT,
    ROOT / "shared",
    ROOT / "shared" / "kuploy_access",
    ROOT / "shared" / "kuploy_access" / "adapters",
    ROOT / "shared" / "kuploy_access" / "adapters" / "dynamodb",
    ROOT / "shared" / "kuploy_access" / "http",
    ROOT / "shared" / "kuploy_access" / "services" / "ports",
    ROOT / "tests" / "contract",
    ROOT / "tests" / "unit",
    ROOT / "tests" / "integration",
    ROOT / "tests",
)


def _named_files() -> set[str]:
    return set(re.findall(r"([\w./-]+\.(?:py|yaml|md))", DOC.read_text()))


def test_the_document_names_files() -> None:
    assert len(_named_files()) > 20


def test_every_file_the_document_names_exists() -> None:
    missing = sorted(name for name in _named_files() if not any((base / name).exists() for base in BASES))
    assert missing == []
