"""What `sam build` ships: python3.13 byte code for every module, the same bytes from every
build of one commit, and exactly the locked dependencies (packaging/Makefile).

Lambda's /opt and /var/task are read-only, so a module that ships without its .pyc is
compiled again on every cold start. The .pyc files are hash-based and unchecked: no
timestamps in them (so two builds agree byte for byte), and no stat() of the source at
import. Their recorded file names are Lambda's paths, not the build machine's.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import subprocess
from email.parser import Parser
from pathlib import Path

import pytest

from tests.build.helpers import find_python313
from tests.build.locks import OAUTH_LOCK, REQUIREMENTS, locked_pins, normalise
from tests.build.sam_builds import Build, function_logical_ids, layer_logical_id, sam_build

pytestmark = [pytest.mark.build, pytest.mark.timeout(900)]

PYC_SUFFIX = ".cpython-313.pyc"
# importlib's magic number of 3.13: what the Lambda runtime's python3.13 accepts.
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"
# PEP 552 flags: bit 0 = hash-based, bit 1 = check the source.
UNCHECKED_HASH = 0b01


_SOURCE_HASHES = """
import importlib.util, json, sys
paths = json.load(sys.stdin)
print(json.dumps({p: importlib.util.source_hash(open(p, "rb").read()).hex() for p in paths}))
"""


def source_hashes_313(sources: list[Path]) -> dict[Path, bytes]:
    """What python3.13 records for each source (its hash is keyed by the interpreter's magic
    number, so this Python cannot compute it)."""
    python313 = find_python313()
    assert python313 is not None, "the build found one"
    answer = subprocess.run(
        [str(python313), "-I", "-c", _SOURCE_HASHES],
        input=json.dumps([str(p) for p in sources]),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return {Path(p): bytes.fromhex(h) for p, h in json.loads(answer.stdout).items()}


def tree_digests(directory: Path) -> dict[str, str]:
    """Every file under directory (relative path -> sha256 of its bytes)."""
    return {
        path.relative_to(directory).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def artifact_roots(build: Build) -> dict[str, tuple[Path, str]]:
    """Each artifact's code root and the path Lambda mounts it under."""
    layer = layer_logical_id()
    roots = {layer: (build.directory / layer / "python", "/opt/python")}
    roots |= {lid: (build.directory / lid, "/var/task") for lid in function_logical_ids()}
    return roots


def test_two_builds_are_byte_identical(build: Build, tmp_path_factory: pytest.TempPathFactory):
    again = sam_build(tmp_path_factory.mktemp("sam-build-again"))
    for logical_id in [layer_logical_id(), *function_logical_ids()]:
        first, second = tree_digests(build.directory / logical_id), tree_digests(again.directory / logical_id)
        assert first, f"{logical_id} is empty"
        assert first.keys() == second.keys(), f"{logical_id}: {sorted(first.keys() ^ second.keys())[:10]}"
        differ = sorted(name for name in first if first[name] != second[name])
        assert not differ, f"{logical_id} differs between two builds: {differ[:10]}"


def test_every_module_ships_its_python313_byte_code(build: Build):
    for logical_id, (root, lambda_path) in artifact_roots(build).items():
        sources = sorted(root.rglob("*.py"))
        assert sources, logical_id
        missing = [
            path.relative_to(root).as_posix()
            for path in sources
            if not (path.parent / "__pycache__" / f"{path.stem}{PYC_SUFFIX}").is_file()
        ]
        assert not missing, f"{logical_id}: {len(missing)} modules without byte code, e.g. {missing[:10]}"
        others = [p.name for p in root.rglob("*.pyc") if not p.name.endswith(PYC_SUFFIX) or ".opt-" in p.name]
        assert not others, f"{logical_id} ships byte code of another Python: {others[:10]}"
        assert not list(root.rglob("*.pyo")), logical_id
        # The handler's own module: compiled for 3.13, unchecked hash, named as Lambda sees it.
        module = root / "app.py" if lambda_path == "/var/task" else root / "kuploy_access" / "wiring.py"
        pyc = (module.parent / "__pycache__" / f"{module.stem}{PYC_SUFFIX}").read_bytes()
        assert pyc[:4] == MAGIC_313, logical_id
        assert int.from_bytes(pyc[4:8], "little") == UNCHECKED_HASH, logical_id
        code = marshal.loads(pyc[16:])  # noqa: S302 (our own build output)
        assert code.co_filename == f"{lambda_path}/{module.relative_to(root).as_posix()}", logical_id


def test_no_byte_code_is_stale(build: Build):
    """Unchecked .pyc files are trusted blindly: each must be of the very source beside it."""
    for logical_id, (root, _) in artifact_roots(build).items():
        compiled = {
            pyc.parent.parent / (pyc.name.removesuffix(PYC_SUFFIX) + ".py"): pyc for pyc in root.rglob(f"*{PYC_SUFFIX}")
        }
        expected = source_hashes_313(sorted(compiled))
        stale = sorted(
            source.relative_to(root).as_posix()
            for source, pyc in compiled.items()
            if pyc.read_bytes()[8:16] != expected[source]
        )
        assert not stale, f"{logical_id}: {stale[:10]}"


def _installed(site: Path) -> dict[str, str]:
    """Distribution name (normalised) -> version, from the .dist-info directories pip wrote."""
    found: dict[str, str] = {}
    for metadata in site.glob("*.dist-info/METADATA"):
        headers = Parser().parsestr(metadata.read_text(encoding="utf-8"), headersonly=True)
        found[normalise(headers["Name"])] = headers["Version"]
    return found


def test_the_layer_holds_exactly_its_lock(build: Build):
    layer = build.directory / layer_logical_id() / "python"
    assert _installed(layer) == locked_pins(REQUIREMENTS / "layer.txt")
    # Scripts pip writes name the build machine's interpreter; Cryptodome's SelfTest is its test suite.
    assert not (layer / "bin").exists()
    assert not (layer / "Cryptodome" / "SelfTest").exists()


def test_the_oauth_function_holds_exactly_its_lock(build: Build):
    oauth = build.directory / "OAuthFunction"
    assert _installed(oauth) == locked_pins(OAUTH_LOCK)
    assert not (oauth / "requirements.txt").exists(), "the lock is not code"
