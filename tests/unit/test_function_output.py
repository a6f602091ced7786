"""The local server's function log: each line whole, whatever the threads."""

from __future__ import annotations

import io
import json
import sys
import threading

from devserver.function_output import SplitStream, running_function

THREADS = 8
LINES = 300


def test_lines_printed_by_functions_on_many_threads_stay_whole() -> None:
    terminal, log = io.StringIO(), io.StringIO()
    stream = SplitStream(terminal, log)
    start = threading.Barrier(THREADS)

    def function(number: int) -> None:
        start.wait()
        with running_function():
            for line in range(LINES):
                # As Powertools' EMF output does: the line, then its newline, in two writes.
                print(json.dumps({"thread": number, "line": line, "padding": "x" * 200}), file=stream)

    threads = [threading.Thread(target=function, args=(number,)) for number in range(THREADS)]
    switching = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two writes, as under load
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(switching)

    written = [json.loads(line) for line in log.getvalue().splitlines()]
    assert len(written) == THREADS * LINES
    assert terminal.getvalue() == ""


def test_a_line_without_its_newline_is_written_by_flush() -> None:
    log = io.StringIO()
    stream = SplitStream(io.StringIO(), log)
    with running_function():
        stream.write("a traceback's last line")
        assert log.getvalue() == ""
        stream.flush()
    assert log.getvalue() == "a traceback's last line"


def test_what_no_function_writes_goes_to_the_terminal() -> None:
    terminal, log = io.StringIO(), io.StringIO()
    print("Kuploy Access on http://127.0.0.1:3000", file=SplitStream(terminal, log))
    assert terminal.getvalue() == "Kuploy Access on http://127.0.0.1:3000\n"
    assert log.getvalue() == ""
