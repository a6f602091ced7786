"""Cold import of each function's module, in a fresh interpreter shaped like Lambda's.

The environment is `.venv-bench/`: a venv of the Lambda runtime's Python (3.13 when
one can be found) whose `layer/python` holds shared/requirements.txt and nothing
else, installed as the layer is (no moto, no cryptography: PyJWT imports
cryptography when it is present, and the layer does not ship it). It is made once
and remade when requirements.txt or the interpreter changes.

Each sample is one fresh process running
    sys.path[:0] = ['functions/<name>', 'shared', '<layer>']; import app
and timing the import with perf_counter inside the process (the interpreter's own
start-up is excluded, for the function and for the baseline `import boto3` alike;
the whole-process wall time is shown beside it). Runs are interleaved, so drift in
the machine's speed touches every module alike; medians are compared.

Two byte-code situations are measured:
- `.pyc` present (the judged figure): compiled byte code is read from a cache
  under .venv-bench/pycache, warmed by one unrecorded run of each target;
- no `.pyc` (informational): sources only, the way `sam build` ships the layer
  and the functions (it compiles nothing, and Lambda's /opt and /var/task are
  read-only, so every cold start compiles what it imports).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.project import FUNCTIONS, REQUIREMENTS, ROOT, SHARED, find_python313, progress

BASELINE = "boto3"
WATCHED = ("argon2", "pyotp", "pydantic", "boto3", "pynamodb", "cryptography")
FORBIDDEN_IN_AUTHORIZER = ("argon2", "pyotp", "pydantic")

BENCH_VENV = ROOT / ".venv-bench"
LAYER = BENCH_VENV / "layer" / "python"
PYCACHE = BENCH_VENV / "pycache"
MARKER = BENCH_VENV / ".layer-installed"


def _function_names() -> tuple[str, ...]:
    """Every function under functions/ (the authorizer first), so that a new function is
    measured, and judged, without anyone remembering to list it here."""
    names = sorted(path.name for path in FUNCTIONS.iterdir() if (path / "app.py").is_file())
    return ("authorizer", *(name for name in names if name != "authorizer"))


FUNCTION_NAMES = _function_names()

_PROGRAM = """\
import sys, time
sys.path[:0] = {paths!r}
started = time.perf_counter()
import {module}
elapsed = time.perf_counter() - started
loaded = [w for w in {watched!r} if any(m == w or m.startswith(w + ".") for m in list(sys.modules))]
print(repr(elapsed), ",".join(loaded), len(sys.modules))
"""


@dataclass(frozen=True)
class LayerEnvironment:
    python: Path
    version: str


@dataclass
class ImportSamples:
    target: str
    seconds: list[float] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    source_seconds: list[float] = field(default_factory=list)
    loaded: tuple[str, ...] = ()
    module_count: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def wall_median_ms(self) -> float:
        return statistics.median(self.wall_seconds) * 1000

    @property
    def source_median_ms(self) -> float:
        return statistics.median(self.source_seconds) * 1000


@dataclass
class ImportResults:
    environment: LayerEnvironment
    repeats: int
    source_repeats: int
    samples: dict[str, ImportSamples]

    def ratio(self, target: str) -> float:
        return self.samples[target].median_ms / self.samples[BASELINE].median_ms

    def wall_ratio(self, target: str) -> float:
        return self.samples[target].wall_median_ms / self.samples[BASELINE].wall_median_ms

    def source_ratio(self, target: str) -> float:
        return self.samples[target].source_median_ms / self.samples[BASELINE].source_median_ms


def _run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def ensure_environment() -> LayerEnvironment:
    """The cached layer-like environment, (re)made when its inputs changed."""
    base = find_python313() or Path(getattr(sys, "_base_executable", sys.executable))
    version = subprocess.run(
        [str(base), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    digest = hashlib.sha256(REQUIREMENTS.read_bytes() + f"\n{base}\n{version}".encode()).hexdigest()
    python = BENCH_VENV / "bin" / "python"
    if MARKER.is_file() and MARKER.read_text(encoding="utf-8").strip() == digest and python.exists():
        return LayerEnvironment(python, version)

    progress(f"creating {BENCH_VENV.name}/ with Python {version} and shared/requirements.txt (once)")
    shutil.rmtree(BENCH_VENV, ignore_errors=True)
    _run([str(base), "-m", "venv", str(BENCH_VENV)])
    _run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(LAYER),
            "-r",
            str(REQUIREMENTS),
        ]
    )
    MARKER.write_text(digest + "\n", encoding="utf-8")
    return LayerEnvironment(python, version)


def lambda_environment(extra: dict[str, str]) -> dict[str, str]:
    """A clean environment like a function's: the template's variables, nothing from this shell."""
    from devserver.embedded_aws import LOCAL_ENVIRONMENT
    from devserver.template import api_spec

    template_literals = {k: v for k, v in api_spec().environment.items() if isinstance(v, str)}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(ROOT)),
        "LANG": "C.UTF-8",
        "AWS_LAMBDA_FUNCTION_NAME": "kuploy-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        **LOCAL_ENVIRONMENT,
        **template_literals,
        "PUBLIC_BASE_URL": "https://access.bench.local",
    }
    return env | extra


def _paths(target: str, shared: Path, functions: Path) -> tuple[list[str], str]:
    if target == BASELINE:
        return [str(LAYER)], "boto3"
    return [str(functions / target), str(shared), str(LAYER)], "app"


def _sample(
    environment: LayerEnvironment, target: str, env: dict[str, str], shared: Path, functions: Path
) -> tuple[float, float, tuple[str, ...], int]:
    paths, module = _paths(target, shared, functions)
    program = _PROGRAM.format(paths=paths, module=module, watched=WATCHED)
    started = time.perf_counter()
    result = subprocess.run(
        [str(environment.python), "-s", "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"importing {target} failed:\n{result.stderr[-3000:]}")
    elapsed, loaded, count = result.stdout.strip().splitlines()[-1].split(" ")
    return float(elapsed), wall, tuple(n for n in loaded.split(",") if n), int(count)


def _rotations(targets: list[str], repeats: int) -> Iterator[list[str]]:
    for index in range(repeats):
        shift = index % len(targets)
        yield targets[shift:] + targets[:shift]


@contextmanager
def _source_only_copy() -> Iterator[tuple[Path, Path]]:
    """shared/ and functions/ without any __pycache__, in a throw-away directory."""
    with tempfile.TemporaryDirectory(prefix="kuploy-bench-") as directory:
        root = Path(directory)
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        shutil.copytree(SHARED / "kuploy_access", root / "shared" / "kuploy_access", ignore=ignore)
        shutil.copytree(FUNCTIONS, root / "functions", ignore=ignore)
        yield root / "shared", root / "functions"


def run(repeats: int = 7, source_repeats: int = 3) -> ImportResults:
    environment = ensure_environment()
    targets = [BASELINE, *FUNCTION_NAMES]
    samples = {target: ImportSamples(target) for target in targets}

    compiled = lambda_environment({"PYTHONPYCACHEPREFIX": str(PYCACHE)})
    for target in targets:  # warm the byte-code cache; not recorded
        _sample(environment, target, compiled, SHARED, FUNCTIONS)
    for order in _rotations(targets, repeats):
        for target in order:
            elapsed, wall, loaded, count = _sample(environment, target, compiled, SHARED, FUNCTIONS)
            samples[target].seconds.append(elapsed)
            samples[target].wall_seconds.append(wall)
            samples[target].loaded = loaded
            samples[target].module_count = count
    progress(f"imports: {repeats} interleaved runs of each module with .pyc")

    source_only = lambda_environment({"PYTHONDONTWRITEBYTECODE": "1"})
    with _source_only_copy() as (shared, functions):
        for order in _rotations(targets, source_repeats):
            for target in order:
                elapsed, _, _, _ = _sample(environment, target, source_only, shared, functions)
                samples[target].source_seconds.append(elapsed)
    progress(f"imports: {source_repeats} interleaved runs of each module without .pyc")
    return ImportResults(environment, repeats, source_repeats, samples)
