"""The audit log: one partition per organization, sort key = time-sortable event id."""

from __future__ import annotations

import json

from pynamodb.exceptions import PutError
from pynamodb.expressions.condition import Condition

from kuploy_access.adapters.dynamodb.conditions import absent, present
from kuploy_access.adapters.dynamodb.keys import EVENT_SK_PREFIX, audit_pk, event_sk
from kuploy_access.adapters.dynamodb.models import AuditEventItem
from kuploy_access.adapters.dynamodb.query_pages import query_page
from kuploy_access.config import settings
from kuploy_access.domain.audit import ANY_EVENT, FILTER_READ_BUDGET, Actor, AuditEvent, AuditFilter
from kuploy_access.domain.paging import Page


def audit_item(event: AuditEvent) -> AuditEventItem:
    return AuditEventItem(
        pk=audit_pk(event.org_id),
        sk=event_sk(event.id),
        event_id=event.id,
        org_id=event.org_id,
        at=event.at,
        actor_type=event.actor.type,
        actor_id=event.actor.id,
        actor_email=event.actor.email,
        action=event.action,
        target=event.target,
        ip=event.ip,
        user_agent=event.user_agent,
        details_json=json.dumps(event.details, sort_keys=True),
        expires_at_epoch=event.at + settings().audit_retention,
    )


def _event(item: AuditEventItem) -> AuditEvent:
    return AuditEvent(
        id=item.event_id,
        org_id=item.org_id,
        at=item.at,
        actor=Actor(type=item.actor_type, id=item.actor_id, email=item.actor_email or ""),
        action=item.action,
        target=item.target,
        ip=item.ip or "",
        user_agent=item.user_agent or "",
        details=json.loads(item.details_json or "{}"),
    )


class DynamoAuditLog:
    def record(self, event: AuditEvent) -> None:
        # Event ids are unique; the condition keeps an event from ever being rewritten.
        audit_item(event).save(condition=absent())

    def decoy(self, event: AuditEvent) -> None:
        try:
            audit_item(event).save(condition=present())
        except PutError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise

    def page(self, org_id: str, limit: int, cursor: str | None, only: AuditFilter = ANY_EVENT) -> Page[AuditEvent]:
        # A filter reads the partition from the cursor on until the page is full or its
        # budget of reads is spent (domain/audit.py): a rare match costs more pages,
        # never a wrong one, and no request reads the whole 400 days.
        page = query_page(
            AuditEventItem,
            audit_pk(org_id),
            EVENT_SK_PREFIX,
            limit,
            cursor,
            newest_first=True,
            filter_condition=_matching(only),
            read_budget=FILTER_READ_BUDGET,
        )
        return Page([_event(item) for item in page.items], page.next_cursor)


def _matching(only: AuditFilter) -> Condition | None:
    conditions: list[Condition] = []
    if only.actor:
        conditions.append((AuditEventItem.actor_id == only.actor) | (AuditEventItem.actor_email == only.actor))
    if only.action:
        conditions.append((AuditEventItem.action == only.action) | AuditEventItem.action.startswith(only.action_group))
    if not conditions:
        return None
    combined = conditions[0]
    for condition in conditions[1:]:
        combined &= condition
    return combined
