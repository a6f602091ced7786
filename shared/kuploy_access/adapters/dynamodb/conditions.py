"""The conditions that several repositories write, and the one way a single conditional
write reports that its condition did not hold.

Every item of the table has `pk`, so "the item is there" and "it is not" read the same
whatever its shape.
"""

from __future__ import annotations

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from kuploy_access.adapters.dynamodb.models import MembershipItem, OrganizationItem, RateCounterItem, TableItem
from kuploy_access.domain.permissions import Role


def absent() -> Condition:
    """Nothing is stored under the item's key yet: a put that creates, never replaces."""
    condition: Condition = TableItem.pk.does_not_exist()
    return condition


def present() -> Condition:
    """The item is stored: an update or delete that never creates."""
    condition: Condition = TableItem.pk.exists()
    return condition


def live_org() -> Condition:
    """The organization exists and is not being deleted."""
    condition: Condition = OrganizationItem.pk.exists() & OrganizationItem.deleted_at.does_not_exist()
    return condition


def member_not_owner() -> Condition:
    """A member other than the owner: the owner's membership changes only by a transfer."""
    condition: Condition = MembershipItem.pk.exists() & (MembershipItem.role != Role.OWNER.value)
    return condition


def hits_below(limit: int) -> Condition:
    """A counter (a rate window, a failure count, a challenge's wrong codes) that has room
    for one more."""
    condition: Condition = RateCounterItem.hits.does_not_exist() | (RateCounterItem.hits < limit)
    return condition


def update_if(item: TableItem, actions: list[Action], condition: Condition) -> bool:
    """One UpdateItem; False, with nothing written, when `condition` did not hold."""
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True
