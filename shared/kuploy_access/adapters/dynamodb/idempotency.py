"""The first answers to Idempotency-Keys, kept by Powertools' Idempotency utility in the
service's own table.

Powertools does the bookkeeping: a conditional PutItem claims the key ("in progress"),
a retry finds the claim (GetItem, or the item the failed condition hands back), the
answer is written when the request succeeds (UpdateItem), and the claim is removed
when it fails (DeleteItem), so a refused request keeps nothing. What it is configured
with here:

- one item per key, `idempotency_pk(sha256(scope, key))` / `IDEMPOTENCY_SK` (keys.py),
  rather than Powertools' one shared partition with the key as sort key;
- the body's SHA-256 beside it (Powertools' payload validation), so another body under
  the same key is refused;
- `expires_at_epoch`, the table's TTL attribute, 24 h after the answer;
- the answer sealed with AES-GCM (secret_box.py), under a key derived from a secret of
  its own (IdempotencyKeySecret, read only by the four functions with create routes; not
  the TOTP key, which opens every user's second factor), and bound to its item's scope
  and key: an API key's first answer holds the key itself, and a copy of the table must
  not hand it out, nor let a sealed answer be moved onto another record;
- an answer that does not open (its secret replaced, the item tampered with, an answer
  moved from another record) counts as absent: its item is removed, provided it still
  holds that answer, and the request runs as a first request;
- the sealing key is loaded before the key is claimed: if Secrets Manager fails, the
  request fails before anything is created, and leaves no claim behind.

Powertools' idempotency package imports boto3 as it loads (its DynamoDB layer does);
this module is imported on the first request that carries an Idempotency-Key, never on
a cold start (wiring.py), and hands Powertools a plain botocore client.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from functools import cached_property
from typing import Any, cast

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.idempotency.serialization.base import BaseIdempotencySerializer

from kuploy_access.adapters.dynamodb.keys import IDEMPOTENCY_SK, idempotency_pk
from kuploy_access.adapters.retry_policy import DYNAMODB, botocore_client
from kuploy_access.adapters.secret_box import AesGcmSecretBox, SealedValueInvalid
from kuploy_access.domain.idempotency import (
    ANSWER_LIFETIME,
    IN_PROGRESS_LOCK,
    Answered,
    Attempt,
    FirstAnswer,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
)

# The label the answers' sealing key is derived under (secret_box.py), from the
# answers' own secret.
ANSWER_KEY_INFO = b"kuploy-access idempotent answers v1"
TTL_ATTRIBUTE = "expires_at_epoch"  # template.yaml, Table's TimeToLiveSpecification
# Powertools builds "<prefix>#<sha256>"; the item's key keeps only the hash.
_KEY_PREFIX = "idempotency"


class _ItemPerKey(DynamoDBPersistenceLayer):
    """Powertools' DynamoDB layer on this table's pk/sk: every key its own partition
    (Powertools' composite mode would put every record under one static pk)."""

    def _get_key(self, idempotency_key: str) -> dict[str, Any]:
        digest = idempotency_key.rpartition("#")[2]
        return {self.key_attr: {"S": idempotency_pk(digest)}, "sk": {"S": IDEMPOTENCY_SK}}

    def forget_answer(self, request: dict[str, str], sealed: str) -> None:
        """Remove the item of `request` if it still holds the answer `sealed` (each seal
        has its own nonce): a retry running alongside may have replaced it already (its
        claim is in progress, its answer another seal), and that stays."""
        from botocore.exceptions import ClientError

        hashed = self._get_hashed_idempotency_key(data=request)
        if hashed is None:
            return
        try:
            self.client.delete_item(
                TableName=self.table_name,
                Key=self._get_key(hashed),
                ConditionExpression="#status = :completed AND contains(#answer, :sealed)",
                ExpressionAttributeNames={"#status": self.status_attr, "#answer": self.data_attr},
                ExpressionAttributeValues={":completed": {"S": "COMPLETED"}, ":sealed": {"S": sealed}},
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise


class _UnreadableAnswer(Exception):
    """A kept answer that does not open with this ledger's key, or on this record."""

    def __init__(self, sealed: str) -> None:
        super().__init__("a kept answer does not open")
        self.sealed = sealed


class _SealedAnswers(BaseIdempotencySerializer):
    """Answers as Powertools stores them: a first request's `Answered` goes in sealed
    and bound to the attempt's record; a retry gets its `FirstAnswer` back."""

    def __init__(self, box: AesGcmSecretBox, record: str) -> None:
        self._box = box
        self._record = record

    def to_dict(self, data: Any) -> dict[str, Any]:
        answer = cast(Answered, data).answer
        return {"sealed": self._box.seal(json.dumps(asdict(answer)), self._record)}

    def from_dict(self, data: dict[str, Any]) -> FirstAnswer:
        sealed = str(data.get("sealed", ""))
        try:
            opened = json.loads(self._box.open(sealed, self._record))
        except SealedValueInvalid:
            raise _UnreadableAnswer(sealed) from None
        return FirstAnswer(status=int(opened["status"]), body=dict(opened["body"]))


class _InProgressLock:
    """What Powertools reads from a Lambda context: how long a claim holds its key.
    A fixed bound (domain.idempotency.IN_PROGRESS_LOCK) rather than this invocation's
    remaining time, which the route cannot reach."""

    def get_remaining_time_in_millis(self) -> int:
        return int(IN_PROGRESS_LOCK.total_seconds() * 1000)


def _replayed(response: Any, idempotent_data: DataRecord) -> Answered:
    return Answered(answer=cast(FirstAnswer, response), replayed=True)


class DynamoAnswerLedger:
    """AnswerLedger (services/ports/idempotency.py)."""

    def __init__(self, table_name: str, region: str, key_secret_id: str) -> None:
        self._table_name = table_name
        self._region = region
        self._box = AesGcmSecretBox(key_secret_id, key_info=ANSWER_KEY_INFO)

    @cached_property
    def _config(self) -> IdempotencyConfig:
        config = IdempotencyConfig(
            event_key_jmespath="record",
            payload_validation_jmespath="body",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=int(ANSWER_LIFETIME.total_seconds()),
            hash_function="sha256",
            response_hook=_replayed,
        )
        config.register_lambda_context(cast(Any, _InProgressLock()))
        return config

    @cached_property
    def _store(self) -> _ItemPerKey:
        store = _ItemPerKey(
            table_name=self._table_name,
            key_attr="pk",
            expiry_attr=TTL_ATTRIBUTE,
            in_progress_expiry_attr="in_progress_until_ms",
            status_attr="idempotency_status",
            data_attr="sealed_answer",
            validation_key_attr="body_sha256",
            boto3_client=cast(Any, botocore_client("dynamodb", self._region, DYNAMODB)),
        )
        # Once, here: Powertools configures a layer on its first use without a lock, and
        # the local server shares this one between threads.
        store.configure(self._config, key_prefix=_KEY_PREFIX)
        return store

    def answer_once(self, attempt: Attempt, create: Callable[[], FirstAnswer]) -> Answered:
        # Before the claim: a secret that cannot be read must fail the request while
        # nothing is created yet and no claim holds the key.
        self._box.ready()
        request = {"record": attempt.record, "body": attempt.body_document}
        try:
            return self._answer(attempt, request, create)
        except _UnreadableAnswer as unreadable:
            # As if it had expired: a retry creates again rather than failing for ever.
            self._store.forget_answer(request, unreadable.sealed)
        try:
            return self._answer(attempt, request, create)
        except _UnreadableAnswer:
            # Forgotten, then replaced by another request's answer that does not open
            # either: only a tampering still at work does that; refuse to guess.
            raise IdempotencyKeyInUse() from None

    def _answer(self, attempt: Attempt, request: dict[str, str], create: Callable[[], FirstAnswer]) -> Answered:
        def first(request: dict[str, str]) -> Answered:
            return Answered(answer=create(), replayed=False)

        once = idempotent_function(
            first,
            data_keyword_argument="request",
            persistence_store=self._store,
            config=self._config,
            output_serializer=_SealedAnswers(self._box, attempt.record),
            key_prefix=_KEY_PREFIX,
        )
        try:
            answered: Answered = once(request=request)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except (IdempotencyAlreadyInProgressError, IdempotencyInconsistentStateError):
            # Inconsistent: the claim changed hands between Powertools' own retries; the
            # client's next retry sees where it ended.
            raise IdempotencyKeyInUse() from None
        return answered
