"""KeyRecords: the API keys as the authorizer reads them, on the fake and on DynamoDB.

The adapter, KeyLookup, reads with plain botocore the items that the PynamoDB repository
writes, and writes the "last used" mark the repository reads back: the time format, the
scopes' type, the revocation and expiry fields and the once-a-minute condition are where
the two could part. So keys are written here as ApiKeyService writes them (the ApiKeys
port: create, revoke, rotate) and read as the authorizer reads them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from devserver.embedded_aws import REGION
from kuploy_access.adapters.api_key_lookup import KeyLookup
from kuploy_access.domain.api_keys import USAGE_RESOLUTION, ApiKey, KeyRecord
from kuploy_access.services.authorizer import KeyRecords
from tests.contract.org_fixtures import NOW, ORG_ID, OrgHouse, an_api_key, an_event, founded, org_house
from tests.unit.fakes import FakeKeys

# Odd microseconds everywhere: a time that loses them, or its zone, on the way fails.
EXPIRES = datetime(2030, 2, 1, 3, 4, 5, 123457, tzinfo=UTC)
FIRST_USE = NOW + timedelta(seconds=1, microseconds=4321)
MICROSECOND = timedelta(microseconds=1)
IP = "203.0.113.9"
OTHER_IP = "2001:db8::7"


@dataclass
class KeyTable:
    """Keys written through the repository, read through KeyRecords. The fakes of the two
    ports are separate, where the adapters share one item: on the fake side each write
    is copied into FakeKeys, as the key's item holds it afterwards."""

    house: OrgHouse
    records: KeyRecords

    def create(self, key: ApiKey) -> None:
        self.house.api_keys.create(key, an_event(action="api_key.created"))
        self._copy(key)

    def revoke(self, key: ApiKey, at: datetime) -> None:
        self.house.api_keys.revoke(key, at, an_event(action="api_key.revoked", at=at))
        self._copy(key)

    def rotate(self, old: ApiKey, new: ApiKey, old_ends_at: datetime) -> None:
        self.house.api_keys.rotate(old, new, old_ends_at, an_event(action="api_key.rotated"))
        self._copy(old)
        self._copy(new)

    def last_use(self, key: ApiKey) -> tuple[datetime | None, str]:
        """When and from where the key was last used. On DynamoDB, as the repository reads
        back what KeyLookup wrote (what the list of keys shows)."""
        if isinstance(self.records, FakeKeys):
            return self.records.records[key.key_hash].last_used_at, self.records.used_from.get(key.key_hash, "")
        stored = self.house.api_keys.get(key.org_id, key.id)
        assert stored is not None
        return stored.last_used_at, stored.last_used_ip

    def _copy(self, key: ApiKey) -> None:
        if isinstance(self.records, FakeKeys):
            stored = self.house.api_keys.get(key.org_id, key.id)
            assert stored is not None
            self.records.put(stored)


@pytest.fixture(params=["fake", "dynamo"])
def table(request: pytest.FixtureRequest) -> KeyTable:
    house = org_house(request)
    founded(house)
    if house.backend == "fake":
        return KeyTable(house, FakeKeys())
    return KeyTable(house, KeyLookup(os.environ["TABLE_NAME"], REGION))


def a_key(scopes: frozenset[str], expires_at: datetime | None = None) -> ApiKey:
    return replace(an_api_key(expires_at=expires_at), scopes=scopes)


def found(table: KeyTable, key: ApiKey) -> KeyRecord:
    record = table.records.find(key.key_hash)
    assert record is not None
    return record


def assert_utc(*moments: datetime | None) -> None:
    for moment in moments:
        assert moment is None or moment.utcoffset() == timedelta(0), moment


# --- find -----------------------------------------------------------------------------------------


def test_an_unknown_hash_is_no_key(table: KeyTable) -> None:
    table.create(a_key(frozenset({"org:read"})))

    assert table.records.find("0" * 64) is None
    assert table.records.find(an_api_key().key_hash) is None


def test_a_created_key_reads_as_it_was_written(table: KeyTable) -> None:
    key = a_key(frozenset({"apps:deploy", "org:read", "databases:read", "apps:read"}), expires_at=EXPIRES)
    unscoped = a_key(frozenset())
    table.create(key)
    table.create(unscoped)

    record = found(table, key)
    assert record == KeyRecord(
        key_id=key.id,
        org_id=ORG_ID,
        scopes=("apps:deploy", "apps:read", "databases:read", "org:read"),
        expires_at=EXPIRES,
        revoked_at=None,
        last_used_at=None,
    )
    assert type(record.scopes) is tuple
    assert_utc(record.expires_at)
    assert found(table, unscoped) == KeyRecord(
        key_id=unscoped.id,
        org_id=ORG_ID,
        scopes=(),
        expires_at=None,
        revoked_at=None,
        last_used_at=None,
    )


def test_a_created_key_works_until_it_expires_and_was_never_used(table: KeyTable) -> None:
    key = a_key(frozenset({"org:read"}), expires_at=EXPIRES)
    table.create(key)

    record = found(table, key)
    assert record.is_usable(NOW)
    assert record.is_usable(EXPIRES - MICROSECOND)
    assert not record.is_usable(EXPIRES)
    assert record.needs_usage_mark(NOW)


def test_a_key_without_an_expiry_never_expires(table: KeyTable) -> None:
    key = a_key(frozenset({"org:read"}))
    table.create(key)

    assert found(table, key).is_usable(NOW + timedelta(days=3650))


