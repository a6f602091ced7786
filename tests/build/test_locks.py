"""The pins: every dependency locked with its hashes (`make lock`, uv), one lock for the
layer and one for development, and the two agreeing on every version they share.

- requirements/layer.in -> requirements/layer.txt: the layer, resolved for Lambda's python3.13
  on Linux aarch64; copied to shared/requirements.txt, which packaging/Makefile installs with
  --require-hashes.
- requirements/oauth.in -> functions/oauth/requirements.txt: OAuthFunction's own, likewise.
- requirements/dev.in -> requirements/dev.txt and requirements/sam.in -> requirements/sam.txt:
  the two virtual environments of `make`, for any platform.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.build.helpers import ROOT
from tests.build.locks import OAUTH_LOCK, REQUIREMENTS, direct_requirements, locked_entries, locked_pins

LOCKS = {
    "layer": (REQUIREMENTS / "layer.in", REQUIREMENTS / "layer.txt"),
    "oauth": (REQUIREMENTS / "oauth.in", OAUTH_LOCK),
    "dev": (REQUIREMENTS / "dev.in", REQUIREMENTS / "dev.txt"),
    "sam": (REQUIREMENTS / "sam.in", REQUIREMENTS / "sam.txt"),
}
LAMBDA_LOCKS = ("layer", "oauth")


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_every_locked_dependency_has_its_hashes(name: str):
    _, lock = LOCKS[name]
    entries = locked_entries(lock)
    assert len(entries) >= 3, f"{lock.name} pins nothing"
    unhashed = sorted(package for package, hashes in entries.items() if not hashes)
    assert not unhashed, f"{lock.name}: no --hash for {unhashed}"
    assert all(len(h) == 64 for hashes in entries.values() for h in hashes)


@pytest.mark.parametrize("name", sorted(LOCKS))
def test_each_lock_holds_what_its_in_file_asks(name: str):
    """A .in edited without `make lock` shows here: each asked-for package, at its pinned version."""
    requirements_in, lock = LOCKS[name]
    pins = locked_pins(lock)
    for package, version in direct_requirements(requirements_in).items():
        assert package in pins, f"{requirements_in.name} asks for {package}; run `make lock`"
        if version is not None:
            assert pins[package] == version, f"{package}: {requirements_in.name} {version}, {lock.name} {pins[package]}"


@pytest.mark.parametrize("name", LAMBDA_LOCKS)
def test_the_lambda_locks_are_resolved_for_one_platform(name: str):
    """Resolved for python3.13 on Linux aarch64, not for this machine: no environment markers,
    which pip would evaluate against the build machine and might skip a package on."""
    _, lock = LOCKS[name]
    marked = [line for line in lock.read_text(encoding="utf-8").splitlines() if ";" in line.split("#", 1)[0]]
    assert not marked, marked


def test_development_runs_the_versions_that_ship():
    dev = locked_pins(REQUIREMENTS / "dev.txt")
    for name in LAMBDA_LOCKS:
        _, lock = LOCKS[name]
        differ = {p: (v, dev.get(p)) for p, v in locked_pins(lock).items() if dev.get(p) != v}
        assert not differ, f"{lock.name} vs dev.txt (lock, dev): {differ}"


def test_the_layer_pins_boto3_only_for_powertools_idempotency():
    """Our code calls botocore; Powertools' Idempotency package imports boto3 as it loads.
    The layer pins it beside its botocore (the lock resolves the pair), rather than let
    the runtime's boto3 run on this layer's botocore."""
    layer_in = (REQUIREMENTS / "layer.in").read_text(encoding="utf-8")
    assert "Idempotency" in layer_in.split("boto3==")[0].rsplit("botocore==", 1)[1]
    pins = locked_pins(REQUIREMENTS / "layer.txt")
    assert {"boto3", "botocore"} <= set(pins)


def test_the_layer_builds_from_its_lock():
    """shared/requirements.txt is what packaging/Makefile installs into the layer: the lock
    itself, copied by `make lock` into the layer's CodeUri (SAM's build cache looks at
    nothing else, so a new lock rebuilds the layer)."""
    copy = (ROOT / "shared" / "requirements.txt").read_bytes()
    assert copy == (REQUIREMENTS / "layer.txt").read_bytes(), "run `make lock`"


def _imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_no_deployed_code_imports_boto3():
    """Everything that ships (the layer's kuploy_access and every function) uses botocore alone."""
    sources = sorted((ROOT / "shared" / "kuploy_access").rglob("*.py")) + sorted((ROOT / "functions").rglob("*.py"))
    assert len(sources) > 50
    offenders = [
        str(path.relative_to(ROOT)) for path in sources if {"boto3", "s3transfer"} & _imported_top_level_modules(path)
    ]
    assert not offenders, offenders


def test_every_install_checks_the_hashes():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for lock in ("requirements/dev.txt", "requirements/sam.txt"):
        assert f"--require-hashes --no-deps -r {lock}" in makefile, lock
    packaging = (ROOT / "packaging" / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes" in packaging
    assert "-r requirements.txt" in packaging
