"""How the service's AWS calls retry and time out, in one place.

Retries are botocore's "standard" mode wherever it covers them, configured here rather
than left to defaults (plain botocore clients default to "legacy": ten attempts for
DynamoDB, none of them bounded by a retry quota; PynamoDB waits 30 s to read). Standard
mode retries throttling (ProvisionedThroughputExceededException, ThrottlingException,
RequestLimitExceeded, ...), 5xx answers and dropped connections with exponential
backoff and full jitter, and its retry quota stops retrying when most calls of a
container fail, so a throttled table is not hammered harder.

What botocore does not retry: a TransactWriteItems cancelled because another
transaction held an item (TransactionConflict) or because an item's partition was
throttled. `transient_cancellation` recognises those, `transaction_backoff` spaces the
few retries `adapters/dynamodb/transactions.py` makes.

When the retries are spent, `is_unavailable` tells the HTTP layer (`http/api.py`) that
the failure was the cloud's, not a bug: the client gets a 503 `service_unavailable`
with Retry-After instead of a 500.

Timeouts are short: every function has 10 s in all (template.yaml), the authorizer 5 s.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# DynamoDB error codes botocore's standard mode treats as throttling.
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
    }
)
# Answers that say "the service could not, this time": retried by botocore, and a 503
# when they outlast the retries.
SERVER_FAULT_CODES = frozenset(
    {
        "InternalServerError",
        "InternalFailure",
        "InternalServiceError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)
# A TransactWriteItems cancellation reason that a second try can clear. Never
# ConditionalCheckFailed: that is a rule's answer, and retrying would not change it.
TRANSIENT_CANCELLATION_CODES = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
TRANSACTION_ATTEMPTS = 4
_TRANSACTION_BASE_SECONDS = 0.025
_TRANSACTION_CAP_SECONDS = 0.5
# Not `random`'s shared generator: SnapStart restores one state into every container
# (snapstart.py), and jitter only helps when containers draw differently.
_jitter = random.SystemRandom()


@dataclass(frozen=True)
class ClientPolicy:
    """Attempts (the first call included) and timeouts of one kind of client."""

    attempts: int
    connect_timeout: float
    read_timeout: float

    def botocore_config(self) -> Any:
        from botocore.config import Config

        return Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            retries={"mode": "standard", "total_max_attempts": self.attempts},
        )


# Every table call: PynamoDB's models and the transactions' connection (PynamoDB turns
# `max_retry_attempts` into standard mode with one more attempt), Powertools'
# idempotency store.
DYNAMODB = ClientPolicy(attempts=4, connect_timeout=2, read_timeout=3)
# The authorizer's key lookup runs inside 5 s and in front of every request.
AUTHORIZER_DYNAMODB = ClientPolicy(attempts=3, connect_timeout=1, read_timeout=1.5)
# The signing and TOTP keys: read once per container, before anything is written.
SECRETS_MANAGER = ClientPolicy(attempts=3, connect_timeout=2, read_timeout=3)
# An email that fails is reported quietly and can be asked for again (services/delivery.py):
# one retry, not a request held for seconds.
SES = ClientPolicy(attempts=2, connect_timeout=2, read_timeout=3)


def botocore_client(service: str, region: str, policy: ClientPolicy) -> Any:
    """A plain botocore client (not boto3: its import chain is a cold-start cost) with `policy`."""
    from botocore.session import get_session

    return get_session().create_client(service, region_name=region, config=policy.botocore_config())


def transaction_backoff(attempt: int) -> float:
    """Seconds to wait before retrying a cancelled transaction for the `attempt`-th time
    (1-based): full jitter over an exponential ceiling, so racing writers spread out."""
    ceiling = min(_TRANSACTION_CAP_SECONDS, _TRANSACTION_BASE_SECONDS * 2**attempt)
    return _jitter.uniform(0, ceiling)


def transient_cancellation(codes: Iterable[str | None]) -> bool:
    """A cancelled transaction worth another try: some reason is transient and none is a
    condition that did not hold."""
    listed = [code for code in codes if code not in (None, "None")]
    return bool(listed) and all(code in TRANSIENT_CANCELLATION_CODES for code in listed)


def _error_code(error: BaseException) -> str | None:
    response = getattr(error, "response", None)  # botocore's ClientError
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str):
            return code
    code = getattr(error, "cause_response_code", None)  # PynamoDB's errors
    return code if isinstance(code, str) else None


def _transient(error: BaseException) -> bool:
    code = _error_code(error)
    if code in THROTTLING_CODES or code in SERVER_FAULT_CODES:
        return True
    reasons = getattr(error, "cancellation_reasons", None)  # PynamoDB's TransactWriteError
    if code == "TransactionCanceledException" and reasons:
        return transient_cancellation(getattr(reason, "code", None) for reason in reasons)
    # Only if botocore is loaded: otherwise none of its errors can be in the chain.
    exceptions = sys.modules.get("botocore.exceptions")
    return exceptions is not None and isinstance(error, exceptions.HTTPClientError | exceptions.ConnectionError)


def is_unavailable(error: BaseException) -> bool:
    """The failure, or one it was raised from, is AWS saying "not now" (throttled,
    conflicting, failing, unreachable) after the retries above."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _transient(current):
            return True
        current = current.__cause__ or current.__context__
    return False
