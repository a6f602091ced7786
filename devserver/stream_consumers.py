"""Lambda's event source mappings on the table's stream, locally: what template.yaml
declares as a function's `Type: DynamoDB` event (devserver/template.py) is polled by one
background thread and invoked as Lambda invokes it.

As on Lambda: records pass the mapping's FilterCriteria or are dropped; matching ones
reach the function in batches of BatchSize, oldest first, with `{"Records": [...]}`; a
partial batch response (ReportBatchItemFailures) retries from the lowest failed record,
an exception retries the whole batch; after MaximumRetryAttempts the batch goes to the
on-failure destination (here: printed, and kept in `failures`). The shard waits while a
batch is retried, as a Lambda shard does.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devserver.local_stream import LocalStream
from devserver.template import FunctionSpec, StreamSourceSpec

Invoke = Callable[[FunctionSpec, dict[str, Any]], Any]
# Lambda's default MaximumRetryAttempts is -1 (until the record expires): locally, a few.
LOCAL_RETRY_LIMIT = 3
POLL_INTERVAL_S = 0.1
_READ_LIMIT = 1000


# --- FilterCriteria patterns (Lambda event filtering) ---------------------------------------------


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether `event` passes one filter pattern: every field the pattern names matches
    (nested objects recursively; a list of values or operators: any one of them)."""
    for name, rule in pattern.items():
        present = name in event
        value = event.get(name)
        if isinstance(rule, Mapping):
            if not isinstance(value, Mapping) or not matches(rule, value):
                return False
        elif isinstance(rule, list):
            if not any(_matches_one(option, present, value) for option in rule):
                return False
        else:
            raise ValueError(f"a filter pattern's field must be an object or a list, not {rule!r}")
    return True


def _matches_one(option: Any, present: bool, value: Any) -> bool:
    if isinstance(option, Mapping):
        if set(option) == {"exists"}:
            return present is bool(option["exists"])
        if set(option) == {"prefix"}:
            return isinstance(value, str) and value.startswith(str(option["prefix"]))
        if set(option) == {"anything-but"}:
            excluded = option["anything-but"]
            return present and value not in (excluded if isinstance(excluded, list) else [excluded])
        raise ValueError(f"filter operator not supported by the local server: {option!r}")
    return present and value == option


# --- one event source mapping ----------------------------------------------------------------------


@dataclass(frozen=True)
class FailedBatch:
    """What the on-failure destination would receive about a batch given up on."""

    function: str
    first_sequence: str
    last_sequence: str
    records: int
    reason: str


class StreamConsumer:
    def __init__(self, source: StreamSourceSpec, stream: LocalStream, invoke: Invoke, retry_delay_s: float = 0.05):
        self.source = source
        self.stream = stream
        self.invoke = invoke
        self.retry_delay_s = retry_delay_s
        # From the newest record, unlike the template's TRIM_HORIZON: the local stream is born
        # with the process, and what came before it (a --state file's items) is no change.
        self.position = stream.latest()
        self.failures: list[FailedBatch] = []
        retries = source.maximum_retry_attempts
        self.retry_limit = retries if retries >= 0 else LOCAL_RETRY_LIMIT

    def poll(self) -> int:
        """Hand the function what was written since the last poll; answers how many
        records were read (matching or not)."""
        records = self.stream.read_after(self.position, _READ_LIMIT)
        wanted = [r for r in records if self._wanted(r)]
        size = max(1, self.source.batch_size)
        for start in range(0, len(wanted), size):
            self._deliver(wanted[start : start + size])
        if records:
            self.position = _sequence(records[-1])
        return len(records)

    def _wanted(self, record: Mapping[str, Any]) -> bool:
        filters = self.source.filters
        return not filters or any(matches(pattern, record) for pattern in filters)

    def _deliver(self, batch: list[dict[str, Any]]) -> None:
        attempts = 0
        while True:
            try:
                result = self.invoke(self.source.function, {"Records": batch})
                failed, reason = self._failed_part(result, batch), "partial batch failure"
            except Exception as error:  # the function failed: the whole batch again
                traceback.print_exc()
                failed, reason = batch, f"function error: {type(error).__name__}"
            if not failed:
                return
            if attempts >= self.retry_limit:
                self._give_up(failed, reason)
                return
            attempts += 1
            batch = failed
            time.sleep(self.retry_delay_s * 2 ** (attempts - 1))

    def _failed_part(self, result: Any, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The records to retry: from the lowest reported failure on (Lambda checkpoints
        before it). An identifier that names no record of the batch fails it whole."""
        if not self.source.report_batch_item_failures or not isinstance(result, Mapping):
            return []
        reported = [str((f or {}).get("itemIdentifier") or "") for f in result.get("batchItemFailures") or []]
        if not reported:
            return []
        numbers = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(batch)}
        if any(identifier not in numbers for identifier in reported):
            return batch
        return batch[min(numbers[identifier] for identifier in reported) :]

    def _give_up(self, batch: list[dict[str, Any]], reason: str) -> None:
        failed = FailedBatch(
            function=self.source.function.logical_id,
            first_sequence=batch[0]["dynamodb"]["SequenceNumber"],
            last_sequence=batch[-1]["dynamodb"]["SequenceNumber"],
            records=len(batch),
            reason=reason,
        )
        self.failures.append(failed)
        print(f"stream records sent to the on-failure destination: {failed}", flush=True)


def _sequence(record: Mapping[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


# --- every mapping of the template, on one thread ------------------------------------------------


class StreamConsumers:
    def __init__(self, sources: list[StreamSourceSpec], table_name: str, invoke: Invoke) -> None:
        stream = LocalStream(table_name)
        self.stream = stream
        self.consumers = [StreamConsumer(source, stream, invoke) for source in sources]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._polling = threading.Lock()

    def poll(self) -> int:
        """One round: every consumer reads what is new; what all of them read is trimmed."""
        with self._polling:
            read = sum(consumer.poll() for consumer in self.consumers)
            if self.consumers:
                self.stream.trim_through(min(consumer.position for consumer in self.consumers))
            return read

    def drain(self, timeout_s: float = 120.0) -> None:
        """Poll until a round finds nothing new (a run that hands work over writes new
        records, which the next round delivers)."""
        deadline = time.monotonic() + timeout_s
        while self.poll():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the table's stream still had records after {timeout_s} s")

    def failures(self) -> list[FailedBatch]:
        return [failed for consumer in self.consumers for failed in consumer.failures]

    def start(self, interval_s: float = POLL_INTERVAL_S) -> StreamConsumers:
        def run() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.poll()
                except Exception:  # a bug here must not end the polling
                    traceback.print_exc()

        self._thread = threading.Thread(target=run, name="stream-consumers", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
