"""Cold import of each function's module, in a fresh python3.13 shaped like Lambda's.

What is imported is what ships: the layer and the functions built by packaging/Makefile
(the targets `sam build` runs), for this machine's architecture, once per run
(`bench.lambda_tree`). A function's path is Lambda's: its own code, the layer, then the
runtime's boto3.

Each sample is one fresh process running
    sys.path[:0] = ['<function>', '<layer>/python', '<runtime>']; import app
and timing the import with perf_counter inside the process (the interpreter's own
start-up is excluded, for the function and for the baseline `import boto3` alike;
the whole-process wall time is shown beside it). Runs are interleaved, so drift in
the machine's speed touches every module alike; medians are compared.

Two byte-code situations, each against `import boto3` in the same situation:
- with byte code (as built): the .pyc files packaging/Makefile compiles, and nothing else
  (PYTHONDONTWRITEBYTECODE: no run writes any);
- without: a copy of the same tree with every __pycache__ left out, as `sam build`'s own
  python builder shipped them before (Lambda's /opt and /var/task are read-only, so such a
  cold start compiles every module it imports, every time).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from bench.lambda_tree import LambdaTree, built, without_byte_code
from bench.project import FUNCTIONS, ROOT, progress

BASELINE = "boto3"
WATCHED = ("argon2", "pyotp", "pydantic", "boto3", "pynamodb", "cryptography")


def _function_names() -> tuple[str, ...]:
    """Every function under functions/ (the authorizer first), so that a new function is
    measured, and judged, without anyone remembering to list it here."""
    names = sorted(path.name for path in FUNCTIONS.iterdir() if (path / "app.py").is_file())
    return ("authorizer", *(name for name in names if name != "authorizer"))


FUNCTION_NAMES = _function_names()

_PROGRAM = """\
import sys, time
sys.path[:0] = {paths!r}
started, cpu_started = time.perf_counter(), time.process_time()
import {module}
elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
loaded = [w for w in {watched!r} if any(m == w or m.startswith(w + ".") for m in list(sys.modules))]
print(repr(elapsed), repr(cpu), ",".join(loaded), len(sys.modules))
"""


@dataclass(frozen=True)
class Sample:
    seconds: float  # the import statement, wall clock
    cpu_seconds: float  # the same, CPU time of the process
    wall_seconds: float  # the whole process, seen from here
    loaded: tuple[str, ...]
    module_count: int


@dataclass
class ImportSamples:
    target: str
    seconds: list[float] = field(default_factory=list)
    wall_seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    source_cpu_seconds: list[float] = field(default_factory=list)
    loaded: tuple[str, ...] = ()
    module_count: int = 0

    @property
    def median_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def wall_median_ms(self) -> float:
        return statistics.median(self.wall_seconds) * 1000

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu_seconds) * 1000

    @property
    def source_cpu_median_ms(self) -> float:
        return statistics.median(self.source_cpu_seconds) * 1000

    @property
    def byte_code_ratio(self) -> float:
        """With byte code / without, in CPU time: what compiling at build time leaves of
        this import. CPU time, not wall time: on a shared machine a process waits for a
        core for a while that has nothing to do with byte code."""
        return self.cpu_median_ms / self.source_cpu_median_ms


@dataclass
class ImportResults:
    environment: LambdaTree
    repeats: int
    source_repeats: int
    samples: dict[str, ImportSamples]

    def ratio(self, target: str) -> float:
        return self.samples[target].median_ms / self.samples[BASELINE].median_ms

    def wall_ratio(self, target: str) -> float:
        return self.samples[target].wall_median_ms / self.samples[BASELINE].wall_median_ms

    def source_cpu_ratio(self, target: str) -> float:
        return self.samples[target].source_cpu_median_ms / self.samples[BASELINE].source_cpu_median_ms


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


def _sample(tree: LambdaTree, target: str, env: dict[str, str]) -> Sample:
    paths = tree.path_for(None if target == BASELINE else target)
    module = "boto3" if target == BASELINE else "app"
    program = _PROGRAM.format(paths=paths, module=module, watched=WATCHED)
    started = time.perf_counter()
    result = subprocess.run(
        [str(tree.python), "-s", "-B", "-c", program],
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
    elapsed, cpu, loaded, count = result.stdout.strip().splitlines()[-1].split(" ")
    return Sample(float(elapsed), float(cpu), wall, tuple(n for n in loaded.split(",") if n), int(count))


def _rotations(targets: list[str], repeats: int) -> Iterator[list[str]]:
    for index in range(repeats):
        shift = index % len(targets)
        yield targets[shift:] + targets[:shift]


# One import's CPU time spreads over ±30% from run to run on the 2-core machine (`import
# boto3`: 136-257 ms within one run), so 7 runs of each moved a handler's ratio between 1.2
# and 1.7 from one `make bench` to the next; 15 hold it within a few hundredths.
IMPORT_REPEATS = 15


def run(repeats: int = IMPORT_REPEATS, source_repeats: int = 5) -> ImportResults:
    targets = [BASELINE, *FUNCTION_NAMES]
    samples = {target: ImportSamples(target) for target in targets}
    env = lambda_environment({"PYTHONDONTWRITEBYTECODE": "1"})
    started = time.monotonic()
    with built(FUNCTION_NAMES) as tree, without_byte_code(tree) as sources:
        progress(f"built in {time.monotonic() - started:.0f} s")
        for target in targets:  # the first read of each file from disk; not recorded
            _sample(tree, target, env)
        for index, order in enumerate(_rotations(targets, repeats)):
            for target in order:
                sample = _sample(tree, target, env)
                samples[target].seconds.append(sample.seconds)
                samples[target].cpu_seconds.append(sample.cpu_seconds)
                samples[target].wall_seconds.append(sample.wall_seconds)
                samples[target].loaded = sample.loaded
                samples[target].module_count = sample.module_count
                if index < source_repeats:
                    samples[target].source_cpu_seconds.append(_sample(sources, target, env).cpu_seconds)
        progress(f"imports: {repeats} interleaved runs of each module with byte code, {source_repeats} without")
    return ImportResults(tree, repeats, source_repeats, samples)


def loaded_by_authorizer_here() -> tuple[str, ...]:
    """The watched packages the authorizer's module loads, imported in a fresh process of
    this interpreter from the source tree (the fast gate's check: no build needed; what it
    imports does not depend on how it was packaged)."""
    from bench.project import SHARED

    program = _PROGRAM.format(paths=[str(FUNCTIONS / "authorizer"), str(SHARED)], module="app", watched=WATCHED)
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=lambda_environment({"PYTHONDONTWRITEBYTECODE": "1"}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"importing the authorizer failed:\n{result.stderr[-3000:]}")
    loaded = result.stdout.strip().splitlines()[-1].split(" ")[2]
    return tuple(name for name in loaded.split(",") if name)
