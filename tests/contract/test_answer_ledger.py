"""AnswerLedger: the first answer to an Idempotency-Key, on the fake and on DynamoDB
(Powertools' Idempotency utility on the service's table)."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from devserver.embedded_aws import REGION
from kuploy_access.adapters.dynamodb.idempotency import DynamoAnswerLedger
from kuploy_access.adapters.dynamodb.keys import IDEMPOTENCY_PK_PREFIX, IDEMPOTENCY_SK, idempotency_pk
from kuploy_access.domain.errors import ServiceUnavailable
from kuploy_access.domain.idempotency import (
    ANSWER_LIFETIME,
    IN_PROGRESS_LOCK,
    Attempt,
    FirstAnswer,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    scope_of,
)
from kuploy_access.domain.principal import API_KEY, USER, Principal
from kuploy_access.services.ports.idempotency import AnswerLedger
from tests.unit.idempotency_fakes import FakeAnswerLedger

ADA = Principal(type=USER, id="usr_ada")
GRACE = Principal(type=USER, id="usr_grace")
ADA_S_KEY = Principal(type=API_KEY, id="usr_ada")  # an id equal to a user's: still another caller
PROJECTS = scope_of(ADA, "POST", "/orgs/{org_id}/projects", {"org_id": "org_1"})
SECRET = "kpy_0123456789abcdefghijklmnopqrstuvwxyz"


@pytest.fixture(params=["fake", "dynamo"])
def ledger(request: pytest.FixtureRequest) -> AnswerLedger:
    if request.param == "fake":
        return FakeAnswerLedger()
    request.getfixturevalue("moto_table")
    return DynamoAnswerLedger(os.environ["TABLE_NAME"], REGION, os.environ["IDEMPOTENCY_KEY_SECRET_ID"])


def an_attempt(key: str = "retry-1", body: Any = None, scope: str = PROJECTS) -> Attempt:
    return Attempt(scope=scope, key=key, body={"name": "web"} if body is None else body)


class Creations:
    """A route's creation: counts its calls, answers a new id each time."""

    def __init__(self, status: int = 201, extra: dict[str, Any] | None = None) -> None:
        self.calls = 0
        self.status = status
        self.extra = extra or {}

    def __call__(self) -> FirstAnswer:
        self.calls += 1
        return FirstAnswer(self.status, {"id": f"prj_{self.calls}", **self.extra})


def raw_items() -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    scanned = client.scan(TableName=os.environ["TABLE_NAME"], ConsistentRead=True)["Items"]
    return [item for item in scanned if item["pk"]["S"].startswith(IDEMPOTENCY_PK_PREFIX)]


def set_attribute(pk: str, name: str, value: dict[str, str]) -> None:
    boto3.client("dynamodb", region_name=REGION).update_item(
        TableName=os.environ["TABLE_NAME"],
        Key={"pk": {"S": pk}, "sk": {"S": IDEMPOTENCY_SK}},
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": name},
        ExpressionAttributeValues={":v": value},
    )


# --- first answers and retries ------------------------------------------------------------------


def test_the_first_request_creates_and_a_retry_gets_its_answer(ledger: AnswerLedger) -> None:
    create = Creations()

    first = ledger.answer_once(an_attempt(), create)
    again = ledger.answer_once(an_attempt(), create)

    assert (first.answer, first.replayed) == (FirstAnswer(201, {"id": "prj_1"}), False)
    assert (again.answer, again.replayed) == (FirstAnswer(201, {"id": "prj_1"}), True)
    assert create.calls == 1


def test_the_body_matches_whatever_its_key_order(ledger: AnswerLedger) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(body={"name": "db", "engine": "postgres"}), create)

    again = ledger.answer_once(an_attempt(body={"engine": "postgres", "name": "db"}), create)

    assert again.replayed and create.calls == 1


def test_the_status_and_the_body_come_back_as_first_answered(ledger: AnswerLedger) -> None:
    create = Creations(status=202, extra={"status": "queued", "ref": None, "nested": {"a": [1, "é"]}})
    first = ledger.answer_once(an_attempt(), create)

    again = ledger.answer_once(an_attempt(), create)

    assert again.answer == first.answer == FirstAnswer(202, {"id": "prj_1", **create.extra})


@pytest.mark.parametrize("other_body", [{"name": "api"}, {"name": "web", "extra": 1}, {}])
def test_the_same_key_with_another_body_is_refused(ledger: AnswerLedger, other_body: dict[str, Any]) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(), create)

    with pytest.raises(IdempotencyKeyReused):
        ledger.answer_once(an_attempt(body=other_body), create)
    assert create.calls == 1
    assert ledger.answer_once(an_attempt(), create).replayed  # the first answer is still kept


