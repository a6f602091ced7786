"""The layer and the functions as `sam build` makes them, built for this machine.

`sam build` makes them for Lambda's arm64, which this machine cannot import. The same make
targets (packaging/Makefile) with LAMBDA_ARCH set to this machine's architecture give the
same tree: the locked dependencies, kuploy_access and each function, compiled for
python3.13 as they ship. Built once per bench run, into a temporary directory.

Beside them, `runtime/` stands in for the Lambda runtime's own directory (/var/runtime),
which provides boto3 and s3transfer (the baseline `import boto3` runs on it alone; a
function finds the layer's pinned pair first): the development lock's versions, compiled
the same way. A function's path is Lambda's
order: its own code, then the layer, then the runtime.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.project import FUNCTIONS, ROOT, SHARED, find_python313, progress

MAKEFILE = ROOT / "packaging" / "Makefile"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
RUNTIME_PACKAGES = ("boto3", "s3transfer")


@dataclass(frozen=True)
class LambdaTree:
    python: Path  # a python3.13 with no site-packages of its own (a bare venv)
    version: str
    root: Path

    @property
    def layer(self) -> Path:
        return self.root / "layer" / "python"

    @property
    def runtime(self) -> Path:
        return self.root / "runtime"

    def function(self, name: str) -> Path:
        return self.root / "functions" / name

    def path_for(self, name: str | None) -> list[str]:
        """sys.path's head for a function (None: the bare runtime, for `import boto3`)."""
        code = [] if name is None else [str(self.function(name))]
        return [*code, str(self.layer), str(self.runtime)]


def _architecture() -> str:
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def _run(command: list[str], cwd: Path, what: str) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{(result.stdout + result.stderr)[-4000:]}")


def _make(python313: Path, target: str, cwd: Path, artifacts: Path) -> None:
    artifacts.mkdir(parents=True, exist_ok=True)
    command = ["make", "-s", "--no-print-directory", "-f", str(MAKEFILE), target]
    command += [f"ARTIFACTS_DIR={artifacts}", f"LAMBDA_ARCH={_architecture()}", f"PY313={python313}"]
    _run(command, cwd, f"make {target}")


def _runtime_requirements(destination: Path) -> Path:
    """boto3's and s3transfer's entries of the development lock, hashes and all."""
    kept: list[str] = []
    keeping = False
    for line in DEV_LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith(" "):
            keeping = line.split("==", 1)[0].strip().lower() in RUNTIME_PACKAGES
        if keeping and not line.lstrip().startswith("#"):
            kept.append(line)
    destination.write_text("\n".join(kept) + "\n", encoding="utf-8")
    return destination


def _install_runtime(python313: Path, root: Path) -> None:
    requirements = _runtime_requirements(root / "runtime-requirements.txt")
    pip = [str(python313), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    pip += ["--root-user-action=ignore", "--no-compile", "--no-deps", "--require-hashes"]
    _run([*pip, "--target", str(root / "runtime"), "-r", str(requirements)], ROOT, "installing boto3")
    compileall = [str(python313), "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    _run([*compileall, str(root / "runtime")], ROOT, "compiling boto3")


@contextmanager
def built(function_names: tuple[str, ...]) -> Iterator[LambdaTree]:
    python313 = find_python313()
    if python313 is None:
        raise RuntimeError("make bench builds the Lambda tree with python3.13, and none was found (set PYTHON313)")
    with tempfile.TemporaryDirectory(prefix="kuploy-bench-tree-") as directory:
        root = Path(directory)
        progress(f"building the layer and {len(function_names)} functions for {_architecture()} (packaging/Makefile)")
        _make(python313, "build-SharedLayer", SHARED, root / "layer")
        for name in function_names:
            _make(python313, f"build-{name}Function", FUNCTIONS / name, root / "functions" / name)
        _install_runtime(python313, root)
        _run([str(python313), "-m", "venv", "--without-pip", str(root / "venv")], ROOT, "making a venv")
        version = subprocess.run(
            [str(python313), "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        yield LambdaTree(root / "venv" / "bin" / "python", version, root)


@contextmanager
def without_byte_code(tree: LambdaTree) -> Iterator[LambdaTree]:
    """The same tree with every __pycache__ left out: what a cold start compiles without it."""
    with tempfile.TemporaryDirectory(prefix="kuploy-bench-sources-") as directory:
        copy = Path(directory)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for part in ("layer", "runtime", "functions"):
            shutil.copytree(tree.root / part, copy / part, ignore=ignore)
        yield LambdaTree(tree.python, tree.version, copy)
