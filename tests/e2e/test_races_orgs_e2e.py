"""Races in an organization over HTTP, each checked in the table afterwards: 20 accepts of
one invitation, two admins demoting and removing each other (and the owner) at once, a
transfer of ownership racing a removal of its target. (The rotations of one API key are
in test_races_tokens_e2e.py, which balances the files' run times.)

The invariants: one membership per invitation; exactly one owner, who is a member and
the organization's `owner_id`; `member_count` equal to the memberships stored; a change
to the members commits only while its author may still make it (the outcome of some
order of the requests, one after the other).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from kuploy_access.adapters.dynamodb.keys import (
    INVITEE_SK_PREFIX,
    MEMBER_SK_PREFIX,
    ORG_SK,
    audit_pk,
    org_pk,
)
from tests.e2e.helpers import DevServer, assert_problem, bearer, emails_to
from tests.e2e.races import (  # noqa: F401 - server, client: this file's own server
    Addresses,
    at_once,
    client,
    codes,
    me,
    new_org,
    partition,
    person,
    rounds,
    server,
    shown,
    statuses,
    table_items,
)

pytestmark = pytest.mark.e2e

ADDRESSES = Addresses(file_octet=73)
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
ACCEPTERS = 20


# --- the organization, over HTTP ---------------------------------------------------------------


def _invite(client: httpx.Client, inviter: dict[str, Any], org_id: str, email: str, role: str) -> str:
    """The token of the link the invitation's email carries."""
    answer = client.post(
        f"/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(inviter["token"])
    )
    assert answer.status_code == 201, answer.text
    links = [link for m in emails_to(client, email) for link in INVITATION_LINK.findall(m["text"])]
    assert links, emails_to(client, email)
    return links[-1]


def _join(client: httpx.Client, owner: dict[str, Any], org_id: str, person: dict[str, Any], role: str) -> None:
    token = _invite(client, owner, org_id, person["email"], role)
    answer = client.post(f"/invitations/{token}/accept", headers=bearer(person["token"]))
    assert answer.status_code == 200, answer.text


def _crew(client: httpx.Client, admins: int) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """An organization with its owner and `admins` admins: (org id, owner, admins)."""
    owner = person(client, "Olive Owner")
    org_id = new_org(client, owner)
    crew = [person(client, f"Admin {n}") for n in range(admins)]
    for admin in crew:
        _join(client, owner, org_id, admin, "admin")
    return org_id, owner, crew


# --- the table ---------------------------------------------------------------------------------


def _memberships(client: httpx.Client, org_id: str) -> dict[str, str]:
    """user id -> role, as stored."""
    return {
        item["user_id"]: item["role"]
        for item in partition(client, org_pk(org_id))
        if item["sk"].startswith(MEMBER_SK_PREFIX)
    }


def _organization(client: httpx.Client, org_id: str) -> dict[str, Any]:
    [profile] = [item for item in partition(client, org_pk(org_id)) if item["sk"] == ORG_SK]
    return profile


def _audited(client: httpx.Client, org_id: str) -> Counter[str]:
    return Counter(item["action"] for item in partition(client, audit_pk(org_id)))


def _assert_one_owner(client: httpx.Client, org_id: str) -> dict[str, str]:
    """Exactly one owner, a member, named by the organization; the count matches the
    memberships. Answers the memberships."""
    members = _memberships(client, org_id)
    profile = _organization(client, org_id)
    owners = [user_id for user_id, role in members.items() if role == "owner"]
    assert owners == [profile["owner_id"]], (members, profile)
    assert set(members.values()) <= {"owner", "admin", "member"}, members
    assert profile["member_count"] == len(members), (members, profile)
    return members


# --- 1. accepts of one invitation --------------------------------------------------------------


