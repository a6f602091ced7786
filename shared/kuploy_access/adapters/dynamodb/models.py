"""PynamoDB models: one table, several item shapes."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from kuploy_access.config import settings

GSI1_NAME = "gsi1"


class Gsi1(GlobalSecondaryIndex[Any]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = GSI1_NAME
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """The table; each item shape below inherits its Meta."""

    class Meta:
        table_name = settings().table_name
        region = settings().region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


class UserItem(TableItem):
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    password_hash = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    two_factor_enabled = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    verification_token_hash = UnicodeAttribute(null=True)
    reset_token_hash = UnicodeAttribute(null=True)


class EmailGuardItem(TableItem):
    user_id = UnicodeAttribute()


class OneTimeTokenItem(TableItem):
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires_at_epoch = TTLAttribute()


class SessionItem(TableItem):
    session_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    last_used_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    ip = UnicodeAttribute(default="")
    user_agent = UnicodeAttribute(default="")
    refresh_token_hash = UnicodeAttribute()
    idle_expires_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    expires_at_epoch = TTLAttribute()


class RefreshTokenItem(TableItem):
    session_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    idle_expires_at = UTCDateTimeAttribute(null=True)
    rotated_at = UTCDateTimeAttribute(null=True)
    expires_at_epoch = TTLAttribute()


class RateCounterItem(TableItem):
    hits = NumberAttribute(default=0)
    expires_at_epoch = TTLAttribute()


class LoginLookupItem(TableItem):
    """A read-only view that fits both an email guard and a counter, so that login
    reads the account and its failure counters in one BatchGetItem."""

    user_id = UnicodeAttribute(null=True)
    hits = NumberAttribute(null=True)


class MembershipItem(TableItem):
    org_id = UnicodeAttribute()
    org_name = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_user = Gsi1()


def user_key(user_id: str) -> str:
    return f"USER#{user_id}"


def email_key(email: str) -> str:
    return f"EMAIL#{email}"
