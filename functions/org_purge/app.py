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

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from kuploy_access.wiring import org_purge_service

logger = Logger()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


def deleted_org_id(record: DynamoDBRecord) -> str:
    image = record.dynamodb.new_image if record.dynamodb is not None else {}
    if not image.get("org_id"):
        raise ValueError("a stream record without the organization's new image (StreamViewType NEW_IMAGE)")
    return str(image["org_id"])


def purge_deleted_org(record: DynamoDBRecord, lambda_context: LambdaContext) -> None:
    org_id = deleted_org_id(record)
    try:
        outcome = org_purge_service().purge(org_id, lambda_context.get_remaining_time_in_millis)
    except Exception:
        metrics.add_metric(name="OrgPurgeFailures", unit=MetricUnit.Count, value=1)
        logger.exception("organization purge failed", extra={"org_id": org_id})
        raise
    metrics.add_metric(name="OrgPurgeItems", unit=MetricUnit.Count, value=outcome.removed)
    message = "organization purged" if outcome.finished else "organization purge handed over to a new run"
    logger.info(message, extra={"org_id": org_id, "items_removed": outcome.removed})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=purge_deleted_org, processor=processor, context=context)
