"""PynamoDB models: one table, several item shapes. Their keys are built in keys.py."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from kuploy_access.adapters.dynamodb.keys import ORG_SK, PROFILE_SK, member_sk, org_pk, user_pk
from kuploy_access.adapters.retry_policy import DYNAMODB
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
        # adapters/retry_policy.py: PynamoDB makes this botocore's standard retry mode
        # with one attempt more; its own defaults wait 15 s to connect and 30 s to read.
        max_retry_attempts = DYNAMODB.attempts - 1
        connect_timeout_seconds = DYNAMODB.connect_timeout
        read_timeout_seconds = DYNAMODB.read_timeout

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # PynamoDB caches a connection on the model class and describes the table from
        # that class's fields; a subclass that inherited TableItem's connection would
        # not know its index (gsi1). Each item shape gets its own.
        super().__init_subclass__(**kwargs)
        cls._connection = None


class UserItem(TableItem):
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    password_hash = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    two_factor_enabled = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    pending_verification_hashes = UnicodeSetAttribute(null=True)
    reset_token_hash = UnicodeAttribute(null=True)
    totp_secret_sealed = UnicodeAttribute(null=True)
    totp_pending_sealed = UnicodeAttribute(null=True)
    totp_last_step = NumberAttribute(null=True)
    recovery_code_hashes = UnicodeSetAttribute(null=True)
    # How many providers are linked: what the condition that keeps the last way to sign
    # in reads (adapters/dynamodb/identities.py). Absent before the first link.
    identity_count = NumberAttribute(null=True)


class EmailGuardItem(TableItem):
    user_id = UnicodeAttribute()


class OneTimeTokenItem(TableItem):
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires_at_epoch = TTLAttribute()
    # Email verification links: the sign-up's argon2 hash (absent: the link sets no
    # password) and where the request came from.
    password_hash = UnicodeAttribute(null=True)
    requested_at = UTCDateTimeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)


class IdentityItem(TableItem):
    """A linked provider account, written twice in one transaction: under the provider
    account (`identity_pk`: which account it signs in to) and in the account's partition
    (`account_identity_sk`: its identities, one per provider). Both carry every field."""

    provider = UnicodeAttribute()
    subject = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    linked_at = UTCDateTimeAttribute()


class OAuthFlowItem(TableItem):
    """An OAuth flow from its start to its callback (domain/identities.py, OAuthFlow);
    `used_at` is set once, by the callback that uses it."""

    state_hash = UnicodeAttribute()
    provider = UnicodeAttribute()
    mode = UnicodeAttribute()
    redirect_to = UnicodeAttribute()
    browser_hash = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    user_id = UnicodeAttribute(null=True)
    session_id = UnicodeAttribute(null=True)
    used_at = UTCDateTimeAttribute(null=True)
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
    auth_time = UTCDateTimeAttribute(null=True)
    expires_at_epoch = TTLAttribute()


class RefreshTokenItem(TableItem):
    session_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    idle_expires_at = UTCDateTimeAttribute(null=True)
    rotated_at = UTCDateTimeAttribute(null=True)
    # A copy of the session's: a refresh reads only this item.
    auth_time = UTCDateTimeAttribute(null=True)
    expires_at_epoch = TTLAttribute()


class RateCounterItem(TableItem):
    hits = NumberAttribute(default=0)
    expires_at_epoch = TTLAttribute()


class ConsecutiveFailuresItem(TableItem):
    """An account's consecutive password failures, and when its owner was last told of
    the lock (domain/login_throttle.py)."""

    hits = NumberAttribute(default=0)
    lock_noticed_at = UTCDateTimeAttribute(null=True)
    expires_at_epoch = TTLAttribute()


class LoginLookupItem(TableItem):
    """A read-only view that fits both an email guard and a counter, so that login
    reads the account and its failure counters in one BatchGetItem."""

    user_id = UnicodeAttribute(null=True)
    hits = NumberAttribute(null=True)


class OrganizationItem(TableItem):
    org_id = UnicodeAttribute()
    name = UnicodeAttribute()
    plan = UnicodeAttribute(default="free")
    require_2fa = BooleanAttribute(default=False)
    owner_id = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    created_by = UnicodeAttribute()
    member_count = NumberAttribute(default=1)
    deleted_at = UTCDateTimeAttribute(null=True)
    # Bumped by a purge run that hands the rest over: the stream's cue for the next run.
    purge_handovers = NumberAttribute(null=True)


class MembershipItem(TableItem):
    """In the organization's partition; the index answers "organizations of a user"."""

    org_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    # Copied from the account so that a page of members is one Query; the account
    # is the source of truth and updates these copies (name, 2FA status).
    email = UnicodeAttribute(default="")
    name = UnicodeAttribute(default="")
    two_factor_enabled = BooleanAttribute(default=False)
    joined_at = UTCDateTimeAttribute()
    last_active_at = UTCDateTimeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_user = Gsi1()


class InvitationItem(TableItem):
    """The invitation (in its organization's partition) and its copy under the link's
    hash, which answers the emailed link with one GetItem. The index lists an address's
    invitations (the copy has no index keys)."""

    invitation_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    org_name = UnicodeAttribute()
    email = UnicodeAttribute()
    role = UnicodeAttribute()
    invited_by = UnicodeAttribute()
    inviter_name = UnicodeAttribute(default="")
    status = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    expires_at_epoch = TTLAttribute()
    by_invitee = Gsi1()


class InviteeGuardItem(TableItem):
    """In the organization's partition: at most one pending invitation per address."""

    invitation_id = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    expires_at_epoch = TTLAttribute()


class ResourceItem(TableItem):
    """Projects, applications, deployments, databases and channels in the org's partition."""

    kind = UnicodeAttribute()
    resource_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    parent_id = UnicodeAttribute(default="")
    name = UnicodeAttribute()
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    fields_json = UnicodeAttribute(default="{}")


class ApiKeyItem(TableItem):
    """Under the SHA-256 of the key: the authorizer's one GetItem. The index lists an
    organization's keys."""

    key_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    prefix = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    scopes = UnicodeSetAttribute(null=True)
    preset = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    revoked_at = UTCDateTimeAttribute(null=True)
    last_used_at = UTCDateTimeAttribute(null=True)
    last_used_ip = UnicodeAttribute(null=True)
    rotated_to = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    by_org = Gsi1()


class AuditEventItem(TableItem):
    """One partition per organization (or account), sorted by event id (time-sortable):
    newest first with one Query."""

    event_id = UnicodeAttribute()
    org_id = UnicodeAttribute()
    at = UTCDateTimeAttribute()
    actor_type = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    actor_email = UnicodeAttribute(default="")
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    ip = UnicodeAttribute(default="")
    user_agent = UnicodeAttribute(default="")
    details_json = UnicodeAttribute(default="{}")
    expires_at_epoch = TTLAttribute()


# --- an item by its key alone: what an update, a delete or a condition check names ------


def user_ref(user_id: str) -> UserItem:
    return UserItem(pk=user_pk(user_id), sk=PROFILE_SK)


def org_ref(org_id: str) -> OrganizationItem:
    return OrganizationItem(pk=org_pk(org_id), sk=ORG_SK)


def member_ref(org_id: str, user_id: str) -> MembershipItem:
    return MembershipItem(pk=org_pk(org_id), sk=member_sk(user_id))
