"""The operator's command line in a shell that lacks what the deployed functions get
from the template: a one-line answer naming what is missing, never a traceback; and the
region taken from the operator's AWS config when AWS_REGION is not set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "shared")}
    return subprocess.run(
        [sys.executable, "-m", "kuploy_access.cli", "admin", "reset-2fa", "ada@example.com", "--reason", "test"],
        env={**base, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_missing_region_is_named_in_one_line(tmp_path: Path) -> None:
    done = run_cli(tmp_path, TABLE_NAME="t", SENDER_EMAIL="ops@example.com", PUBLIC_BASE_URL="https://x.example")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'kuploy-access: AWS_REGION not set: the command is in README, under "Two-factor authentication"'
    ]


def test_the_region_comes_from_the_aws_config_and_what_is_still_missing_is_named(tmp_path: Path) -> None:
    config = tmp_path / "aws-config"
    config.write_text("[default]\nregion = eu-west-1\n")
    done = run_cli(tmp_path, AWS_CONFIG_FILE=str(config), SENDER_EMAIL="ops@example.com")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("kuploy-access: TABLE_NAME, PUBLIC_BASE_URL not set"), done.stderr