def test_a_revoked_key_ends_at_its_revocation(table: KeyTable) -> None:
    key = a_key(frozenset({"org:read"}), expires_at=EXPIRES)
    table.create(key)
    before = found(table, key)
    revoked_at = NOW + timedelta(minutes=5, microseconds=777)

    table.revoke(key, revoked_at)

    record = found(table, key)
    assert record == replace(before, revoked_at=revoked_at)
    assert_utc(record.revoked_at)
    assert record.is_usable(revoked_at - MICROSECOND)
    assert not record.is_usable(revoked_at)


def test_a_rotated_key_works_through_its_grace_period_and_its_successor_at_once(table: KeyTable) -> None:
    old = a_key(frozenset({"org:read", "apps:read"}), expires_at=EXPIRES)
    new = a_key(frozenset({"org:read", "apps:deploy"}), expires_at=EXPIRES + timedelta(days=30))
    table.create(old)
    before = found(table, old)
    grace_ends = NOW + timedelta(hours=24, microseconds=999999)

    table.rotate(old, new, grace_ends)

    record = found(table, old)
    assert record == replace(before, revoked_at=grace_ends)
    assert_utc(record.revoked_at)
    assert record.is_usable(NOW)
    assert record.is_usable(grace_ends - MICROSECOND)
    assert not record.is_usable(grace_ends)
    assert found(table, new) == KeyRecord(
        key_id=new.id,
        org_id=ORG_ID,
        scopes=("apps:deploy", "org:read"),
        expires_at=EXPIRES + timedelta(days=30),
        revoked_at=None,
        last_used_at=None,
    )
    assert found(table, new).is_usable(NOW)


def test_a_grace_period_cut_short_ends_the_old_key_then(table: KeyTable) -> None:
    old, new = a_key(frozenset({"org:read"})), a_key(frozenset({"org:read"}))
    table.create(old)
    table.rotate(old, new, NOW + timedelta(hours=24))
    cut_at = NOW + timedelta(hours=1, microseconds=31)

    table.revoke(old, cut_at)

    record = found(table, old)
    assert record.revoked_at == cut_at
    assert not record.is_usable(cut_at)
    assert found(table, new).is_usable(cut_at)


# --- mark_used ------------------------------------------------------------------------------------


def test_a_key_is_marked_as_used_once_per_resolution(table: KeyTable) -> None:
    key = a_key(frozenset({"org:read"}), expires_at=EXPIRES)
    table.create(key)
    created = found(table, key)

    assert table.records.mark_used(key.key_hash, FIRST_USE, IP) is True
    marked = found(table, key)
    assert marked == replace(created, last_used_at=FIRST_USE)
    assert_utc(marked.last_used_at)
    assert table.last_use(key) == (FIRST_USE, IP)
    assert not marked.needs_usage_mark(FIRST_USE + USAGE_RESOLUTION - MICROSECOND)
    assert marked.needs_usage_mark(FIRST_USE + USAGE_RESOLUTION)

    # Another container, within the minute: nothing is written.
    assert table.records.mark_used(key.key_hash, FIRST_USE + USAGE_RESOLUTION - MICROSECOND, OTHER_IP) is False
    assert table.records.mark_used(key.key_hash, FIRST_USE - timedelta(seconds=1), OTHER_IP) is False
    assert found(table, key) == marked
    assert table.last_use(key) == (FIRST_USE, IP)

    later = FIRST_USE + USAGE_RESOLUTION
    assert table.records.mark_used(key.key_hash, later, OTHER_IP) is True
    assert found(table, key) == replace(created, last_used_at=later)
    assert table.last_use(key) == (later, OTHER_IP)


def test_a_mark_changes_nothing_but_the_last_use(table: KeyTable) -> None:
    """What the key may do and when it ends stay as the repository wrote them (here, a
    key in its rotation's grace period)."""
    old, new = a_key(frozenset({"org:read", "apps:read"}), expires_at=EXPIRES), a_key(frozenset({"org:read"}))
    table.create(old)
    table.rotate(old, new, NOW + timedelta(hours=2))
    rotated = found(table, old)

    assert table.records.mark_used(old.key_hash, FIRST_USE, IP) is True

    assert found(table, old) == replace(rotated, last_used_at=FIRST_USE)


def test_a_use_is_recorded_at_its_instant_whatever_the_clock_s_timezone(table: KeyTable) -> None:
    key = a_key(frozenset({"org:read"}))
    table.create(key)
    local_noon = FIRST_USE.astimezone(timezone(timedelta(hours=2)))

    assert table.records.mark_used(key.key_hash, local_noon, IP) is True

    record = found(table, key)
    assert record.last_used_at == FIRST_USE
    assert record.last_used_at is not None and record.last_used_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("ip", "recorded"),
    [("", "unknown"), ("f" * 100, "f" * 64)],
    ids=["no-address", "overlong-address"],
)
def test_the_address_of_a_use_is_never_empty_nor_overlong(table: KeyTable, ip: str, recorded: str) -> None:
    key = a_key(frozenset({"org:read"}))
    table.create(key)

    assert table.records.mark_used(key.key_hash, FIRST_USE, ip) is True

    assert table.last_use(key) == (FIRST_USE, recorded)


def test_an_unknown_key_is_not_marked_and_not_created(table: KeyTable) -> None:
    unknown = an_api_key()

    assert table.records.mark_used(unknown.key_hash, FIRST_USE, IP) is False

    # An item made by an unconditional update would hold no key id: KeyLookup.find
    # would fail on it rather than answer None.
    assert table.records.find(unknown.key_hash) is None
