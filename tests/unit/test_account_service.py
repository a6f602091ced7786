"""`GET /me` and `PATCH /me` on the in-memory fakes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kuploy_access.domain.errors import Unauthorized
from kuploy_access.domain.identities import Identity, Provider
from kuploy_access.domain.users import OrganizationMembership, clean_name
from tests.unit.support import World


@pytest.fixture
def world() -> World:
    return World()


def test_get_answers_the_account_and_its_organizations(world):
    user = world.add_user(name="Ada")
    world.memberships.items[user.id] = [
        OrganizationMembership(org_id="org_01", org_name="Analytical", role="owner"),
        OrganizationMembership(org_id="org_02", org_name="Engines", role="member"),
    ]
    view = world.account().get(user.id)
    assert view.user == user
    assert view.as_dict() == {
        "id": user.id,
        "email": "ada@example.com",
        "name": "Ada",
        "email_verified": True,
        "two_factor_enabled": False,
        "created_at": "2025-03-01T09:30:00Z",
        "organizations": [
            {"id": "org_01", "name": "Analytical", "role": "owner"},
            {"id": "org_02", "name": "Engines", "role": "member"},
        ],
        "has_password": True,
        "identities": [],
    }


def test_get_lists_linked_providers_and_whether_there_is_a_password(world):
    user = world.add_user(name="Ada")
    linked_at = world.clock.now()
    world.identities.link(Identity(Provider.GITLAB, "77", user.id, "ada@lab.example", linked_at))
    world.identities.link(Identity(Provider.GITHUB, "42", user.id, None, linked_at))
    view = world.account().get(user.id).as_dict()
    assert view["has_password"] is True
    assert view["identities"] == [
        {"provider": "github", "email": None, "linked_at": linked_at},
        {"provider": "gitlab", "email": "ada@lab.example", "linked_at": linked_at},
    ]
    world.users.by_id[user.id] = replace(user, password_hash=None)
    assert world.account().get(user.id).as_dict()["has_password"] is False


def test_get_without_organizations(world):
    user = world.add_user()
    assert world.account().get(user.id).as_dict()["organizations"] == []


def test_view_carries_no_secret(world):
    user = world.add_user()
    body = world.account().get(user.id).as_dict()
    assert "password_hash" not in body
    assert user.password_hash not in repr(body)


def test_rename_stores_and_answers_the_cleaned_name(world):
    user = world.add_user(name="Ada")
    world.memberships.items[user.id] = [OrganizationMembership("org_01", "Analytical", "admin")]
    view = world.account().rename(user.id, "  Ada\x00 King\x07 ")
    assert view.user.name == "Ada King"
    assert world.users.get(user.id).name == "Ada King"
    assert view.as_dict()["organizations"] == [{"id": "org_01", "name": "Analytical", "role": "admin"}]


def test_rename_keeps_the_rest_of_the_account(world):
    user = world.add_user(name="Ada")
    renamed = world.account().rename(user.id, "Countess of Lovelace").user
    assert renamed.name == "Countess of Lovelace"
    assert (renamed.id, renamed.email, renamed.password_hash, renamed.email_verified) == (
        user.id,
        user.email,
        user.password_hash,
        user.email_verified,
    )


def test_rename_cuts_long_names(world):
    user = world.add_user()
    assert world.account().rename(user.id, "B" * 1_000).user.name == "B" * 100


def test_rename_trims_whitespace_left_behind_by_removed_control_characters(world):
    user = world.add_user()
    assert world.account().rename(user.id, "\x00 Ada Lovelace \x07").user.name == "Ada Lovelace"


@pytest.mark.parametrize("method", ["get", "rename"])
def test_missing_user_is_unauthorized_with_invalid_token(world, method):
    service = world.account()
    with pytest.raises(Unauthorized) as caught:
        service.get("usr_gone") if method == "get" else service.rename("usr_gone", "Ghost")
    assert caught.value.code == "invalid_token"
    assert caught.value.status == 401
    assert world.users.by_id == {}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  Ada  ", "Ada"),
        ("Zo\u00eb \u00c5sa", "Zo\u00eb \u00c5sa"),
        ("\u200bAda", "Ada"),
        ("\x1b\x00\x07Ada", "Ada"),
    ],
)
def test_clean_name(raw, expected):
    assert clean_name(raw) == expected


@pytest.mark.parametrize("raw", ["\x00 Ada", "Ada \x7f", "\u200b Ada \u200b", " \x00 "])
def test_clean_name_answers_a_trimmed_name(raw):
    cleaned = clean_name(raw)
    assert cleaned == cleaned.strip()


def test_rename_refreshes_the_name_copied_into_memberships(world):
    user = world.add_user(name="Ada")
    world.account().rename(user.id, "  Ada King ")
    assert world.memberships.renamed == (user.id, "Ada King")
