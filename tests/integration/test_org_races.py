"""Concurrency in an organization: exactly one owner at all times, one consistent role,
one removal; and what the permission check and a members page cost in DynamoDB requests.

Threads meet at a barrier right before the repository write, so every request has
passed its permission check (and read whatever it reads) before any of them writes:
only DynamoDB's conditions and transactions can keep the invariants. (devserver's
embedded AWS makes each moto request atomic, as each real DynamoDB request is.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from kuploy_access.adapters.dynamodb.keys import MEMBER_SK_PREFIX, ORG_SK, audit_pk, member_sk, org_pk
from kuploy_access.adapters.dynamodb.organizations import DynamoOrganizationRepository
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    add_member,
    cheap_hashing,
    create_org,
    new_user,
    restore_table,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem, count_dynamodb_requests, run_together


@dataclass
class Crew:
    org_id: str
    ids: dict[str, str]  # name → user id
    tokens: dict[str, str]  # name → access token

    def id(self, name: str) -> str:
        return self.ids[name]

    def token(self, name: str) -> str:
        return self.tokens[name]


ROLES = {"owner": "owner", "admin1": "admin", "admin2": "admin", "member1": "member", "member2": "member"}


@pytest.fixture(scope="module")
def crew_table(world, gateway) -> tuple[Crew, list[dict[str, Any]]]:
    """An owner, two admins and two members (joined by real invitations); made once."""
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    ids: dict[str, str] = {}
    tokens: dict[str, str] = {}
    with cheap_hashing():
        ids["owner"], tokens["owner"] = new_user(client, "owner@example.com", "Olive Owner")
        org_id = create_org(client, tokens["owner"], "Racing Engines")
        for name, role in ROLES.items():
            if name != "owner":
                ids[name], tokens[name] = add_member(client, tokens["owner"], org_id, f"{name}@example.com", role)
    return Crew(org_id, ids, tokens), table_snapshot()


@pytest.fixture
def crew(aws, crew_table: tuple[Crew, list[dict[str, Any]]]) -> Crew:
    restore_table(crew_table[1])
    return crew_table[0]


# --- helpers -------------------------------------------------------------------------------------


# Shorter than run_together's wait for its threads: if a request never reaches the
# barrier, the others give up first and the test shows every answer instead of "a thread hung".
MEETING_TIMEOUT = support.TIMEOUT / 3


def meet_across(monkeypatch: pytest.MonkeyPatch, methods: list[str], parties: int) -> threading.Barrier:
    """Like support.meet_before, with one barrier for several repository methods: every
    thread that calls any of them waits there for the others."""
    barrier = threading.Barrier(parties, timeout=MEETING_TIMEOUT)
    for method in methods:
        original = getattr(DynamoOrganizationRepository, method)

        def waiting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            barrier.wait()
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoOrganizationRepository, method, waiting)
    return barrier


def race(client: GatewayClient, crew: Crew, count: int, target: Callable[[int], Answer]) -> list[Answer]:
    """`target(i)` on `count` threads at once, after as many requests at once have warmed
    as many containers (a race is about DynamoDB, not about cold starts)."""
    warm = run_together(count, lambda i: client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("owner")))
    assert [getattr(answer, "status", answer) for _, answer in warm] == [200] * count, warm
    return answers(run_together(count, target))


def answers(outcomes: list[tuple[str, Any]]) -> list[Answer]:
    assert [kind for kind, _ in outcomes] == ["ok"] * len(outcomes), outcomes
    return [answer for _, answer in outcomes]


def statuses(found: list[Answer]) -> list[int]:
    return [answer.status for answer in found]


def memberships(org_id: str) -> dict[str, str]:
    """user id → role, from the table."""
    return {
        item["user_id"]: item["role"]
        for item in support.items_with_prefix(org_pk(org_id))
        if item["sk"].startswith(MEMBER_SK_PREFIX)
    }


def assert_one_owner(org_id: str) -> str:
    """Exactly one membership is the owner's, the organization names the same person, and
    the member count matches the memberships. Answers the owner's id."""
    held = memberships(org_id)
    owners = [user_id for user_id, role in held.items() if role == "owner"]
    assert len(owners) == 1, held
    assert set(held.values()) <= {"owner", "admin", "member"}, held
    org = support.raw_item(org_pk(org_id), ORG_SK)
    assert org is not None
    assert org["owner_id"] == owners[0], (org, held)
    assert int(org["member_count"]) == len(held), (org, held)
    return owners[0]


