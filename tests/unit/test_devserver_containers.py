"""The local server's warm copies of a function: one request per copy, at most
`max_copies` copies, later requests wait for one to come free (devserver/containers.py)."""

from __future__ import annotations

import textwrap
import threading
import time
from pathlib import Path

import pytest

from devserver.containers import Containers
from devserver.template import FunctionSpec

PROBE = """
import threading
inside = threading.Semaphore(0)
release = threading.Event()

def handler(event, context):
    inside.release()
    release.wait(10)
    return event
"""


@pytest.fixture
def function(tmp_path: Path) -> FunctionSpec:
    (tmp_path / "app.py").write_text(textwrap.dedent(PROBE), encoding="utf-8")
    return FunctionSpec(logical_id=f"CapProbe{id(tmp_path)}", code_dir=tmp_path, module="app", handler="handler")


def test_busy_copies_past_the_cap_make_requests_wait_not_new_copies(function: FunctionSpec):
    containers = Containers(function, max_copies=2)
    results: list[int] = []
    started: list[threading.Thread] = []
    modules: list[object] = []

    def invoke(index: int) -> None:
        with containers.container() as handler:
            modules.append(handler.__globals__["release"])  # type: ignore[attr-defined]
            results.append(handler(index, None))

    for index in range(3):
        thread = threading.Thread(target=invoke, args=(index,))
        thread.start()
        started.append(thread)
    # Two copies hold a request each; the third request waits rather than making a third.
    deadline = time.monotonic() + 10
    while len(modules) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert containers.created == 2
    assert len(modules) == 2
    for release in {id(m): m for m in modules}.values():
        release.set()  # type: ignore[attr-defined]
    for thread in started:
        thread.join(10)
    assert sorted(results) == [0, 1, 2]
    assert containers.created == 2


def test_a_copy_that_fails_to_start_frees_its_place(tmp_path: Path):
    (tmp_path / "app.py").write_text("raise RuntimeError('init failed')\n", encoding="utf-8")
    broken = FunctionSpec(logical_id=f"Broken{id(tmp_path)}", code_dir=tmp_path, module="app", handler="handler")
    containers = Containers(broken, max_copies=1)
    for _ in range(2):
        with pytest.raises(RuntimeError), containers.container():
            pass
    assert containers.created == 0
