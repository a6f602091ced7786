"""Warm copies of each function, invoked as Lambda invokes them: `handler(event, context)`.

Like Lambda, a copy (a container) serves one request at a time; a request that finds
every copy busy gets a new one, a cold start, up to `max_copies` per function (Lambda's
reserved concurrency); past that it waits for a copy to come free. Without the cap, 50
concurrent clients made 50 copies of every function (each its own resolver and models,
some 20 MB) and the soak's local server grew past 15 GB; and the embedded DynamoDB runs
one request at a time, so more copies only wait longer. Each copy is its own import of the
handler module (`kuploy_function_<LogicalId>`, then `_1`, `_2`, ...), so state a
handler keeps on module-level objects for the current request (Powertools' resolver
does) is never shared between concurrent requests. What Powertools keeps on a class
rather than a module is handled by devserver.resolver_isolation.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from devserver.events import LambdaContext
from devserver.function_output import running_function
from devserver.resolver_isolation import isolate_concurrent_invocations
from devserver.template import FunctionSpec

Handler = Callable[[dict[str, Any], Any], Any]

# At least the concurrency the tests build on purpose (tests/integration/test_devserver_isolation.py
# holds four requests inside one function at once).
DEFAULT_MAX_COPIES = 8


def load_handler(function: FunctionSpec, instance: int = 0) -> Handler:
    """Import a function's module; each `instance` is a separate copy, like a Lambda container."""
    isolate_concurrent_invocations()
    path = function.code_dir / f"{function.module.replace('.', '/')}.py"
    name = f"kuploy_function_{function.logical_id}" + (f"_{instance}" if instance else "")
    if name in sys.modules:
        module = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            with running_function():  # the init phase's output is the function's
                spec.loader.exec_module(module)
        except BaseException:
            # A failed init leaves no half-made copy behind for the next request.
            del sys.modules[name]
            raise
    handler: Handler = getattr(module, function.handler)
    return handler


class Containers:
    """The warm copies of one function."""

    def __init__(self, function: FunctionSpec, max_copies: int = DEFAULT_MAX_COPIES) -> None:
        self.function = function
        self._max_copies = max(1, max_copies)
        self._idle: list[Handler] = []
        self._created = 0
        self._changed = threading.Condition()

    @property
    def created(self) -> int:
        return self._created

    @contextmanager
    def container(self) -> Iterator[Handler]:
        with self._changed:
            while not self._idle and self._created >= self._max_copies:
                self._changed.wait()
            if self._idle:
                handler: Handler | None = self._idle.pop()
            else:
                handler = None
                instance = self._created
                self._created += 1
        if handler is None:
            try:
                handler = load_handler(self.function, instance)
            except BaseException:
                with self._changed:
                    self._created -= 1
                    self._changed.notify()
                raise
        try:
            yield handler
        finally:
            with self._changed:
                self._idle.append(handler)
                self._changed.notify()


class Fleet:
    """Every function's containers, made on first use."""

    def __init__(self, max_copies: int = DEFAULT_MAX_COPIES) -> None:
        self._max_copies = max_copies
        self._containers: dict[str, Containers] = {}
        self._lock = threading.Lock()

    def _of(self, function: FunctionSpec) -> Containers:
        with self._lock:
            if function.logical_id not in self._containers:
                self._containers[function.logical_id] = Containers(function, self._max_copies)
            return self._containers[function.logical_id]

    def warm(self, function: FunctionSpec) -> None:
        """Start one container, as Lambda's init phase would, before the first request."""
        with self._of(function).container():
            pass

    def invoke(self, function: FunctionSpec, event: dict[str, Any]) -> Any:
        """One invocation on an idle container (a new one if all are busy and the cap allows,
        else the first to come free); exceptions propagate."""
        with self._of(function).container() as handler, running_function():
            return handler(event, LambdaContext(function.logical_id, timeout_seconds=function.timeout_seconds))
