"""The organization purge, in the background (README, "Deleting an organization").

`DELETE /orgs/{org_id}` marks the organization deleted and answers. The table's stream
hands this function each change of a deleted organization's profile (template.yaml,
OrgPurgeFunction's filter): the mark itself, and the hand-over of a run that ran short
of time. Each record is one organization; a failed record is reported alone (partial
batch response), retried by the event source mapping, and then sent to
OrgPurgeFailedQueue, whose alarm pages.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from kuploy_access.observability import add_to_count, count, instrumented, logger
from kuploy_access.wiring import org_purge_service

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def deleted_org_id(record: DynamoDBRecord) -> str:
    image = record.dynamodb.new_image if record.dynamodb is not None else {}
    if not image.get("org_id"):
        raise ValueError("a stream record without the organization's new image (StreamViewType NEW_IMAGE)")
    return str(image["org_id"])


def handovers_seen(record: DynamoDBRecord) -> int | None:
    """The profile's hand-over count in this record (None: the deletion mark itself),
    so that a retried batch hands over at most once per record."""
    image = record.dynamodb.new_image if record.dynamodb is not None else {}
    count = image.get("purge_handovers")
    return None if count is None else int(count)


def purge_deleted_org(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    org_id = deleted_org_id(record)
    logger.append_keys(org_id=org_id)  # on this record's lines only
    try:
        outcome = org_purge_service().purge(org_id, lambda_context.get_remaining_time_in_millis, handovers_seen(record))
    except Exception:
        count("OrgPurgeFailures")
        logger.exception("organization purge failed")
        raise
    else:
        add_to_count("OrgPurgeItems", outcome.removed)
        done = "organization purged" if outcome.finished else "organization purge left to a new run"
        logger.info(done, extra={"items_removed": outcome.removed})
    finally:
        logger.remove_keys(["org_id"])


@instrumented
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return dict(
        process_partial_response(event=event, record_handler=purge_deleted_org, processor=processor, context=context)
    )