@pytest.mark.parametrize(
    "other_scope",
    [
        scope_of(GRACE, "POST", "/orgs/{org_id}/projects", {"org_id": "org_1"}),
        scope_of(ADA_S_KEY, "POST", "/orgs/{org_id}/projects", {"org_id": "org_1"}),
        scope_of(ADA, "POST", "/orgs/{org_id}/projects", {"org_id": "org_2"}),
        scope_of(ADA, "POST", "/orgs/{org_id}/databases", {"org_id": "org_1"}),
    ],
    ids=["another user", "an API key", "another organization", "another route"],
)
def test_a_key_belongs_to_its_caller_and_route(ledger: AnswerLedger, other_scope: str) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(), create)

    elsewhere = ledger.answer_once(an_attempt(scope=other_scope, body={"name": "other"}), create)

    assert (elsewhere.answer.body, elsewhere.replayed) == ({"id": "prj_2"}, False)
    assert ledger.answer_once(an_attempt(), create).answer.body == {"id": "prj_1"}


# --- refusals and requests still running ------------------------------------------------------


class Refused(Exception):
    pass


def test_a_refused_request_keeps_nothing(ledger: AnswerLedger) -> None:
    def refuse() -> FirstAnswer:
        raise Refused()

    with pytest.raises(Refused):
        ledger.answer_once(an_attempt(), refuse)

    # Fixed and sent again under the same key, even with another body: it runs.
    fixed = ledger.answer_once(an_attempt(body={"name": "api"}), Creations())
    assert (fixed.answer.body, fixed.replayed) == ({"id": "prj_1"}, False)


def while_running(ledger: AnswerLedger, retry: Callable[[], Any]) -> Any:
    """Run `retry` from inside the first request's creation."""
    seen: list[Any] = []

    def slow_create() -> FirstAnswer:
        try:
            seen.append(retry())
        except Exception as error:
            seen.append(error)
        return FirstAnswer(201, {"id": "prj_1"})

    ledger.answer_once(an_attempt(), slow_create)
    return seen[0]


def test_a_retry_while_the_first_request_runs_is_told_to_wait(ledger: AnswerLedger) -> None:
    outcome = while_running(ledger, lambda: ledger.answer_once(an_attempt(), Creations()))

    assert isinstance(outcome, IdempotencyKeyInUse)
    assert outcome.status == 409 and outcome.retry_after == 1
    assert ledger.answer_once(an_attempt(), Creations()).answer.body == {"id": "prj_1"}


def test_another_body_while_the_first_request_runs_is_refused_as_reused(ledger: AnswerLedger) -> None:
    outcome = while_running(ledger, lambda: ledger.answer_once(an_attempt(body={"name": "api"}), Creations()))

    assert isinstance(outcome, IdempotencyKeyReused)


# --- what DynamoDB holds -------------------------------------------------------------------------


def pk_of(attempt: Attempt) -> str:
    """Powertools hashes the JSON of what it keys on: here the attempt's record."""
    return idempotency_pk(hashlib.sha256(json.dumps(attempt.record).encode()).hexdigest())


@pytest.mark.dynamo_only(reason="the item's layout, its TTL and its sealing are the adapter's")
def test_one_item_per_key_under_hashes_with_a_sealed_answer(ledger: AnswerLedger) -> None:
    attempt = an_attempt(body={"description": "deploy"})
    answer = FirstAnswer(201, {"id": "key_1", "key": SECRET, "description": "deploy"})
    ledger.answer_once(attempt, lambda: answer)

    [item] = raw_items()
    assert item["pk"] == {"S": pk_of(attempt)} and item["sk"] == {"S": IDEMPOTENCY_SK}
    expires = int(item["expires_at_epoch"]["N"])
    assert abs(expires - (time.time() + ANSWER_LIFETIME.total_seconds())) < 60
    stored = json.dumps(item)
    for plain in (SECRET, "key_1", "deploy", attempt.key, "usr_ada", "org_1"):
        assert plain not in stored, plain


def sealed_of(attempt: Attempt) -> dict[str, str]:
    [sealed] = [item["sealed_answer"] for item in raw_items() if item["pk"]["S"] == pk_of(attempt)]
    return dict(sealed)


@pytest.mark.dynamo_only(reason="moving a sealed answer between items is a DynamoDB-side change")
def test_a_sealed_answer_opens_only_on_its_own_record(ledger: AnswerLedger) -> None:
    """Moved onto another record, an answer does not open there: that record's answer is
    as good as gone, and its retry runs as a new request (rather than failing for ever)."""
    ada_s, mallory_s = an_attempt(key="ada-s"), an_attempt(key="mallory-s")
    ledger.answer_once(ada_s, lambda: FirstAnswer(201, {"key": SECRET}))
    ledger.answer_once(mallory_s, lambda: FirstAnswer(201, {"key": "nothing"}))
    set_attribute(pk_of(mallory_s), "sealed_answer", sealed_of(ada_s))
    create = Creations()

    again = ledger.answer_once(mallory_s, create)

    assert (again.answer.body, again.replayed, create.calls) == ({"id": "prj_1"}, False, 1)
    assert SECRET not in json.dumps(again.answer.body)
    assert ledger.answer_once(mallory_s, create).replayed  # the new answer is kept in its place
    assert ledger.answer_once(ada_s, create).answer.body == {"key": SECRET}


