"""The functions' output, apart from the server's own (`--function-log FILE`).

On Lambda, what a function writes while it starts or runs (its JSON log lines, the EMF
metrics, a crash's traceback) is its CloudWatch log stream. Here every function runs
in the server's process, beside the server's own lines for the person at the terminal
(the banner, each request, and each sent email with its links, on purpose). With a
function log, `sys.stdout` and `sys.stderr` send what is written on a thread that is
running a function (`running_function`) to that file, and everything else to the
terminal as before; the end-to-end suite scans the file for secrets.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

_state = threading.local()


@contextmanager
def running_function() -> Iterator[None]:
    """What this thread writes until the block ends is a function's output."""
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    try:
        yield
    finally:
        _state.depth = depth


def _in_function() -> bool:
    return getattr(_state, "depth", 0) > 0


class SplitStream(io.TextIOBase):
    """One of the process's standard streams, sent to the function log or the terminal
    by who is writing. Handlers that kept the stream object (Powertools' logger keeps
    sys.stdout as it was at its creation) are routed too, on every write."""

    def __init__(self, terminal: TextIO, functions: TextIO) -> None:
        super().__init__()
        self.terminal = terminal
        self.functions = functions
        self._lines = threading.Lock()
        self._pending = threading.local()

    def write(self, text: str) -> int:
        if not _in_function():
            return self.terminal.write(text)
        # Whole lines only, one thread's at a time: `print` writes a line and its newline
        # separately, and the local server runs functions on several threads at once (on
        # Lambda a container runs one request), so two JSON lines could otherwise merge.
        pending = getattr(self._pending, "text", "") + text
        complete, newline, rest = pending.rpartition("\n")
        self._pending.text = rest
        if newline:
            self._write_lines(complete + newline)
        return len(text)

    def _write_lines(self, lines: str) -> None:
        with self._lines:
            self.functions.write(lines)
            self.functions.flush()  # a line a test may look for at once; the file is scanned as it stands

    def flush(self) -> None:
        self.terminal.flush()
        pending = getattr(self._pending, "text", "")
        if pending:
            self._pending.text = ""
            self._write_lines(pending)
        self.functions.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self.terminal.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.terminal.encoding


def send_function_output_to(path: Path) -> None:
    """From now on, the functions' output goes to `path` (appended; open until the
    process ends). Call it before any function is imported."""
    log = path.open("a", encoding="utf-8")
    sys.stdout = SplitStream(sys.stdout, log)
    sys.stderr = SplitStream(sys.stderr, log)


def terminal() -> TextIO:
    """The terminal's stdout, for the server's own lines printed while a function runs
    (a sent email is printed from inside the function that sent it)."""
    stdout = sys.stdout
    return stdout.terminal if isinstance(stdout, SplitStream) else stdout
