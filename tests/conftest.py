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

# Property tests draw the same examples on every run and machine: a green CI does not
# depend on which random examples a run happened to try.
from hypothesis import settings as _hypothesis_settings  # noqa: E402

_hypothesis_settings.register_profile("deterministic", derandomize=True, database=None)
_hypothesis_settings.load_profile("deterministic")
