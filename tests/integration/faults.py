"""Faults injected under the adapters: AWS answering "throttled", "cancelled", "failed"
or not answering at all, on moto.

Every botocore client of the process sends through moto's stubber (its `before-send`
handler); `injected()` puts a gate in front of it, so a faulted call never reaches moto
(nothing is written) and the adapter sees exactly what botocore would have parsed from
AWS: its retries run, its error shapes come back. Backoff pauses are zeroed (and kept,
so a test can see how many retries there were); the code under test is not changed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse

Answer = Callable[[AWSPreparedRequest], AWSResponse]


def _response(request: AWSPreparedRequest, status: int, body: dict[str, Any], **headers: str) -> AWSResponse:
    return AWSResponse(request.url, status, {"x-amzn-RequestId": "fault", **headers}, MockRawResponse(json.dumps(body)))  # type: ignore[arg-type]


def dynamodb_error(code: str, status: int = 400) -> Answer:
    """A DynamoDB error (JSON 1.0 protocol): ProvisionedThroughputExceededException,
    ThrottlingException, RequestLimitExceeded, InternalServerError..."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": f"injected {code}"}
        return _response(request, status, body, **{"Content-Type": "application/x-amz-json-1.0"})

    return answer


def transaction_cancelled(reason: str) -> Answer:
    """TransactWriteItems cancelled with `reason` for its first part, "None" for the rest
    (as DynamoDB reports a conflict on one item)."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        parts = len(json.loads(request.body or b"{}").get("TransactItems", [])) or 1
        reasons = [{"Code": reason, "Message": f"injected {reason}"}] + [{"Code": "None"}] * (parts - 1)
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "Message": f"Transaction cancelled, please refer cancellation reasons for specific reasons [{reason}]",
            "CancellationReasons": reasons,
        }
        return _response(request, 400, body, **{"Content-Type": "application/x-amz-json-1.0"})

    return answer


def json_service_error(code: str, status: int = 400) -> Answer:
    """An error of a JSON 1.1 service (Secrets Manager): ThrottlingException,
    InternalServiceError, DecryptionFailure (its KMS key unusable)..."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        return _response(request, status, {"__type": code, "message": f"injected {code}"})

    return answer


def rest_json_error(code: str, status: int = 400) -> Answer:
    """An error of a REST-JSON service (SES v2): MessageRejected, TooManyRequestsException..."""

    def answer(request: AWSPreparedRequest) -> AWSResponse:
        return _response(request, status, {"message": f"injected {code}"}, **{"x-amzn-ErrorType": code})

    return answer


def read_timeout(request: AWSPreparedRequest) -> AWSResponse:
    raise ReadTimeoutError(endpoint_url=request.url)


def unreachable(request: AWSPreparedRequest) -> AWSResponse:
    raise EndpointConnectionError(endpoint_url=request.url)


@dataclass
class Fault:
    event: str  # "dynamodb.TransactWriteItems", "sesv2.SendEmail", "secrets-manager.GetSecretValue"
    answer: Answer
    times: int | None  # None: until the test ends
    # Only the requests whose body holds this text (a SecretId, a table key).
    body_has: str = ""
    hits: int = 0

    def matches(self, event: str, request: AWSPreparedRequest) -> bool:
        if event != self.event and not event.startswith(self.event + "."):
            return False
        if self.times is not None and self.hits >= self.times:
            return False
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        return self.body_has.encode() in body


@dataclass
class Faults:
    faults: list[Fault] = field(default_factory=list)
    # Every call that reached the gate ("dynamodb.PutItem"), faulted or not, in order.
    calls: list[str] = field(default_factory=list)
    faulted: list[str] = field(default_factory=list)
    botocore_backoffs: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event: str, answer: Answer, times: int | None = None, body_has: str = "") -> Fault:
        """Fault `event` (a service, or service.Operation) the next `times` calls (None: all)
        whose body holds `body_has`."""
        fault = Fault(event, answer, times, body_has)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pick(self, event: str, request: AWSPreparedRequest) -> Fault | None:
        with self._lock:
            self.calls.append(event)
            for fault in self.faults:
                if fault.matches(event, request):
                    fault.hits += 1
                    self.faulted.append(event)
                    return fault
        return None

    def count(self, event: str) -> int:
        return sum(1 for call in self.calls if call == event)


@contextmanager
def injected(monkeypatch: Any) -> Iterator[Faults]:
    """Gate every AWS call of the process; `Faults.add` decides which fail and how."""
    from botocore.retries.quota import RetryQuota
    from botocore.retries.standard import ExponentialBackoff

    from kuploy_access.adapters.dynamodb import transactions

    faults = Faults()
    moto_call = BotocoreStubber.__call__

    def gate(self: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
        event = event_name.removeprefix("before-send.")
        fault = faults.pick(event, request) if self.enabled else None
        if fault is not None:
            return fault.answer(request)
        return moto_call(self, event_name, request, **kwargs)

    def no_pause(_: ExponentialBackoff, context: Any) -> float:
        faults.botocore_backoffs += 1
        return 0.0

    monkeypatch.setattr(BotocoreStubber, "__call__", gate)
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_pause)
    monkeypatch.setattr(transactions, "transaction_backoff", lambda attempt: 0.0)
    # botocore's retry quota lives as long as a client, and clients outlive a test: one
    # that earlier tests drained would retry less, and the counts here would depend on
    # the order tests ran in.
    monkeypatch.setattr(RetryQuota, "acquire", lambda self, capacity_amount: True)
    try:
        yield faults
    finally:
        faults.clear()
