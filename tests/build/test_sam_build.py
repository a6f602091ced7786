"""`sam build` makes a layer whose native modules run on Lambda's arm64 (aarch64).

Without Docker, packaging/Makefile (BuildMethod: makefile) asks pip for wheels of the
target platform (manylinux aarch64, cp313) and compiles with python3.13, so one must be
found; the build goes to a temporary directory and never touches the project's .aws-sam/
(tests/build/conftest.py: one build for every module that reads it).
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from devserver.template import load_template
from tests.build.sam_builds import Build
from tests.build.sam_builds import layer_logical_id as _layer_logical_id

pytestmark = [pytest.mark.build, pytest.mark.timeout(900)]

# "A few minutes": a fresh machine downloads ~15 MB of wheels; a warm pip cache takes ~30 s.
BUILD_BUDGET_SECONDS = 300

EM_AARCH64 = 183
EM_X86_64 = 62

# The native modules the layer cannot do without, by path inside python/.
REQUIRED_NATIVE = {
    "cffi": "_cffi_backend.*.so",
    "argon2 bindings": "_argon2_cffi_bindings/_ffi*.so",
    "pydantic-core": "pydantic_core/_pydantic_core*.so",
}


def elf_machine(path: Path) -> int:
    """e_machine of a 64-bit little-endian ELF file (offset 18)."""
    with path.open("rb") as handle:
        header = handle.read(20)
    assert header[:4] == b"\x7fELF", f"{path} is not an ELF file"
    assert header[4] == 2, f"{path} is not a 64-bit ELF"
    assert header[5] == 1, f"{path} is not little-endian"
    machine: int = struct.unpack_from("<H", header, 18)[0]
    return machine


def test_build_fits_in_a_few_minutes(build: Build):
    assert "Build Succeeded" in build.output
    assert build.seconds < BUILD_BUDGET_SECONDS, f"sam build took {build.seconds:.0f} s"


def test_layer_holds_the_domain_package(build: Build):
    python = build.directory / _layer_logical_id() / "python"
    assert (python / "kuploy_access" / "__init__.py").is_file()
    assert (python / "kuploy_access" / "wiring.py").is_file()
    # Only the pinned runtime dependencies: no test or dev tooling, and no
    # cryptography (PyJWT would import it when present; HS256 does not need it).
    for absent in ("moto", "pytest", "cryptography"):
        assert not (python / absent).exists(), f"{absent} is in the layer"


def test_every_native_module_is_aarch64(build: Build):
    python = build.directory / _layer_logical_id() / "python"
    shared_objects = sorted(python.rglob("*.so"))
    assert shared_objects, "the layer has no native modules at all"
    machines = {path.relative_to(python).as_posix(): elf_machine(path) for path in shared_objects}
    wrong = {name: machine for name, machine in machines.items() if machine != EM_AARCH64}
    assert not wrong, f"not aarch64 (183): {wrong}"
    for name in machines:
        assert "x86_64" not in name, name
        if ".cpython-" in name:
            assert ".cpython-313-" in name, f"{name} is built for another Python than 3.13"
    for what, pattern in REQUIRED_NATIVE.items():
        assert list(python.glob(pattern)), f"no {what} native module ({pattern}) in the layer: {sorted(machines)}"


def test_functions_are_built_with_their_handlers(build: Build):
    resources = load_template()["Resources"]
    functions = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    for logical_id in functions:
        assert (build.directory / logical_id / "app.py").is_file(), logical_id


def test_only_the_oauth_function_carries_the_oauth_libraries(build: Build):
    """functions/oauth/requirements.txt (its lock) is built into OAuthFunction alone, for aarch64."""
    resources = load_template()["Resources"]
    functions = [lid for lid, r in resources.items() if r["Type"] == "AWS::Serverless::Function"]
    oauth = build.directory / "OAuthFunction"
    for package in ("authlib", "joserfc", "requests", "cryptography"):
        assert (oauth / package / "__init__.py").is_file(), f"{package} is not in OAuthFunction"
    native = sorted(oauth.rglob("*.so"))
    assert native, "OAuthFunction has no native module (cryptography's Rust core)"
    wrong = {path.name: elf_machine(path) for path in native if elf_machine(path) != EM_AARCH64}
    assert not wrong, f"not aarch64 (183): {wrong}"
    for logical_id in functions:
        if logical_id != "OAuthFunction":
            assert not (build.directory / logical_id / "authlib").exists(), f"authlib is in {logical_id}"
