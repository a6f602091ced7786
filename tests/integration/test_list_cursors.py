"""The five lists that used to page by offset over the whole list in memory (issue 12,
"One paging scheme"): `GET /orgs`, `/orgs/{org_id}/invitations`, `/me/invitations`,
`/orgs/{org_id}/api-keys` and `/me/sessions` page by key now, like the others.

A walk page by page shows every item once, in the order of one big page; each page is
one Query; and a cursor this API did not give out (junk, an offset like the cursors
these lists gave out before, one cut short, or another list's) is 422
`validation_error`, never a 5xx.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from kuploy_access.adapters.dynamodb.keys import API_KEY_PK_PREFIX
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.org_support import (
    SharedGatewayClient,
    cheap_hashing,
    create_org,
    invite,
    new_user,
    restore_table,
    table_snapshot,
)
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem, count_dynamodb_requests

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

LISTS = ["my organizations", "the organization's invitations", "my invitations", "API keys", "my sessions"]


@dataclass
class Lists:
    """Olive owns three organizations and has signed in three times; the first
    organization has three API keys and invitations to three addresses and to Grace,
    whom the other two organizations invite too."""

    olive: str
    grace: str
    org_id: str

    def route(self, name: str) -> tuple[str, str]:
        """The path of the list called `name`, and the token that may read it."""
        return {
            "my organizations": ("/orgs", self.olive),
            "the organization's invitations": (f"/orgs/{self.org_id}/invitations", self.olive),
            "my invitations": ("/me/invitations", self.grace),
            "API keys": (f"/orgs/{self.org_id}/api-keys", self.olive),
            "my sessions": ("/me/sessions", self.olive),
        }[name]


@pytest.fixture(scope="module")
def lists_table(world, gateway) -> tuple[Lists, list[dict[str, Any]]]:
    restore_table([])
    client = SharedGatewayClient(support.OutboxSince(world), gateway)
    with cheap_hashing():
        _, olive = new_user(client, "olive@example.com", "Olive")
        _, grace = new_user(client, "grace@example.com", "Grace")
        org_ids = [create_org(client, olive, f"Engines {n}") for n in range(3)]
        for org_id in org_ids:
            invite(client, olive, org_id, "grace@example.com")
        for n in range(3):
            invite(client, olive, org_ids[0], f"x{n}@example.com")
            created = client.request(
                "POST", f"/orgs/{org_ids[0]}/api-keys", {"description": f"ci {n}", "preset": "deploy"}, token=olive
            )
            assert created.status == 201, created.text
            client.log_in("olive@example.com")
    return Lists(olive, grace, org_ids[0]), table_snapshot()


@pytest.fixture
def lists(aws, lists_table) -> Lists:
    restore_table(lists_table[1])
    return lists_table[0]


def get(client: GatewayClient, lists: Lists, name: str, query: str) -> Any:
    path, token = lists.route(name)
    return client.request("GET", f"{path}?{query}", token=token)


def ids(answer: Any) -> list[str]:
    assert answer.status == 200, answer.text
    return [item["id"] for item in answer.json()["items"]]


def walk(client: GatewayClient, lists: Lists, name: str, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        answer = get(client, lists, name, f"limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        pages.append(ids(answer))
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


def encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("name", LISTS)
def test_a_walk_shows_every_item_once_in_the_order_of_one_page(client, lists, name):
    everything = ids(get(client, lists, name, "limit=200"))
    assert len(everything) >= 3, everything

    pages = walk(client, lists, name, 2)

    assert [item for page in pages for item in page] == everything
    assert all(len(page) == 2 for page in pages[:-1]), pages
    assert len(pages) == (len(everything) + 1) // 2


@pytest.mark.parametrize("name", LISTS)
def test_each_page_is_one_query(client, lists, name):
    first = get(client, lists, name, "limit=1")
    cursor = first.json()["next_cursor"]
    assert cursor is not None

    with count_dynamodb_requests() as requests:
        answer = get(client, lists, name, f"limit=1&cursor={cursor}")

    assert answer.status == 200, answer.text
    assert requests.by_moto.count("Query") == 1, requests.by_moto
    assert "Scan" not in requests.by_moto, requests.by_moto


@pytest.mark.parametrize("name", LISTS)
def test_a_cursor_this_api_did_not_give_out_is_422(client, lists, name):
    """An offset, as these lists gave out before, and each other list's cursor among them."""
    own = get(client, lists, name, "limit=1").json()["next_cursor"]
    others = [get(client, lists, other, "limit=1").json()["next_cursor"] for other in LISTS if other != name]
    audit = client.request("GET", f"/orgs/{lists.org_id}/audit-log?limit=1", token=lists.olive).json()["next_cursor"]
    assert None not in (own, audit, *others)
    forged = [
        "garbage",
        "%%%",
        "x" * 150,
        encoded({"o": 1}),
        encoded({"k": 1}),
        encoded([]),
        own[: len(own) // 2],
        *others,
        audit,  # a list that paged by key already
    ]

    for cursor in forged:
        answer = get(client, lists, name, f"cursor={quote(cursor)}")
        assert_problem(answer, 422, "validation_error")


def test_my_invitations_answer_by_id_still_finds_the_invitation(client, lists):
    """`POST /me/invitations/{id}/accept` finds the invitation by its id and address."""
    listed = ids(get(client, lists, "my invitations", "limit=200"))

    answer = client.request("POST", f"/me/invitations/{listed[0]}/accept", token=lists.grace)

    assert answer.status == 200, answer.text
    assert ids(get(client, lists, "my invitations", "limit=200")) == listed[1:]


@pytest.mark.parametrize("name", LISTS)
def test_no_cursor_carries_a_table_key_or_an_api_key_hash(client, lists, name):
    """A cursor travels in URLs, so into access logs and browser histories: it names the
    listed item's sort key and nothing else. An index's table keys would be an API key's
    secret hash (`APIKEY#<sha256>`), or an address."""
    cursors = []
    cursor: str | None = None
    while True:
        answer = get(client, lists, name, "limit=1" + (f"&cursor={quote(cursor)}" if cursor else ""))
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
        cursors.append(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))
    assert cursors
    for decoded in cursors:
        assert set(decoded) <= {"k", "ix", "used"}, decoded
        assert API_KEY_PK_PREFIX not in json.dumps(decoded)
        assert "@" not in json.dumps(decoded)
