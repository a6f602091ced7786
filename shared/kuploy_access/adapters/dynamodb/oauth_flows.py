"""OAuth flows in progress, stored under the SHA-256 of their `state` and used once."""

from __future__ import annotations

from datetime import UTC, datetime

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from kuploy_access.adapters.dynamodb.conditions import absent, present
from kuploy_access.adapters.dynamodb.keys import OAUTH_FLOW_SK, oauth_flow_pk
from kuploy_access.adapters.dynamodb.models import OAuthFlowItem
from kuploy_access.domain.identities import FlowMode, OAuthFlow, Provider


def _flow_item(flow: OAuthFlow) -> OAuthFlowItem:
    return OAuthFlowItem(
        pk=oauth_flow_pk(flow.state_hash),
        sk=OAUTH_FLOW_SK,
        state_hash=flow.state_hash,
        provider=flow.provider.value,
        mode=flow.mode.value,
        redirect_to=flow.redirect_to,
        browser_hash=flow.browser_hash,
        expires_at=flow.expires_at,
        user_id=flow.user_id,
        session_id=flow.session_id,
        # DynamoDB deletes it some time after it expired; the callback checks expiry.
        expires_at_epoch=flow.expires_at,
    )


def _flow_of(item: OAuthFlowItem) -> OAuthFlow:
    return OAuthFlow(
        state_hash=item.state_hash,
        provider=Provider(item.provider),
        mode=FlowMode(item.mode),
        redirect_to=item.redirect_to,
        browser_hash=item.browser_hash,
        expires_at=item.expires_at,
        user_id=item.user_id,
        session_id=item.session_id,
    )


def _unused() -> Condition:
    condition: Condition = present() & OAuthFlowItem.used_at.does_not_exist()
    return condition


class DynamoOAuthFlows:
    """OAuthFlows (services/ports/identities.py)."""

    def save(self, flow: OAuthFlow) -> None:
        _flow_item(flow).save(condition=absent())

    def use(self, state_hash: str) -> tuple[OAuthFlow, bool] | None:
        item = OAuthFlowItem(pk=oauth_flow_pk(state_hash), sk=OAUTH_FLOW_SK)
        try:
            # One conditional write: of racing callbacks with this state, one sets used_at.
            item.update(actions=[OAuthFlowItem.used_at.set(datetime.now(UTC))], condition=_unused())
        except UpdateError as error:
            if error.cause_response_code != "ConditionalCheckFailedException":
                raise
        else:
            return _flow_of(item), True
        try:
            used = OAuthFlowItem.get(oauth_flow_pk(state_hash), OAUTH_FLOW_SK, consistent_read=True)
        except OAuthFlowItem.DoesNotExist:
            return None
        return _flow_of(used), False