@rounds
def test_twenty_accepts_of_one_invitation_make_one_membership(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    owner = person(client, "Inviting Owner")
    org_id = new_org(client, owner)
    invitee = person(client, "Invited Person")
    token = _invite(client, owner, org_id, invitee["email"], "member")

    def accept(own: httpx.Client) -> httpx.Response:
        return own.post(f"/invitations/{token}/accept", headers=bearer(invitee["token"]))

    answers = at_once(server, [accept] * ACCEPTERS, ADDRESSES.take(4))

    assert statuses(answers) == [200] + [410] * (ACCEPTERS - 1), shown(answers)
    [won] = [answer for answer in answers if answer.status_code == 200]
    assert won.json() == {"org_id": org_id, "role": "member"}
    assert codes(answers) == [(410, "invitation_used")] * (ACCEPTERS - 1), shown(answers)
    # The table: one membership more, counted once; the invitation accepted (its record
    # and its link), its guard released; one member.joined event.
    assert _assert_one_owner(client, org_id) == {owner["id"]: "owner", invitee["id"]: "member"}
    stored = partition(client, org_pk(org_id))
    invitations = [item for item in stored if item["sk"].startswith("INVITATION#")]
    assert [item["status"] for item in invitations] == ["accepted"], invitations
    assert not [item for item in stored if item["sk"].startswith(INVITEE_SK_PREFIX)], stored
    links = [item for item in table_items(client, "INVTOKEN#") if item.get("org_id") == org_id]
    assert [item["status"] for item in links] == ["accepted"], links
    assert _audited(client, org_id)["member.joined"] == 1
    # The invitee sees the one organization once.
    assert [org["id"] for org in me(client, invitee["token"])["organizations"]] == [org_id]


# --- 2. two admins at each other (and at the owner) --------------------------------------------


def _patch(actor: dict[str, Any], org_id: str, target: str, role: str) -> Callable[[httpx.Client], httpx.Response]:
    def call(own: httpx.Client) -> httpx.Response:
        return own.patch(f"/orgs/{org_id}/members/{target}", json={"role": role}, headers=bearer(actor["token"]))

    return call


def _delete(actor: dict[str, Any], org_id: str, target: str) -> Callable[[httpx.Client], httpx.Response]:
    def call(own: httpx.Client) -> httpx.Response:
        return own.delete(f"/orgs/{org_id}/members/{target}", headers=bearer(actor["token"]))

    return call


@rounds
def test_two_admins_demoting_and_removing_each_other_and_the_owner(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    """Every order of these requests, one after the other, lets exactly one admin act:
    once one admin's change to the other commits, the other may no longer manage
    members (demoted: 403; removed: 404). So the allowed end is one admin left, the
    other removed, the owner untouched; never both admins acting, which would leave
    changes made by someone who had already lost the right to make them."""
    org_id, owner, (first, second) = _crew(client, admins=2)
    moves = [
        ("first", _patch(first, org_id, second["id"], "member")),
        ("first", _delete(first, org_id, second["id"])),
        ("first", _delete(first, org_id, owner["id"])),
        ("first", _patch(first, org_id, owner["id"], "member")),
        ("second", _patch(second, org_id, first["id"], "member")),
        ("second", _delete(second, org_id, first["id"])),
        ("second", _patch(second, org_id, owner["id"], "admin")),
        ("second", _delete(second, org_id, owner["id"])),
    ]
    answers = at_once(server, [call for _, call in moves], ADDRESSES.take(2))

    at_owner = [answer for answer, index in zip(answers, range(len(moves)), strict=True) if index in {2, 3, 6, 7}]
    assert all(answer.status_code in {403, 404} for answer in at_owner), shown(at_owner)
    acted = {who for (who, _), answer in zip(moves, answers, strict=True) if answer.status_code < 300}
    assert len(acted) == 1, f"admins whose change committed: {acted}; {shown(answers)}"
    [winner_name] = acted
    winner, loser = (first, second) if winner_name == "first" else (second, first)
    # The winner's removal always commits (the loser is a member either way), and the
    # loser's every request is refused: demoted (403 forbidden) or gone (404 not_found).
    for (who, _), answer in zip(moves, answers, strict=True):
        if who != winner_name:
            assert (answer.status_code, answer.json()["code"]) in {
                (403, "forbidden"),
                (404, "not_found"),
                (403, "owner_protected"),
            }, shown(answers)
    assert _assert_one_owner(client, org_id) == {owner["id"]: "owner", winner["id"]: "admin"}
    assert loser["id"] not in _memberships(client, org_id)
    # The owner is untouched; the loser is out, from their side too.
    assert_problem(
        client.get(f"/orgs/{org_id}", headers=bearer(loser["token"])),
        404,
        "not_found",
    )
    events = _audited(client, org_id)
    assert events["member.removed"] == 1, events


# --- 3. a transfer racing a removal of its target ----------------------------------------------


@rounds
def test_a_transfer_of_ownership_racing_removals_of_its_target(
    server: DevServer, client: httpx.Client, round_number: int
) -> None:
    """The owner hands the organization to an admin while another admin, and the owner
    too, remove that admin. Either the transfer commits first (the target is the owner
    now and cannot be removed: 403 owner_protected) or a removal does (the target is
    gone: the transfer answers 404 not_found); never an owner who is not a member."""
    org_id, owner, (target, other) = _crew(client, admins=2)
    moves = [
        lambda own: own.post(
            f"/orgs/{org_id}/transfer-ownership", json={"user_id": target["id"]}, headers=bearer(owner["token"])
        ),
        _delete(other, org_id, target["id"]),
        _delete(owner, org_id, target["id"]),
    ]
    transfer, *removals = at_once(server, moves, ADDRESSES.take(3))

    members = _assert_one_owner(client, org_id)
    if transfer.status_code == 200:
        assert transfer.json()["user_id"] == target["id"] and transfer.json()["role"] == "owner", transfer.text
        assert [(r.status_code, r.json()["code"]) for r in removals] == [(403, "owner_protected")] * 2, shown(removals)
        assert members == {target["id"]: "owner", owner["id"]: "admin", other["id"]: "admin"}
    else:
        assert_problem(transfer, 404, "not_found")
        assert statuses(removals) == [204, 404], shown(removals)
        assert members == {owner["id"]: "owner", other["id"]: "admin"}
    events = _audited(client, org_id)
    assert events["org.ownership_transferred"] + events["member.removed"] == 1, events