@pytest.mark.dynamo_only(reason="tampering with a sealed answer is a DynamoDB-side change")
def test_a_tampered_answer_is_treated_as_absent(ledger: AnswerLedger) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(), create)
    sealed = sealed_of(an_attempt())["S"]
    flipped = sealed[:-3] + ("A" if sealed[-3] != "A" else "B") + sealed[-2:]
    set_attribute(pk_of(an_attempt()), "sealed_answer", {"S": flipped})

    again = ledger.answer_once(an_attempt(), create)

    assert (again.answer.body, again.replayed, create.calls) == ({"id": "prj_2"}, False, 2)
    assert len(raw_items()) == 1


def another_secret() -> str:
    secret_id = f"kuploy-access/local/idempotency-key-{uuid.uuid4().hex}"
    boto3.client("secretsmanager", region_name=REGION).create_secret(Name=secret_id, SecretString=uuid.uuid4().hex)
    return secret_id


@pytest.mark.dynamo_only(reason="the sealing key is the adapter's")
def test_answers_sealed_under_a_replaced_secret_are_treated_as_absent(ledger: AnswerLedger) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(), create)
    replaced = DynamoAnswerLedger(os.environ["TABLE_NAME"], REGION, another_secret())

    again = replaced.answer_once(an_attempt(body={"name": "web"}), create)

    assert (again.answer.body, again.replayed, create.calls) == ({"id": "prj_2"}, False, 2)
    assert replaced.answer_once(an_attempt(), create).answer.body == {"id": "prj_2"}


@pytest.mark.dynamo_only(reason="the sealing key's secret is the adapter's")
def test_without_its_secret_the_ledger_claims_and_creates_nothing(ledger: AnswerLedger) -> None:
    """The key is loaded before the claim: an unreachable secret fails the request before
    anything is created, and leaves no claim that would hold the key."""
    create = Creations()
    unreachable = DynamoAnswerLedger(os.environ["TABLE_NAME"], REGION, "kuploy-access/local/no-such-secret")

    # Fails closed (adapters/signing_key.py): ServiceUnavailable, raised from Secrets Manager's refusal.
    with pytest.raises(ServiceUnavailable) as failed:
        unreachable.answer_once(an_attempt(), create)

    cause = failed.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "ResourceNotFoundException"
    assert create.calls == 0
    assert raw_items() == []


@pytest.mark.dynamo_only(reason="expiry is the item's expires_at_epoch, which only the adapter keeps")
def test_an_expired_answer_is_not_replayed(ledger: AnswerLedger) -> None:
    create = Creations()
    ledger.answer_once(an_attempt(), create)
    # DynamoDB's TTL deletes expired items within days; until then the adapter ignores them.
    set_attribute(pk_of(an_attempt()), "expires_at_epoch", {"N": str(int(time.time()) - 1)})

    again = ledger.answer_once(an_attempt(body={"name": "another body: the old one is gone"}), create)

    assert (again.answer.body, again.replayed) == ({"id": "prj_2"}, False)


def leave_a_claim(attempt: Attempt, held_until_ms: int) -> None:
    """What a function killed in the middle of a request leaves: its claim, in progress."""
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=os.environ["TABLE_NAME"],
        Item={
            "pk": {"S": pk_of(attempt)},
            "sk": {"S": IDEMPOTENCY_SK},
            "expires_at_epoch": {"N": str(int(time.time() + ANSWER_LIFETIME.total_seconds()))},
            "idempotency_status": {"S": "INPROGRESS"},
            "in_progress_until_ms": {"N": str(held_until_ms)},
            "body_sha256": {"S": hashlib.sha256(json.dumps(attempt.body_document).encode()).hexdigest()},
        },
    )


@pytest.mark.dynamo_only(reason="the claim's lock is the item's in_progress_until_ms, which only the adapter keeps")
def test_a_claim_holds_its_key_until_its_lock_ends(ledger: AnswerLedger) -> None:
    leave_a_claim(an_attempt(), held_until_ms=int(time.time() * 1000) + 20_000)
    with pytest.raises(IdempotencyKeyInUse):
        ledger.answer_once(an_attempt(), Creations())

    leave_a_claim(an_attempt(), held_until_ms=int(time.time() * 1000) - 1)
    taken_over = ledger.answer_once(an_attempt(), Creations())

    assert (taken_over.answer.body, taken_over.replayed) == ({"id": "prj_1"}, False)


@pytest.mark.dynamo_only(reason="how long a claim holds is the adapter's in_progress_until_ms")
def test_a_claim_holds_for_the_in_progress_lock(ledger: AnswerLedger) -> None:
    held: list[int] = []

    def look() -> FirstAnswer:
        [item] = raw_items()
        held.append(int(item["in_progress_until_ms"]["N"]))
        return FirstAnswer(201, {})

    before = time.time() * 1000
    ledger.answer_once(an_attempt(), look)

    assert 0 <= held[0] - before - IN_PROGRESS_LOCK.total_seconds() * 1000 < 5_000