def audit_actions(org_id: str) -> list[str]:
    return [item["action"] for item in support.items_with_prefix(audit_pk(org_id))]


def transfer(client: GatewayClient, token: str, org_id: str, user_id: str) -> Answer:
    return client.request("POST", f"/orgs/{org_id}/transfer-ownership", {"user_id": user_id}, token=token)


def change_role(client: GatewayClient, token: str, org_id: str, user_id: str, role: str) -> Answer:
    return client.request("PATCH", f"/orgs/{org_id}/members/{user_id}", {"role": role}, token=token)


def remove(client: GatewayClient, token: str, org_id: str, user_id: str) -> Answer:
    return client.request("DELETE", f"/orgs/{org_id}/members/{user_id}", token=token)


def assert_refused_for_ownership(answer: Answer) -> None:
    """A request that lost the race over who owns the organization."""
    assert answer.status in (403, 409), (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")


# --- ownership -----------------------------------------------------------------------------------


def test_two_simultaneous_transfers_make_one_new_owner(client, crew, monkeypatch):
    meet_across(monkeypatch, ["transfer_ownership"], 2)
    targets = [crew.id("admin1"), crew.id("member1")]

    found = race(client, crew, 2, lambda i: transfer(client, crew.token("owner"), crew.org_id, targets[i]))

    assert sorted(statuses(found)) in ([200, 403], [200, 409]), [(a.status, a.text) for a in found]
    winner = targets[statuses(found).index(200)]
    loser = targets[1 - statuses(found).index(200)]
    assert_refused_for_ownership(found[targets.index(loser)])
    assert assert_one_owner(crew.org_id) == winner
    held = memberships(crew.org_id)
    assert held[crew.id("owner")] == "admin"
    assert held[loser] == ROLES["admin1" if loser == crew.id("admin1") else "member1"]
    assert audit_actions(crew.org_id).count("org.ownership_transferred") == 1


def test_many_simultaneous_transfers_make_one_new_owner(client, crew, monkeypatch):
    targets = [crew.id(name) for name in ("admin1", "admin2", "member1", "member2")] * 2
    meet_across(monkeypatch, ["transfer_ownership"], len(targets))

    found = race(client, crew, len(targets), lambda i: transfer(client, crew.token("owner"), crew.org_id, targets[i]))

    assert statuses(found).count(200) == 1, [(a.status, a.text) for a in found]
    for answer in found:
        if answer.status != 200:
            assert_refused_for_ownership(answer)
    winner = targets[statuses(found).index(200)]
    assert assert_one_owner(crew.org_id) == winner
    assert memberships(crew.org_id)[crew.id("owner")] == "admin"
    assert audit_actions(crew.org_id).count("org.ownership_transferred") == 1


def test_a_transfer_and_a_demotion_of_its_target_at_once(client, crew, monkeypatch):
    """Whichever commits first, the target ends as the only owner: a demotion that comes
    second meets an owner (owner_protected); one that comes first is overtaken."""
    meet_across(monkeypatch, ["transfer_ownership", "change_role"], 2)
    target = crew.id("admin1")
    calls = [
        lambda: transfer(client, crew.token("owner"), crew.org_id, target),
        lambda: change_role(client, crew.token("admin2"), crew.org_id, target, "member"),
    ]

    moved, demoted = race(client, crew, 2, lambda i: calls[i]())

    assert moved.status == 200, moved.text
    assert moved.json()["role"] == "owner"
    if demoted.status != 200:
        assert_problem(demoted, 403, "owner_protected")
    assert assert_one_owner(crew.org_id) == target
    assert memberships(crew.org_id)[crew.id("owner")] == "admin"
    assert audit_actions(crew.org_id).count("member.role_changed") == (demoted.status == 200)


def test_a_transfer_and_a_removal_of_its_target_at_once(client, crew, monkeypatch):
    meet_across(monkeypatch, ["transfer_ownership", "remove_member"], 2)
    target = crew.id("member1")
    calls = [
        lambda: transfer(client, crew.token("owner"), crew.org_id, target),
        lambda: remove(client, crew.token("admin1"), crew.org_id, target),
    ]

    moved, removed = race(client, crew, 2, lambda i: calls[i]())

    assert sorted([moved.status, removed.status]) in ([200, 403], [204, 404]), (moved.text, removed.text)
    owner = assert_one_owner(crew.org_id)
    if moved.status == 200:
        assert_problem(removed, 403, "owner_protected")
        assert owner == target
    else:
        assert_problem(moved, 404, "not_found")
        assert owner == crew.id("owner")
        assert target not in memberships(crew.org_id)


def test_demotions_and_removals_of_the_owner_at_once_all_fail(client, crew, monkeypatch):
    threads = 8
    meet_across(monkeypatch, ["change_role", "remove_member"], threads)
    owner = crew.id("owner")

    def attack(i: int) -> Answer:
        token = crew.token("admin1" if i % 2 else "admin2")
        if i % 3 == 0:
            return remove(client, token, crew.org_id, owner)
        return change_role(client, token, crew.org_id, owner, "member" if i % 2 else "admin")

    found = race(client, crew, threads, attack)

    for answer in found:
        assert_problem(answer, 403, "owner_protected")
    assert assert_one_owner(crew.org_id) == owner
    assert memberships(crew.org_id) == {crew.id(name): role for name, role in ROLES.items()}
    assert not {"member.role_changed", "member.removed"} & set(audit_actions(crew.org_id))


def test_demotions_and_removals_racing_a_transfer_keep_exactly_one_owner(client, crew, monkeypatch):
    """The owner hands over to admin1 while both admins demote or remove the owner and
    admin2 tries to demote admin1: no order of commits leaves zero or two owners."""
    threads = 8
    meet_across(monkeypatch, ["transfer_ownership", "change_role", "remove_member"], threads)
    owner, heir = crew.id("owner"), crew.id("admin1")

    def act(i: int) -> Answer:
        if i == 0:
            return transfer(client, crew.token("owner"), crew.org_id, heir)
        if i == 1:
            return change_role(client, crew.token("admin2"), crew.org_id, heir, "member")
        token = crew.token("admin1" if i % 2 else "admin2")
        if i % 3 == 0:
            return remove(client, token, crew.org_id, owner)
        return change_role(client, token, crew.org_id, owner, "member")

    found = race(client, crew, threads, act)

    assert found[0].status == 200, found[0].text
    for i, answer in enumerate(found[1:], start=1):
        assert answer.status in (200, 204, 403, 404), (answer.status, answer.text)
        if answer.status == 403:
            # admin1's own attempts may come after admin2 demoted them (thread 1): the
            # author's role is checked in the same transaction, so they are refused.
            by_admin1 = i > 1 and i % 2 == 1
            allowed = {"owner_protected", "forbidden"} if by_admin1 else {"owner_protected"}
            assert answer.json()["code"] in allowed, (i, answer.text)
            if answer.json()["code"] == "forbidden":
                assert found[1].status == 200, (found[1].status, found[1].text)
    assert assert_one_owner(crew.org_id) == heir
    # Every change answered as done is in the log. (A demotion of the old owner that
    # committed just before a removal may still answer 404: see the test below.)
    actions = audit_actions(crew.org_id)
    done = statuses(found).count(200) - 1
    assert done <= actions.count("member.role_changed") <= done + statuses(found).count(404)
    assert actions.count("member.removed") == statuses(found).count(204)


def test_a_role_change_that_committed_is_answered_as_done_even_if_a_removal_follows(client, crew, monkeypatch):
    """The order a race can produce, made deterministic: the role change commits, then
    a removal of the same member commits before the role change answers."""
    from kuploy_access.adapters.dynamodb.transactions import Transaction

    target = crew.id("member1")
    commit = Transaction.commit
    removals: list[Answer] = []

    def commit_then_remove(self: Any) -> None:
        commit(self)
        if not removals:
            removals.append(Answer(0, {}, b""))  # the removal's own commit must not recurse
            removals[0] = remove(client, crew.token("admin2"), crew.org_id, target)

    monkeypatch.setattr(Transaction, "commit", commit_then_remove)

    answer = change_role(client, crew.token("admin1"), crew.org_id, target, "admin")

    assert [removal.status for removal in removals] == [204]
    assert audit_actions(crew.org_id).count("member.role_changed") == 1  # the change was done...
    assert answer.status == 200, answer.text  # ...so it is answered as done
    assert answer.json()["role"] == "admin"


# --- one member, many writers ---------------------------------------------------------------------


def test_simultaneous_role_changes_of_one_member_end_in_one_consistent_role(client, crew, monkeypatch):
    threads = 8
    meet_across(monkeypatch, ["change_role"], threads)
    target = crew.id("member1")
    wanted = ["admin" if i % 2 else "member" for i in range(threads)]

    def act(i: int) -> Answer:
        token = crew.token(["owner", "admin1", "admin2"][i % 3])
        return change_role(client, token, crew.org_id, target, wanted[i])

    found = race(client, crew, threads, act)

    assert statuses(found) == [200] * threads, [(a.status, a.text) for a in found]
    for answer in found:
        assert answer.json()["user_id"] == target
        assert answer.json()["role"] in ("admin", "member")
    final = memberships(crew.org_id)[target]
    assert final in ("admin", "member")
    assert_one_owner(crew.org_id)
    # The list, the item and the permission check agree on that one role.
    listed = client.request("GET", f"/orgs/{crew.org_id}/members?limit=200", token=crew.token("owner")).json()
    assert {item["user_id"]: item["role"] for item in listed["items"]}[target] == final
    rename = client.request("PATCH", f"/orgs/{crew.org_id}", {"name": "Renamed"}, token=crew.token("member1"))
    assert rename.status == (200 if final == "admin" else 403), rename.text
    assert audit_actions(crew.org_id).count("member.role_changed") == threads


@pytest.mark.parametrize("removers", [1, 3])
def test_leaving_while_being_removed_removes_once(client, crew, monkeypatch, removers):
    threads = 1 + removers
    meet_across(monkeypatch, ["remove_member"], threads)
    target = crew.id("member1")
    before = support.raw_item(org_pk(crew.org_id), ORG_SK)
    assert before is not None

    def act(i: int) -> Answer:
        token = crew.token("member1") if i == 0 else crew.token(["owner", "admin1", "admin2"][i - 1])
        return remove(client, token, crew.org_id, target)

    found = race(client, crew, threads, act)

    assert statuses(found).count(204) == 1, [(a.status, a.text) for a in found]
    for answer in found:
        if answer.status != 204:
            assert_problem(answer, 404, "not_found")
    assert target not in memberships(crew.org_id)
    assert_one_owner(crew.org_id)
    after = support.raw_item(org_pk(crew.org_id), ORG_SK)
    assert after is not None
    assert int(after["member_count"]) == int(before["member_count"]) - 1
    actions = audit_actions(crew.org_id)
    assert actions.count("member.left") + actions.count("member.removed") == 1
    assert_problem(client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1")), 404, "not_found")


def test_removing_a_member_while_promoting_them(client, crew, monkeypatch):
    meet_across(monkeypatch, ["change_role", "remove_member"], 2)
    target = crew.id("member2")
    calls = [
        lambda: change_role(client, crew.token("admin1"), crew.org_id, target, "admin"),
        lambda: remove(client, crew.token("admin2"), crew.org_id, target),
    ]

    promoted, removed = race(client, crew, 2, lambda i: calls[i]())

    assert removed.status == 204, removed.text
    assert promoted.status in (200, 404), promoted.text
    if promoted.status == 404:
        assert_problem(promoted, 404, "not_found")
    # A promotion that lost must not bring the membership back as a bare item.
    assert target not in memberships(crew.org_id)
    assert support.raw_item(org_pk(crew.org_id), member_sk(target)) is None
    assert_one_owner(crew.org_id)


def test_an_activity_write_never_brings_back_a_removed_membership(client, crew, monkeypatch, service_clock):
    """A member whose last_active_at is stale is removed between the permission check's
    read and its activity write: the write must not recreate the membership."""
    from datetime import timedelta

    service_clock.advance(timedelta(hours=2))
    target = crew.id("member1")
    load_access = DynamoOrganizationRepository.load_access

    def removed_right_after_the_read(self: Any, org_id: str, user_id: str) -> Any:
        found = load_access(self, org_id, user_id)
        if user_id == target:
            assert remove(client, crew.token("admin1"), crew.org_id, target).status == 204
        return found

    monkeypatch.setattr(DynamoOrganizationRepository, "load_access", removed_right_after_the_read)
    answer = client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1"))
    monkeypatch.undo()

    assert answer.status == 200, answer.text  # it read a membership; the removal came after
    assert support.raw_item(org_pk(crew.org_id), member_sk(target)) is None
    assert target not in memberships(crew.org_id)
    assert_one_owner(crew.org_id)
    assert_problem(client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1")), 404, "not_found")


# --- what the permission check and a page cost -----------------------------------------------------


def assert_requests(requests: support.DynamoRequests, expected: list[str]) -> None:
    assert requests.by_hook == requests.by_moto, requests  # no client escaped the hooks
    assert requests.by_hook == expected, requests.by_hook


def test_get_org_is_one_batch_read(client, crew):
    """The permission check reads the organization and the caller's membership in one
    BatchGetItem and GET /orgs/{org_id} answers from what it read."""
    with count_dynamodb_requests() as requests:
        answer = client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1"))

    assert answer.status == 200, answer.text
    assert_requests(requests, ["BatchGetItem"])


@pytest.mark.parametrize("who", ["owner", "admin1", "member1"])
def test_the_permission_check_is_one_read_before_the_routes_own_work(client, crew, who):
    """Whatever a route then does itself (GET /orgs/{org_id} may list, for those who set
    the 2FA policy, whom it locks out), the check before it is one BatchGetItem and
    writes nothing for a member active within the hour."""
    with count_dynamodb_requests() as requests:
        answer = client.request("GET", f"/orgs/{crew.org_id}", token=crew.token(who))
    assert answer.status == 200, answer.text
    assert requests.by_hook == requests.by_moto, requests
    assert requests.by_hook[0] == "BatchGetItem", requests.by_hook
    assert requests.by_hook.count("BatchGetItem") == 1, requests.by_hook
    assert not {"GetItem", "UpdateItem", "PutItem", "TransactWriteItems"} & set(requests.by_hook), requests.by_hook

    with count_dynamodb_requests() as requests:
        answer = client.request("GET", f"/orgs/{crew.org_id}/members?limit=1", token=crew.token(who))
    assert answer.status == 200, answer.text
    assert_requests(requests, ["BatchGetItem", "Query"])


@pytest.mark.parametrize("who", ["owner", "admin1"])
def test_reading_the_plan_is_one_batch_read(client, crew, who):
    with count_dynamodb_requests() as requests:
        answer = client.request("GET", f"/orgs/{crew.org_id}/billing", token=crew.token(who))

    assert answer.status == 200, answer.text
    assert_requests(requests, ["BatchGetItem"])


def test_refusals_cost_the_same_one_read(client, crew):
    with count_dynamodb_requests() as forbidden:
        answer = client.request("PATCH", f"/orgs/{crew.org_id}", {"name": "No"}, token=crew.token("member1"))
    assert_problem(answer, 403, "forbidden")
    assert_requests(forbidden, ["BatchGetItem"])

    _, stranger = new_user_cheaply(client)
    with count_dynamodb_requests() as unknown:
        answer = client.request("GET", f"/orgs/{crew.org_id}/members", token=stranger)
    assert_problem(answer, 404, "not_found")
    assert_requests(unknown, ["BatchGetItem"])


def new_user_cheaply(client: GatewayClient) -> tuple[str, str]:
    with cheap_hashing():
        return new_user(client, "stranger@example.com", "Stan Stranger")


def test_each_members_page_is_one_query_after_the_one_read_of_the_check(client, crew):
    everyone: list[str] = []
    cursor = None
    pages = 0
    while True:
        path = f"/orgs/{crew.org_id}/members?limit=2" + (f"&cursor={cursor}" if cursor else "")
        with count_dynamodb_requests() as requests:
            answer = client.request("GET", path, token=crew.token("member2"))
        assert answer.status == 200, answer.text
        assert_requests(requests, ["BatchGetItem", "Query"])
        everyone += [item["user_id"] for item in answer.json()["items"]]
        pages += 1
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
        assert pages < 5

    assert pages == 3
    assert sorted(everyone) == sorted(crew.ids.values())


def test_a_stale_activity_adds_one_write_not_a_read(client, crew, service_clock):
    from datetime import timedelta

    service_clock.advance(timedelta(hours=2))
    with count_dynamodb_requests() as stale:
        assert client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1")).status == 200
    with count_dynamodb_requests() as fresh:
        assert client.request("GET", f"/orgs/{crew.org_id}", token=crew.token("member1")).status == 200

    assert_requests(stale, ["BatchGetItem", "UpdateItem"])
    assert_requests(fresh, ["BatchGetItem"])
