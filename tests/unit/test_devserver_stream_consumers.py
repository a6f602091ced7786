"""The local server's stand-in for Lambda's event source mappings on the table's stream:
the template's mapping as read, its filter, batches, partial failures and retries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devserver.stream_consumers import StreamConsumer, StreamConsumers, matches
from devserver.template import FunctionSpec, StreamSourceSpec, api_spec
from kuploy_access.domain.org_purge import PURGE_TIME_RESERVE_MS


def record(
    sequence: int, event: str = "MODIFY", sk: str = "ORG", image: dict[str, Any] | None = None
) -> dict[str, Any]:
    change: dict[str, Any] = {"Keys": {"pk": {"S": "ORG#org_01a"}, "sk": {"S": sk}}, "SequenceNumber": str(sequence)}
    if image is not None:
        change["NewImage"] = {"pk": {"S": "ORG#org_01a"}, "sk": {"S": sk}, **image}
    return {"eventName": event, "eventSource": "aws:dynamodb", "dynamodb": change}


DELETED = {"org_id": {"S": "org_01a"}, "deleted_at": {"S": "2025-03-01T09:30:00.000000+0000"}}
LIVE = {"org_id": {"S": "org_01a"}, "name": {"S": "Acme"}}


def purge_source() -> StreamSourceSpec:
    (source,) = api_spec().stream_sources
    return source


# --- the template ---------------------------------------------------------------------------------


def test_the_purge_is_the_one_consumer_of_the_table_s_stream_as_the_template_declares_it():
    source = purge_source()

    assert source.function.logical_id == "OrgPurgeFunction"
    assert source.batch_size == 10
    assert source.report_batch_item_failures
    assert source.maximum_retry_attempts == 5
    assert api_spec().table["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    # A run keeps PURGE_TIME_RESERVE_MS to hand over: most of its Timeout is left for work.
    assert source.function.timeout_seconds * 1000 >= 5 * PURGE_TIME_RESERVE_MS


def test_the_purge_s_filter_keeps_the_deletion_mark_and_the_hand_overs_only():
    (pattern,) = purge_source().filters

    def kept(r: dict[str, Any]) -> bool:
        return matches(pattern, r)

    assert kept(record(1, image=DELETED)), "the mark"
    assert kept(record(2, image={**DELETED, "purge_handovers": {"N": "1"}})), "a hand-over"
    assert not kept(record(3, image=LIVE)), "a rename of a live organization"
    assert not kept(record(4, event="INSERT", image=LIVE)), "a new organization"
    assert not kept(record(5, event="REMOVE")), "the purge's last step"
    assert not kept(record(6, sk="MEMBER#usr_01a", image={**DELETED})), "another item of the partition"


def test_filter_operators():
    assert matches({"a": {"b": [{"prefix": "ORG#"}]}}, {"a": {"b": "ORG#1"}})
    assert not matches({"a": {"b": [{"prefix": "ORG#"}]}}, {"a": {"b": "USER#1"}})
    assert matches({"a": [{"exists": False}]}, {"b": 1})
    assert not matches({"a": [{"exists": False}]}, {"a": 1})
    assert matches({"a": [{"anything-but": ["x"]}]}, {"a": "y"})
    assert not matches({"a": [{"anything-but": ["x"]}]}, {"a": "x"})
    assert matches({"a": ["x", "y"]}, {"a": "y"})
    assert not matches({"a": {"b": ["x"]}}, {"a": "not an object"})
    with pytest.raises(ValueError, match="not supported"):
        matches({"a": [{"numeric": [">", 1]}]}, {"a": 2})


# --- one mapping, on a stream in memory -------------------------------------------------------------


class MemoryStream:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.trimmed_through = 0

    def write(self, *records: dict[str, Any]) -> None:
        self.records.extend(records)

    def latest(self) -> int:
        return int(self.records[-1]["dynamodb"]["SequenceNumber"]) if self.records else 0

    def read_after(self, sequence: int, limit: int = 1000) -> list[dict[str, Any]]:
        return [r for r in self.records if int(r["dynamodb"]["SequenceNumber"]) > sequence][:limit]

    def trim_through(self, sequence: int) -> None:
        self.trimmed_through = sequence


SOURCE = StreamSourceSpec(
    function=FunctionSpec(
        "OrgPurgeFunction",
        code_dir=api_spec().stream_sources[0].function.code_dir,
        module="app",
        handler="lambda_handler",
    ),
    batch_size=2,
    filters=({"eventName": ["MODIFY"]},),
    report_batch_item_failures=True,
    maximum_retry_attempts=2,
)


def consumer_with(answer: Callable[[list[str]], Any], stream: MemoryStream) -> tuple[StreamConsumer, list[list[str]]]:
    calls: list[list[str]] = []

    def invoke(function: FunctionSpec, event: dict[str, Any]) -> Any:
        numbers = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        calls.append(numbers)
        return answer(numbers)

    consumer = StreamConsumer(SOURCE, stream, invoke, retry_delay_s=0)  # type: ignore[arg-type]
    return consumer, calls


def test_it_starts_at_the_latest_record_and_delivers_matching_records_in_batches():
    stream = MemoryStream()
    stream.write(record(1))
    consumer, calls = consumer_with(lambda numbers: {"batchItemFailures": []}, stream)
    stream.write(record(2), record(3, event="INSERT"), record(4), record(5), record(6, event="REMOVE"))

    assert consumer.poll() == 5
    assert calls == [["2", "4"], ["5"]]
    assert consumer.position == 6
    assert consumer.poll() == 0


def test_a_partial_failure_retries_from_the_lowest_failed_record_then_gives_up():
    stream = MemoryStream()
    consumer, calls = consumer_with(lambda numbers: {"batchItemFailures": [{"itemIdentifier": numbers[-1]}]}, stream)
    stream.write(record(1), record(2))

    consumer.poll()

    assert calls == [["1", "2"], ["2"], ["2"]]
    (failed,) = consumer.failures
    assert (failed.first_sequence, failed.last_sequence, failed.records) == ("2", "2", 1)
    assert consumer.position == 2, "the shard moves on after the on-failure destination"


def test_a_function_error_retries_the_whole_batch():
    stream = MemoryStream()
    attempts: list[int] = []

    def flaky(numbers: list[str]) -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("out of time")
        return None

    consumer, calls = consumer_with(flaky, stream)
    stream.write(record(1), record(2))

    consumer.poll()

    assert calls == [["1", "2"], ["1", "2"]]
    assert consumer.failures == []


def test_an_unknown_item_identifier_fails_the_whole_batch():
    stream = MemoryStream()
    consumer, calls = consumer_with(lambda numbers: {"batchItemFailures": [{"itemIdentifier": "nope"}]}, stream)
    stream.write(record(1), record(2))

    consumer.poll()

    assert calls == [["1", "2"]] * 3


def test_what_every_consumer_read_is_trimmed():
    consumers = StreamConsumers([], "unused", lambda function, event: None)
    stream = MemoryStream()
    consumers.stream = stream  # type: ignore[assignment]
    first, _ = consumer_with(lambda numbers: None, stream)
    consumers.consumers = [first]
    stream.write(record(1), record(2), record(3))

    consumers.poll()

    assert stream.trimmed_through == 3
