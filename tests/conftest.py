"""Shared test setup: the local environment before any project module is imported."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "shared"))
sys.path.insert(0, str(ROOT))

from devserver.embedded_aws import LOCAL_ENVIRONMENT  # noqa: E402

for _name, _value in LOCAL_ENVIRONMENT.items():
    os.environ[_name] = _value
os.environ["PUBLIC_BASE_URL"] = "https://access.test"
