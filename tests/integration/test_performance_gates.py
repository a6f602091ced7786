"""The load-independent half of `make bench-check`, in `make test` (issue 16).

`python -m bench --fast --check` in its own process (its botocore hooks and its moto
world stay out of this worker): every operation's DynamoDB requests and capacity units
(so its cost) within bench/targets.py's budgets, items read per page at 100 and at
10,000 items, the authorizer's imports, the argon2 parameters. No time is judged here:
time ratios move with the machine's load, and `make bench-check` judges them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bench import targets

ROOT = Path(__file__).resolve().parents[2]


def test_the_load_independent_performance_gates_hold():
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    answer = subprocess.run(
        [sys.executable, "-m", "bench", "--fast", "--check"],
        cwd=ROOT,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    report = answer.stdout + answer.stderr[-3000:]
    assert answer.returncode == 0, report
    # Every budgeted operation was measured and judged, none silently dropped.
    for operation in targets.BUDGETS:
        assert f"DynamoDB per op: {operation} " in answer.stdout, report
    assert "MISS" not in answer.stdout, report
    assert "items read per page at 100 / 10,000" in answer.stdout, report
