"""AWS inside the process: moto for DynamoDB, SES v2 and Secrets Manager.

Also the two things moto does not do the way AWS does and that this project relies
on: each DynamoDB request is atomic (moto's backend has no lock, so two threads can
interleave inside one conditional write), and sent emails keep both their parts.
"""

from __future__ import annotations

import functools
import json
import secrets
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import boto3

from devserver.moto_transactions import transactions_copy_only_what_they_touch

REGION = "us-east-1"
LOCAL_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": "kuploy-access-local",
    "SIGNING_KEY_SECRET_ID": "kuploy-access/local/signing-key",
    "TOTP_KEY_SECRET_ID": "kuploy-access/local/totp-key",
    # The first answers to Idempotency-Keys are sealed with a key of their own; not kept
    # over a restart (an answer that no longer opens counts as absent).
    "IDEMPOTENCY_KEY_SECRET_ID": "kuploy-access/local/idempotency-key",
    "SENDER_EMAIL": "no-reply@kuploy.local",
    "SES_CONFIGURATION_SET": "kuploy-access-local-email",
    # No CloudFront in front: the client is always the source IP (domain.client_address).
    "EDGE_ORIGIN_SECRET": "",
    "POWERTOOLS_SERVICE_NAME": "kuploy-access",
    "POWERTOOLS_METRICS_NAMESPACE": "Kuploy/Access",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_DEV": "false",
}

_dynamodb_lock = threading.RLock()
_serialized = False


def serialize_dynamodb_requests() -> None:
    """Make every DynamoDB request atomic, as the real service is."""
    global _serialized
    if _serialized:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    @functools.wraps(original)
    def atomic_call_action(self: Any) -> Any:
        with _dynamodb_lock:
            return original(self)

    DynamoHandler.call_action = atomic_call_action  # type: ignore[method-assign]
    _serialized = True


@dataclass(frozen=True)
class SentEmail:
    to: str
    subject: str
    text: str
    html: str
    sent_at: str


class Outbox:
    """The emails SES accepted, newest last, captured from the SendEmail calls."""

    def __init__(self) -> None:
        self._emails: list[SentEmail] = []
        self._lock = threading.Lock()
        self.listeners: list[Callable[[SentEmail], None]] = []

    def record(self, params: dict[str, Any], **_: Any) -> None:
        simple = params.get("Content", {}).get("Simple", {})
        body = simple.get("Body", {})
        sent_at = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        for to in params.get("Destination", {}).get("ToAddresses", []):
            email = SentEmail(
                to=to,
                subject=simple.get("Subject", {}).get("Data", ""),
                text=body.get("Text", {}).get("Data", ""),
                html=body.get("Html", {}).get("Data", ""),
                sent_at=sent_at,
            )
            with self._lock:
                self._emails.append(email)
            for listener in self.listeners:
                listener(email)

    def all(self) -> list[dict[str, str]]:
        with self._lock:
            return [asdict(email) for email in self._emails]


@contextmanager
def dynamodb_paused() -> Iterator[None]:
    """No DynamoDB request runs meanwhile: for what reads or trims moto's state directly
    (devserver/local_stream.py)."""
    with _dynamodb_lock:
        yield


def create_table(table: dict[str, Any], name: str, streams: bool = False) -> None:
    """The template's table. Its stream only with `streams`: moto keeps every stream
    record and copies them with the table for each transaction, which only a world whose
    stream is read and trimmed (devserver/stream_consumers.py) can afford."""
    client = boto3.client("dynamodb", region_name=REGION)
    arguments: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": table.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if table.get("GlobalSecondaryIndexes"):
        arguments["GlobalSecondaryIndexes"] = table["GlobalSecondaryIndexes"]
    stream = table.get("StreamSpecification")
    if streams and stream:
        arguments["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    client.create_table(**arguments)
    ttl = table.get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)


def create_signing_key(secret_id: str, value: str | None = None) -> None:
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=secret_id, SecretString=value or secrets.token_urlsafe(48)
    )


def create_client_secrets(secret_values: dict[str, str]) -> None:
    """The OAuth providers' client secrets (Secrets Manager id -> value)."""
    client = boto3.client("secretsmanager", region_name=REGION)
    for secret_id, value in secret_values.items():
        client.create_secret(Name=secret_id, SecretString=value)


def verify_sender(address: str) -> None:
    boto3.client("sesv2", region_name=REGION).create_email_identity(EmailIdentity=address)


def create_configuration_set(name: str) -> None:
    """The set emails are sent with, as template.yaml's EmailConfigurationSet: SES refuses
    a send naming a set it does not hold (moto does not check, but it is there anyway)."""
    boto3.client("sesv2", region_name=REGION).create_configuration_set(ConfigurationSetName=name)


def capture_emails(outbox: Outbox) -> None:
    """Every SES v2 client created from now on, by boto3 or plain botocore, reports its
    SendEmail calls to the outbox (botocore copies its built-in handlers into each new
    session, the way moto hooks in)."""
    from botocore import handlers

    entry = ("provide-client-params.sesv2.SendEmail", outbox.record)
    handlers.BUILTIN_HANDLERS[:] = [h for h in handlers.BUILTIN_HANDLERS if h[0] != entry[0]]
    handlers.BUILTIN_HANDLERS.append(entry)


