"""The retry policy on fakes (adapters/retry_policy.py): which failures are the cloud's
"not now" (a 503) and which are answers or bugs; a cancelled transaction's bounded,
jittered retries; the authorizer and the route guard failing closed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import CancellationReason, GetError, PutError, TransactWriteError, VerboseClientError

from kuploy_access.adapters import retry_policy
from kuploy_access.adapters.dynamodb import transactions
from kuploy_access.adapters.dynamodb.transactions import ConditionFailed, Transaction
from kuploy_access.adapters.retry_policy import (
    DYNAMODB,
    SES,
    TRANSACTION_ATTEMPTS,
    is_unavailable,
    transaction_backoff,
    transient_cancellation,
)
from kuploy_access.domain.errors import ServiceUnavailable
from kuploy_access.domain.principal import Principal
from kuploy_access.http.guard import require_user, unauthorized_problem
from kuploy_access.services.authorizer import Authorizer
from tests.unit.metric_fakes import CountedEvents


def client_error(code: str, operation: str = "PutItem") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)


def cancelled(*codes: str) -> TransactWriteError:
    reasons = [CancellationReason(code=code) if code != "None" else None for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("Failed to write transaction items", cause=cause)


# --- what counts as unavailable ----------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
    ],
)
def test_throttling_and_server_faults_are_unavailable_directly_or_wrapped_by_pynamodb(code):
    assert is_unavailable(client_error(code))
    assert is_unavailable(PutError("Failed to put item", cause=client_error(code)))
    assert is_unavailable(GetError("Failed to get item", cause=client_error(code, "GetItem")))


@pytest.mark.parametrize(
    "code",
    ["ConditionalCheckFailedException", "ValidationException", "AccessDeniedException", "ResourceNotFoundException"],
)
def test_answers_and_bugs_are_not_unavailable(code):
    assert not is_unavailable(client_error(code))
    assert not is_unavailable(PutError("Failed to put item", cause=client_error(code)))


def test_dropped_and_timed_out_connections_are_unavailable_even_when_raised_from():
    assert is_unavailable(ReadTimeoutError(endpoint_url="https://dynamodb"))
    assert is_unavailable(EndpointConnectionError(endpoint_url="https://dynamodb"))
    try:
        try:
            raise ReadTimeoutError(endpoint_url="https://sesv2")
        except ReadTimeoutError as timeout:
            raise RuntimeError("wrapped") from timeout
    except RuntimeError as wrapped:
        assert is_unavailable(wrapped)


def test_a_plain_bug_is_not_unavailable():
    assert not is_unavailable(ValueError("a bug"))
    assert not is_unavailable(KeyError("SecretString"))


def test_a_cancellation_is_transient_only_when_no_condition_failed():
    assert transient_cancellation(["TransactionConflict", None, "None"])
    assert transient_cancellation(["ThrottlingError"])
    assert transient_cancellation(["None", "ProvisionedThroughputExceeded"])
    assert not transient_cancellation(["TransactionConflict", "ConditionalCheckFailed"])
    assert not transient_cancellation(["ValidationError"])
    assert not transient_cancellation(["None", None])
    assert is_unavailable(cancelled("TransactionConflict", "None"))
    assert not is_unavailable(cancelled("ConditionalCheckFailed", "TransactionConflict"))


# --- the configuration given to botocore -------------------------------------------------------


def test_every_client_uses_botocore_standard_mode_with_bounded_attempts_and_short_timeouts():
    for policy in (DYNAMODB, SES, retry_policy.SECRETS_MANAGER, retry_policy.AUTHORIZER_DYNAMODB):
        config = policy.botocore_config()
        assert config.retries == {"mode": "standard", "total_max_attempts": policy.attempts}
        assert 2 <= policy.attempts <= 4
        # Within the functions' 10 s (the authorizer's 5 s), a call and its retries.
        assert policy.connect_timeout <= 2 and policy.read_timeout <= 3


def test_pynamodb_is_told_the_same_policy():
    from kuploy_access.adapters.dynamodb.models import TableItem

    assert TableItem.Meta.max_retry_attempts == DYNAMODB.attempts - 1
    assert TableItem.Meta.read_timeout_seconds == DYNAMODB.read_timeout
    assert TableItem.Meta.connect_timeout_seconds == DYNAMODB.connect_timeout


def test_the_transaction_backoff_is_jittered_and_bounded():
    for attempt in range(1, 10):
        waits = {transaction_backoff(attempt) for _ in range(50)}
        assert len(waits) > 1
        assert all(0 <= wait <= min(0.5, 0.025 * 2**attempt) for wait in waits)


# --- a cancelled transaction's retries ----------------------------------------------------------


@dataclass
class FailingConnection:
    """A PynamoDB connection whose TransactWriteItems fails with each error in turn, then succeeds."""

    errors: list[Exception]
    calls: int = 0
    tokens: list[str] = field(default_factory=list)

    def transact_write_items(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        self.tokens.append(kwargs["client_request_token"])
        if self.errors:
            raise self.errors.pop(0)
        return {}


@pytest.fixture
def pauses(monkeypatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(transactions.time, "sleep", slept.append)
    return slept


def test_a_conflict_is_tried_again_after_a_jittered_pause(pauses):
    connection = FailingConnection([cancelled("TransactionConflict"), cancelled("None", "ThrottlingError")])

    Transaction(connection).commit()  # type: ignore[arg-type]

    assert connection.calls == 3
    assert len(pauses) == 2 and all(0 <= pause <= 0.5 for pause in pauses)
    # Each try its own idempotency token (botocore's own retries reuse a try's).
    assert len(set(connection.tokens)) == 3


def test_a_conflict_that_persists_ends_as_service_unavailable(pauses):
    connection = FailingConnection([cancelled("TransactionConflict") for _ in range(10)])

    with pytest.raises(ServiceUnavailable):
        Transaction(connection).commit()  # type: ignore[arg-type]

    assert connection.calls == TRANSACTION_ATTEMPTS
    assert len(pauses) == TRANSACTION_ATTEMPTS - 1


def test_a_condition_that_failed_is_an_answer_and_is_never_retried(pauses):
    # Among conflicts too: the rule's answer wins (with labelled parts, ConditionFailed;
    # this transaction has none, so the error itself).
    connection = FailingConnection([cancelled("ConditionalCheckFailed", "TransactionConflict")])

    with pytest.raises((ConditionFailed, TransactWriteError)):
        Transaction(connection).commit()  # type: ignore[arg-type]

    assert connection.calls == 1 and pauses == []


def test_any_other_failure_is_not_retried_here(pauses):
    connection = FailingConnection([cancelled("ValidationError")])

    with pytest.raises(TransactWriteError):
        Transaction(connection).commit()  # type: ignore[arg-type]

    assert connection.calls == 1 and pauses == []


# --- failing closed -----------------------------------------------------------------------------


class Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def info(self, msg: str, *, extra: Any = None) -> None:
        pass

    def warning(self, msg: str) -> None:
        self.warnings.append(msg)


def _unavailable() -> Any:
    raise ServiceUnavailable()


class ThrottledKeys:
    def find(self, key_hash: str) -> None:
        raise client_error("ProvisionedThroughputExceededException", "GetItem")

    def mark_used(self, key_hash: str, now: datetime, ip: str) -> bool:
        raise AssertionError("never reached")


def test_the_authorizer_denies_when_it_cannot_check_a_credential():
    from kuploy_access.domain.api_keys import new_key

    counted = CountedEvents()
    log = Log()
    authorizer = Authorizer(codec=_unavailable, keys=ThrottledKeys, log=log, counter=counted)
    now = datetime.now(UTC)

    for credential in ("header.payload.signature", new_key()):
        principal = authorizer.authorize(credential, now, "203.0.113.7")
        assert principal.type == "anonymous"
        assert principal.auth_error == "service_unavailable"
    assert counted.of("AuthorizerRefusals") == [{"reason": "unavailable"}, {"reason": "unavailable"}]
    assert log.warnings and not any("kpy_" in warning for warning in log.warnings)


def test_the_route_guard_answers_503_with_retry_after_for_an_unchecked_credential():
    principal = Principal.anonymous("service_unavailable")
    event = {"requestContext": {"authorizer": {"lambda": principal.to_context()}}}

    result = unauthorized_problem(principal)

    assert result["statusCode"] == 503
    assert result["headers"]["Retry-After"] == str(ServiceUnavailable.retry_after)
    assert "WWW-Authenticate" not in result["headers"]
    with pytest.raises(ServiceUnavailable):
        require_user(event)
