"""ApiKeyRepository: what ApiKeyService and the access review rely on, on the fake and on
DynamoDB. Keys are written only in a live organization, one per secret hash; a key ends
once, and a rotation's grace period can still be cut short."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from kuploy_access.adapters.dynamodb.keys import API_KEY_SK, api_key_gsi1sk, api_key_pk, member_sk, org_pk
from kuploy_access.domain.errors import NotFound, ValidationFailed
from kuploy_access.domain.paging import Page
from tests.contract.cursors import cursor_of, every_page, forged_cursors, truncated
from tests.contract.org_fixtures import NOW, ORG_ID, OrgHouse, an_api_key, an_event, founded, join, org_house


@pytest.fixture(params=["fake", "dynamo"])
def house(request: pytest.FixtureRequest) -> OrgHouse:
    return org_house(request)


def test_a_created_key_is_found_by_id_and_listed_in_id_order(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other")
    first = an_api_key(expires_at=NOW + timedelta(days=30))
    second = replace(an_api_key(), scopes=frozenset(), description="")
    elsewhere = an_api_key("org_02other")
    for key in (second, first, elsewhere):
        house.api_keys.create(key, an_event(key.org_id, "api_key.created"))

    assert house.api_keys.get(ORG_ID, first.id) == first
    assert house.api_keys.get(ORG_ID, second.id) == second
    assert house.api_keys.of_org(ORG_ID) == [first, second]
    assert house.api_keys.of_org("org_02other") == [elsewhere]
    assert house.actions() == ["org.created", "api_key.created", "api_key.created"]


def test_a_key_of_another_organization_is_not_found(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other")
    key = an_api_key("org_02other")
    house.api_keys.create(key, an_event("org_02other"))

    assert house.api_keys.get(ORG_ID, key.id) is None
    assert house.api_keys.get(ORG_ID, "key_unknown") is None
    assert house.api_keys.of_org("org_01unknown") == []


def test_keys_are_created_only_in_a_live_organization(house: OrgHouse) -> None:
    with pytest.raises(NotFound):
        house.api_keys.create(an_api_key(), an_event())
    founded(house)
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.api_keys.create(an_api_key(), an_event())

    assert house.api_keys.of_org(ORG_ID) == []
    assert house.actions() == trail


def test_one_key_per_secret(house: OrgHouse) -> None:
    founded(house)
    key = an_api_key()
    house.api_keys.create(key, an_event())
    trail = house.actions()

    twin = replace(an_api_key(), key_hash=key.key_hash)
    with pytest.raises(NotFound):
        house.api_keys.create(twin, an_event())

    assert house.api_keys.of_org(ORG_ID) == [key]
    assert house.actions() == trail


# --- pages ----------------------------------------------------------------------------------------


def test_keys_come_a_page_at_a_time_newest_first(house: OrgHouse) -> None:
    founded(house)
    founded(house, "org_02other")
    keys = [an_api_key() for _ in range(5)]  # ids sort by time, as new_id's do
    for key in keys:
        house.api_keys.create(key, an_event())
    elsewhere = an_api_key("org_02other")
    house.api_keys.create(elsewhere, an_event("org_02other"))
    house.api_keys.revoke(keys[1], NOW, an_event())
    keys[1] = replace(keys[1], revoked_at=NOW)  # listed still: revoked keys too
    newest_first = keys[::-1]

    assert every_page(lambda cursor: house.api_keys.keys_page(ORG_ID, 2, cursor)) == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
    ]
    assert house.api_keys.keys_page(ORG_ID, 5, None) == Page(newest_first, None)
    assert house.api_keys.keys_page("org_02other", 5, None) == Page([elsewhere], None)
    assert house.api_keys.keys_page("org_01unknown", 5, None) == Page([], None)


def test_the_next_page_of_keys_starts_after_the_last_one_shown(house: OrgHouse) -> None:
    """Keys are never deleted one by one; a rotation adds the newest key, before the
    cursor: the next page neither shows it nor loses one."""
    founded(house)
    keys = [an_api_key() for _ in range(4)]
    for key in keys:
        house.api_keys.create(key, an_event())
    first = house.api_keys.keys_page(ORG_ID, 2, None)
    assert first.items == [keys[3], keys[2]]

    house.api_keys.rotate(keys[3], an_api_key(), NOW, an_event())

    assert house.api_keys.keys_page(ORG_ID, 2, first.next_cursor) == Page([keys[1], keys[0]], None)


def test_a_forged_truncated_or_foreign_cursor_of_keys_is_refused(house: OrgHouse) -> None:
    founded(house)
    for _ in range(2):
        house.api_keys.create(an_api_key(), an_event())
    join(house, "usr_01ada")
    keys = house.api_keys.keys_page(ORG_ID, 1, None)
    members = house.orgs.members_page(ORG_ID, 1, None)
    assert None not in (keys.next_cursor, members.next_cursor)
    near_misses = [
        cursor_of(k=api_key_gsi1sk("key_1")),  # the index's table keys left out
        cursor_of(k=api_key_gsi1sk("key_1"), pk=org_pk(ORG_ID), sk=API_KEY_SK),  # a table key of another shape
        cursor_of(k=member_sk("usr_01ada"), pk=api_key_pk("0" * 64), sk=API_KEY_SK),  # outside the Query's range
    ]

    for forged in [*forged_cursors(), *near_misses, truncated(keys.next_cursor), members.next_cursor]:
        with pytest.raises(ValidationFailed):
            house.api_keys.keys_page(ORG_ID, 10, forged)


# --- revoke ---------------------------------------------------------------------------------------


def test_a_revoked_key_ends_now_and_is_revoked_once(house: OrgHouse) -> None:
    founded(house)
    key = an_api_key()
    house.api_keys.create(key, an_event())

    house.api_keys.revoke(key, NOW, an_event(action="api_key.revoked"))

    assert house.api_keys.get(ORG_ID, key.id) == replace(key, revoked_at=NOW)
    assert house.actions()[-1] == "api_key.revoked"
    trail = house.actions()
    with pytest.raises(NotFound):
        house.api_keys.revoke(key, NOW + timedelta(minutes=1), an_event())
    assert house.api_keys.get(ORG_ID, key.id) == replace(key, revoked_at=NOW)
    assert house.actions() == trail


def test_an_unknown_key_is_not_revoked(house: OrgHouse) -> None:
    founded(house)

    with pytest.raises(NotFound):
        house.api_keys.revoke(an_api_key(), NOW, an_event())

    assert house.api_keys.of_org(ORG_ID) == []
    assert house.actions() == ["org.created"]


def test_a_rotation_s_grace_period_can_be_cut_short_but_not_after_it_ended(house: OrgHouse) -> None:
    founded(house)
    old, new = an_api_key(), an_api_key()
    house.api_keys.create(old, an_event())
    house.api_keys.rotate(old, new, NOW + timedelta(hours=24), an_event())

    house.api_keys.revoke(old, NOW + timedelta(hours=1), an_event())
    assert house.api_keys.get(ORG_ID, old.id).revoked_at == NOW + timedelta(hours=1)  # type: ignore[union-attr]

    with pytest.raises(NotFound):  # at its end, it is over
        house.api_keys.revoke(old, NOW + timedelta(hours=1), an_event())


# --- rotate ---------------------------------------------------------------------------------------


def test_a_rotation_writes_the_new_key_and_the_old_key_s_end_at_once(house: OrgHouse) -> None:
    founded(house)
    old = an_api_key(expires_at=NOW + timedelta(days=30))
    new = an_api_key(expires_at=NOW + timedelta(days=60))
    house.api_keys.create(old, an_event())

    house.api_keys.rotate(old, new, NOW + timedelta(hours=2), an_event(action="api_key.rotated"))

    assert house.api_keys.get(ORG_ID, old.id) == replace(old, revoked_at=NOW + timedelta(hours=2), rotated_to=new.id)
    assert house.api_keys.get(ORG_ID, new.id) == new
    assert house.api_keys.of_org(ORG_ID) == [house.api_keys.get(ORG_ID, old.id), new]
    assert house.actions()[-1] == "api_key.rotated"


def test_a_key_is_rotated_once(house: OrgHouse) -> None:
    founded(house)
    old, new, newer = an_api_key(), an_api_key(), an_api_key()
    house.api_keys.create(old, an_event())
    house.api_keys.rotate(old, new, NOW + timedelta(hours=2), an_event())
    trail = house.actions()

    # Still in its grace period, yet its end is set: a second rotation would fork it.
    with pytest.raises(NotFound):
        house.api_keys.rotate(old, newer, NOW, an_event())

    assert house.api_keys.get(ORG_ID, newer.id) is None
    assert house.api_keys.get(ORG_ID, old.id).rotated_to == new.id  # type: ignore[union-attr]
    assert house.actions() == trail


def test_a_revoked_or_unknown_key_is_not_rotated(house: OrgHouse) -> None:
    founded(house)
    revoked, new = an_api_key(), an_api_key()
    house.api_keys.create(revoked, an_event())
    house.api_keys.revoke(revoked, NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.api_keys.rotate(revoked, new, NOW, an_event())
    with pytest.raises(NotFound):
        house.api_keys.rotate(an_api_key(), new, NOW, an_event())

    assert house.api_keys.of_org(ORG_ID) == [replace(revoked, revoked_at=NOW)]
    assert house.actions() == trail


def test_a_rotation_whose_new_secret_exists_writes_nothing(house: OrgHouse) -> None:
    founded(house)
    old, other = an_api_key(), an_api_key()
    house.api_keys.create(old, an_event())
    house.api_keys.create(other, an_event())

    with pytest.raises(NotFound):
        house.api_keys.rotate(old, replace(an_api_key(), key_hash=other.key_hash), NOW, an_event())

    assert house.api_keys.of_org(ORG_ID) == [old, other]


def test_nothing_is_rotated_in_a_deleted_organization(house: OrgHouse) -> None:
    founded(house)
    old, new = an_api_key(), an_api_key()
    house.api_keys.create(old, an_event())
    house.orgs.mark_deleted(ORG_ID, NOW, an_event())
    trail = house.actions()

    with pytest.raises(NotFound):
        house.api_keys.rotate(old, new, NOW, an_event())

    assert house.api_keys.of_org(ORG_ID) == [old]
    assert house.actions() == trail
