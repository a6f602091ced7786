"""Organization memberships, read through the inverted index for one user."""

from __future__ import annotations

from kuploy_access.adapters.dynamodb.models import MembershipItem, user_key
from kuploy_access.domain.users import OrganizationMembership


class DynamoMembershipRepository:
    def organizations_of(self, user_id: str) -> list[OrganizationMembership]:
        return [
            OrganizationMembership(org_id=item.org_id, org_name=item.org_name, role=item.role)
            for item in MembershipItem.by_user.query(user_key(user_id), MembershipItem.gsi1sk.startswith("ORG#"))
        ]
