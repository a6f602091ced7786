"""`sam build` into a temporary directory, as the build tests run it (never the project's .aws-sam/)."""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from devserver.template import load_template
from tests.build.helpers import ROOT, SAM, TEMPLATE, find_python313, python313_candidates, sam_environment

BUILD_TIMEOUT_SECONDS = 600


@dataclass(frozen=True)
class Build:
    directory: Path
    seconds: float
    output: str


def layer_logical_id() -> str:
    resources = load_template()["Resources"]
    layers = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::LayerVersion"]
    assert len(layers) == 1, layers
    return str(layers[0])


def function_logical_ids() -> list[str]:
    resources = load_template()["Resources"]
    return sorted(lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function")


def sam_build(target: Path) -> Build:
    """One full `sam build` into target/build (its own cache: nothing reused from another build)."""
    python313 = find_python313()
    if python313 is None:
        looked = ", ".join(str(p) for p in python313_candidates())
        # A missing interpreter is a broken setup, not a build to leave out: the layer's
        # byte code and wheels are python3.13's (pyenv's, on these machines).
        pytest.fail(f"no python3.13 interpreter found (looked at: {looked}); sam build for python3.13 needs one")
    started = time.monotonic()
    result = subprocess.run(
        [
            str(SAM),
            "build",
            "--template-file",
            str(TEMPLATE),
            "--build-dir",
            str(target / "build"),
            "--cache-dir",
            str(target / "cache"),
            "--no-cached",
        ],
        cwd=ROOT,
        env=sam_environment(python313.parent) | {"PYTHON313": str(python313)},
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_SECONDS,
        check=False,
    )
    seconds = time.monotonic() - started
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    print(f"sam build took {seconds:.1f} s with {python313}")
    return Build(target / "build", seconds, output)