class DynamoDBCallCounter:
    """Every DynamoDB API call made in this process, by operation (GET /_dev/dynamodb-calls):
    lets a test over HTTP see that a request cost no database call at all.

    Also the calls of the request the current thread serves (its authorizer and function
    run on that thread; the stream consumers on their own), which the server answers in
    the DYNAMODB_CALLS_HEADER of the local server only (tools/soak counts them per route)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[str] = []
        self._request = threading.local()

    def record(self, event_name: str = "", **_: Any) -> None:
        # Interned: a long run (tools/soak) keeps one string per operation, not one per call.
        operation = sys.intern(event_name.rsplit(".", 1)[-1])
        with self._lock:
            self.calls.append(operation)
        per_request: list[str] | None = getattr(self._request, "calls", None)
        if per_request is not None:
            per_request.append(operation)

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.calls)

    def start_request(self) -> None:
        """From now on, this thread's calls are its request's."""
        self._request.calls = []

    def request_calls(self) -> str:
        """This thread's calls since start_request, by operation: `GetItem=2 Query=1`."""
        calls: list[str] = getattr(self._request, "calls", None) or []
        self._request.calls = None
        return " ".join(f"{operation}={count}" for operation, count in sorted(Counter(calls).items()))


dynamodb_calls = DynamoDBCallCounter()


def count_dynamodb_calls() -> None:
    from botocore import handlers

    entry = ("before-call.dynamodb", dynamodb_calls.record)
    if entry not in handlers.BUILTIN_HANDLERS:
        handlers.BUILTIN_HANDLERS.append(entry)


class _UntrackedInstances(list[Any]):
    """A model class's `instances_tracked` that keeps nothing."""

    def append(self, _instance: Any) -> None:
        pass


def stop_tracking_model_instances() -> None:
    """moto keeps every model object it ever creates (`BaseModel.__new__` appends it to its
    class's `instances_tracked`, for moto's server dashboard) until the mock stops. Each
    TransactWriteItems deep-copies the whole table (to undo a cancelled one): every Item,
    the Table and its stream shard, all kept. The local server grew by the table's size on
    every transaction (gigabytes within minutes of tools/soak); nothing here reads the list."""
    from moto.core.model_instances import model_data

    for models in model_data.values():
        for model in models.values():
            model.instances_tracked = _UntrackedInstances()  # type: ignore[attr-defined]


@contextmanager
def embedded_aws(
    table: dict[str, Any], environment: dict[str, str], state_file: str | None = None, streams: bool = False
) -> Iterator[Outbox]:
    """Start moto with the table (with its stream if `streams`), the signing, TOTP and
    idempotency keys, the SES
    sender and its configuration set in place."""
    from moto import mock_aws

    with mock_aws():
        serialize_dynamodb_requests()
        transactions_copy_only_what_they_touch()
        boto3.setup_default_session(region_name=REGION)
        outbox = Outbox()
        capture_emails(outbox)
        count_dynamodb_calls()
        create_table(table, environment["TABLE_NAME"], streams=streams)
        create_signing_key(environment["SIGNING_KEY_SECRET_ID"], _saved_secret(state_file, "signing_key"))
        create_signing_key(environment["TOTP_KEY_SECRET_ID"], _saved_secret(state_file, "totp_key"))
        if environment.get("IDEMPOTENCY_KEY_SECRET_ID"):
            create_signing_key(environment["IDEMPOTENCY_KEY_SECRET_ID"])
        verify_sender(environment["SENDER_EMAIL"])
        if environment.get("SES_CONFIGURATION_SET"):
            create_configuration_set(environment["SES_CONFIGURATION_SET"])
        # After the setup above: each service's models are imported (and registered) by then.
        stop_tracking_model_instances()
        yield outbox


def dump_items(table_name: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table_name):
        items.extend(page["Items"])
    return items


def load_items(table_name: str, items: list[dict[str, Any]]) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    for start in range(0, len(items), 25):
        batch: Any = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
        client.batch_write_item(RequestItems={table_name: batch})


def _saved_secret(path: str | None, name: str) -> str | None:
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            value = json.load(handle).get(name)
    except FileNotFoundError:
        return None
    return str(value) if value else None


def save_state(path: str, table_name: str, secret_id: str, totp_secret_id: str | None = None) -> None:
    """Keep the items and the keys, so tokens issued before a restart still work and
    sealed TOTP secrets still open."""
    client = boto3.client("secretsmanager", region_name=REGION)
    state: dict[str, Any] = {
        "items": dump_items(table_name),
        "signing_key": client.get_secret_value(SecretId=secret_id)["SecretString"],
    }
    if totp_secret_id:
        state["totp_key"] = client.get_secret_value(SecretId=totp_secret_id)["SecretString"]
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(state, handle)


def restore_state(path: str, table_name: str) -> int:
    try:
        with open(path, encoding="utf-8") as handle:
            items = json.load(handle).get("items", [])
    except FileNotFoundError:
        return 0
    load_items(table_name, items)
    return len(items)
