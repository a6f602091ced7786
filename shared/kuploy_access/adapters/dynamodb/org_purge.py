"""The organization purge on the table: a deleted organization's API keys (under their
hashes, listed by the index), its invitations' links (under the links' hashes), its
partition, and its profile last, in steps of bounded size.

Reads of the table are strongly consistent, so a step never sees what the step before
it removed. The key index cannot be read that way: a key written a moment before the
mark could reach the index after the last step; it would then stay behind, and still
grant nothing (every organization route reads the organization first).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pynamodb.exceptions import DeleteError

from kuploy_access.adapters.dynamodb.conditions import update_if
from kuploy_access.adapters.dynamodb.keys import (
    API_KEY_GSI1SK_PREFIX,
    INVITATION_LINK_SK,
    INVITATION_SK_PREFIX,
    ORG_SK,
    invitation_link_pk,
    org_api_keys_gsi1pk,
    org_pk,
)
from kuploy_access.adapters.dynamodb.models import (
    ApiKeyItem,
    InvitationItem,
    OrganizationItem,
    TableItem,
    org_ref,
)
from kuploy_access.domain.org_purge import OrganizationNotDeleted, PurgeStep

# What a step reads of the items it removes: their keys (and an invitation's link).
_KEYS = ["pk", "sk"]


def _delete_all(items: Iterable[TableItem]) -> int:
    """BatchWriteItem, 25 at a time (PynamoDB sends what DynamoDB left unprocessed again)."""
    removed = 0
    with TableItem.batch_write() as batch:
        for item in items:
            batch.delete(item)
            removed += 1
    return removed


class DynamoOrgPurge:
    def purge_step(self, org_id: str, limit: int) -> PurgeStep:
        try:
            profile = OrganizationItem.get(org_pk(org_id), ORG_SK, consistent_read=True)
        except OrganizationItem.DoesNotExist:
            return PurgeStep(0, finished=True)
        deleted_at: datetime | None = profile.deleted_at
        if deleted_at is None:
            raise OrganizationNotDeleted(org_id)
        for phase in (self._api_keys, self._invitations, self._partition):
            removed = phase(org_id, limit)
            if removed:
                return PurgeStep(removed, finished=False)
        return PurgeStep(self._profile(org_id), finished=True)

    def hand_over(self, org_id: str, handovers_seen: int | None) -> bool:
        # A change of the deleted profile: the table's stream hands it to a new run
        # (template.yaml, OrgPurgeFunction's filter). Never recreates a removed profile.
        # The count must still be the record's: a retried batch hands over once.
        count = OrganizationItem.purge_handovers
        unchanged = count.does_not_exist() if handovers_seen is None else count == handovers_seen
        return update_if(
            org_ref(org_id),
            [count.add(1)],
            OrganizationItem.deleted_at.exists() & unchanged,
        )

    def _api_keys(self, org_id: str, limit: int) -> int:
        # First: from then on the authorizer no longer finds them (401 rather than 404).
        return _delete_all(
            ApiKeyItem.by_org.query(
                org_api_keys_gsi1pk(org_id),
                ApiKeyItem.gsi1sk.startswith(API_KEY_GSI1SK_PREFIX),
                limit=limit,
                attributes_to_get=_KEYS,
            )
        )

    def _invitations(self, org_id: str, limit: int) -> int:
        invitations = list(
            InvitationItem.query(
                org_pk(org_id),
                InvitationItem.sk.startswith(INVITATION_SK_PREFIX),
                consistent_read=True,
                limit=max(1, limit // 2),
                attributes_to_get=[*_KEYS, "token_hash"],
            )
        )
        # The links first, in a write of their own: only the invitation knows where its
        # link is, so a run cut short between the two must leave the invitation.
        links = _delete_all(
            InvitationItem(pk=invitation_link_pk(i.token_hash), sk=INVITATION_LINK_SK) for i in invitations
        )
        return links + _delete_all(invitations)

    def _partition(self, org_id: str, limit: int) -> int:
        page = TableItem.query(org_pk(org_id), consistent_read=True, limit=limit + 1, attributes_to_get=_KEYS)
        return _delete_all([item for item in page if item.sk != ORG_SK][:limit])

    def _profile(self, org_id: str) -> int:
        try:
            org_ref(org_id).delete(condition=OrganizationItem.deleted_at.exists())
        except DeleteError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                return 0  # another run removed it a moment ago
            raise
        return 1
