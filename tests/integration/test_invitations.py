"""Invitations through the local gateway: invite, the email and its link, the page that
changes nothing on GET, accepting and declining (by link, from the console and from
the page's forms), revoke, resend, expiry, the accept race and what accepting costs.

One moto world serves the module; each test starts from an empty table.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from botocore.exceptions import ClientError

from kuploy_access.adapters.dynamodb.invitations import DynamoInvitationRepository
from kuploy_access.adapters.dynamodb.keys import (
    INVITATION_LINK_PK_PREFIX,
    INVITATION_LINK_SK,
    LOGIN_FAILURES_PK_PREFIX,
    MEMBER_SK_PREFIX,
    RATE_COUNTER_PK_PREFIX,
    audit_pk,
    invitation_link_pk,
    invitation_sk,
    invitee_sk,
    member_sk,
    org_pk,
)
from kuploy_access.adapters.ses_mailer import SesMailer
from tests.integration import support
from tests.integration.gateway_client import Answer, GatewayClient
from tests.integration.org_support import PASSWORD, create_org, invitation_token, new_user, run_org_purge
from tests.integration.support import (
    ACCESS_HEADER,
    access_claims,
    assert_problem,
    count_dynamodb_requests,
    forge_jwt,
    meet_before,
    raw_item,
    run_together,
    scan,
)

ORG_NAME = "Analytical Engines"
OWNER_NAME = "Ada Lovelace"
GRACE = "grace@example.com"
LIFETIME = timedelta(days=7)
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}
_MISSING = object()


# --- the world -----------------------------------------------------------------------------------


def _model_classes() -> list[type]:
    from pynamodb.models import Model

    from kuploy_access.adapters.dynamodb import models

    return [
        value
        for value in vars(models).values()
        if isinstance(value, type) and issubclass(value, Model) and value.__module__ == models.__name__
    ]


@contextmanager
def _connections(cold: bool) -> Iterator[None]:
    """PynamoDB caches a connection (with the indexes it knows) on each model class, and
    a subclass without one of its own inherits its parent's. `cold=False`: every model
    gets its own, a known state for the tests of invitations. `cold=True`: no model
    has one yet, as in a Lambda container that has served nothing. What was there is
    put back afterwards either way, so that this module leaves the others as it found
    them."""
    classes = _model_classes()
    saved = {cls: cls.__dict__.get("_connection", _MISSING) for cls in classes}
    try:
        for cls in classes:
            if cold:
                if "_connection" in cls.__dict__:
                    delattr(cls, "_connection")
            else:
                cls._connection = None  # type: ignore[attr-defined]
                cls._get_connection()  # type: ignore[attr-defined]
        if cold:
            from kuploy_access.adapters.dynamodb.models import TableItem

            TableItem._connection = None
        yield
    finally:
        for cls, value in saved.items():
            if value is _MISSING:
                if "_connection" in cls.__dict__:
                    delattr(cls, "_connection")
            else:
                cls._connection = value  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    with support.moto_world() as outbox, _connections(cold=False):
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the module's world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


@dataclass
class Team:
    client: GatewayClient
    owner_id: str
    owner: str  # the owner's access token
    org_id: str

    def call(self, method: str, path: str, body: Any = None, *, token: str | None = None, **headers: str) -> Answer:
        return self.client.request(method, path, body, token=token, headers=headers or None)

    def invite(self, email: str = GRACE, role: str = "member", *, token: str | None = None) -> Answer:
        return self.call(
            "POST", f"/orgs/{self.org_id}/invitations", {"email": email, "role": role}, token=token or self.owner
        )

    def invited(self, email: str = GRACE, role: str = "member") -> tuple[dict[str, Any], str]:
        """Invite; answer the 201 body and the emailed link's token."""
        answer = self.invite(email, role)
        assert answer.status == 201, answer.text
        assert answer.json()["email_delivery"] == "sent", answer.text
        return answer.json(), invitation_token(self.client, email)

    def org(self, token: str | None = None) -> Answer:
        return self.call("GET", f"/orgs/{self.org_id}", token=token or self.owner)

    def member_count(self) -> int:
        answer = self.org()
        assert answer.status == 200, answer.text
        return int(answer.json()["member_count"])

    def view(self, link: str, **headers: str) -> Answer:
        return self.call("GET", f"/invitations/{link}", **(headers or JSON))

    def accept(self, link: str, token: str) -> Answer:
        return self.call("POST", f"/invitations/{link}/accept", token=token)

    def decline(self, link: str, token: str) -> Answer:
        return self.call("POST", f"/invitations/{link}/decline", token=token)

    def members(self) -> list[dict[str, Any]]:
        return [i for i in scan() if i["pk"] == org_pk(self.org_id) and i["sk"].startswith(MEMBER_SK_PREFIX)]

    def audit_actions(self) -> list[str]:
        answer = self.call("GET", f"/orgs/{self.org_id}/audit-log", token=self.owner)
        assert answer.status == 200, answer.text
        return [event["action"] for event in answer.json()["items"]]


@pytest.fixture
def team(aws, cheap_password_hashing, service_clock) -> Team:
    client = GatewayClient(aws)
    owner_id, owner = new_user(client, "ada@example.com", OWNER_NAME)
    return Team(client, owner_id, owner, create_org(client, owner, ORG_NAME))


@pytest.fixture
def grace(team) -> tuple[str, str]:
    """Grace has a verified account with the address the tests invite: (user_id, token)."""
    return new_user(team.client, GRACE, "Grace Hopper")


def _state() -> list[dict[str, Any]]:
    """The table, but the login counters and the account trails (a refused password
    counts there and is recorded there)."""
    counted = (RATE_COUNTER_PK_PREFIX, LOGIN_FAILURES_PK_PREFIX, audit_pk("usr_"))
    return sorted((i for i in scan() if not i["pk"].startswith(counted)), key=lambda i: (i["pk"], i["sk"]))


def _when(answer_time: str) -> datetime:
    return datetime.fromisoformat(answer_time.replace("Z", "+00:00"))


def _invitation_emails(team: Team, address: str) -> list[dict[str, str]]:
    return [e for e in team.client.outbox.all() if e["to"] == address and "/invitations/" in e["text"]]


def _forms(page: str) -> list[str]:
    return re.findall(r"<form\b[^>]*>", page)


# --- inviting ------------------------------------------------------------------------------------


def test_invite_answers_201_and_emails_a_link_with_everything_the_invitee_needs(team, service_clock):
    answer = team.invite("Grace@Example.COM", "admin")

    assert answer.status == 201, answer.text
    body = answer.json()
    assert set(body) == {"id", "email", "role", "status", "expires_at", "email_delivery"}, body
    assert body["id"].startswith("inv_")
    assert body["email"] == GRACE
    assert body["role"] == "admin"
    assert body["status"] == "pending"
    assert body["email_delivery"] == "sent"
    expires_at = _when(body["expires_at"])
    assert abs(expires_at - (service_clock.now() + LIFETIME)) < timedelta(minutes=1)

    [email] = _invitation_emails(team, GRACE)
    links = re.findall(r"(https?://[^\s\"'<>]+)/invitations/([A-Za-z0-9_\-]+)", email["text"])
    assert len(links) == 1, email["text"]
    link = links[0][1]
    html = unescape(email["html"])
    assert f"/invitations/{link}" in html
    for part in (email["text"], html):
        assert ORG_NAME in part
        assert OWNER_NAME in part
        assert "admin" in part
        assert expires_at.strftime("%Y-%m-%d %H:%M") in part
    assert ORG_NAME in email["subject"]
    # At least 128 random bits: 22+ characters of base64url, 16+ bytes.
    assert len(base64.urlsafe_b64decode(link + "=" * (-len(link) % 4))) >= 16
    # The link works.
    assert team.view(link).status == 200


def test_only_the_hash_of_the_token_is_stored(team):
    _, link = team.invited()

    stored = json.dumps(scan())
    assert link not in stored
    assert hashlib.sha256(link.encode()).hexdigest() in stored


def test_inviting_someone_already_invited_or_already_a_member_is_a_conflict(team, service_clock):
    team.invited(GRACE)
    assert_problem(team.invite("GRACE@example.com", "admin"), 409, "already_invited")
    pending = team.call("GET", f"/orgs/{team.org_id}/invitations", token=team.owner).json()["items"]
    assert [(i["email"], i["role"]) for i in pending] == [(GRACE, "member")]

    _, ben = new_user(team.client, "ben@example.com", "Ben")
    _, link = team.invited("ben@example.com")
    assert team.accept(link, ben).status == 200
    assert_problem(team.invite("Ben@Example.com"), 409, "already_member")
    assert_problem(team.invite("ben@example.com", "admin"), 409, "already_member")

    # Once the first has expired, a new invitation may go out.
    service_clock.advance(LIFETIME + timedelta(minutes=1))
    assert team.invite(GRACE).status == 201


def test_invite_refuses_the_owner_role_bad_addresses_and_members(team, grace):
    assert_problem(team.invite("someone@example.com", "owner"), 422, "validation_error")
    assert_problem(team.invite("not an address", "member"), 422, "invalid_email")
    assert_problem(team.invite("nobody@", "member"), 422, "invalid_email")

    _, link = team.invited(GRACE, "member")
    assert team.accept(link, grace[1]).status == 200
    assert_problem(team.invite("friend@example.com", token=grace[1]), 403, "forbidden")

    _, stranger = new_user(team.client, "stranger@example.com", "Stranger")
    assert_problem(team.invite("friend@example.com", token=stranger), 404, "not_found")
    assert [i for i in scan() if "friend@example.com" in json.dumps(i)] == []


def test_an_invitation_whose_email_ses_refused_exists_and_can_be_resent(team, monkeypatch):
    def refuse(self: Any, email: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "MessageRejected", "Message": "Email address is not verified."}}, "SendEmail"
        )

    monkeypatch.setattr(SesMailer, "send", refuse)
    answer = team.invite(GRACE, "admin")

    assert answer.status == 201, answer.text
    body = answer.json()
    assert body["email_delivery"] == "failed"
    assert body["status"] == "pending"
    assert _invitation_emails(team, GRACE) == []
    listed = team.call("GET", f"/orgs/{team.org_id}/invitations", token=team.owner).json()["items"]
    assert [(i["id"], i["email"], i["role"]) for i in listed] == [(body["id"], GRACE, "admin")]
    # Nothing half-written: the record, its link's copy and the one-pending guard.
    items = scan()
    assert raw_item(org_pk(team.org_id), invitation_sk(body["id"])) is not None
    assert len([i for i in items if i["pk"].startswith(INVITATION_LINK_PK_PREFIX)]) == 1
    assert raw_item(org_pk(team.org_id), invitee_sk(GRACE)) is not None

    monkeypatch.undo()
    resent = team.call("POST", f"/orgs/{team.org_id}/invitations/{body['id']}/resend", token=team.owner)

    assert resent.status == 202, resent.text
    assert resent.json()["email_delivery"] == "sent"
    link = invitation_token(team.client, GRACE)
    viewed = team.view(link)
    assert viewed.status == 200, viewed.text
    assert viewed.json()["role"] == "admin"


# --- the emailed link ----------------------------------------------------------------------------


def test_the_link_answers_json_when_asked(team):
    invitation, link = team.invited(GRACE, "admin")

    answer = team.view(link)

    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"org_name", "inviter_name", "email", "role", "expires_at"}, body
    assert body["org_name"] == ORG_NAME
    assert body["inviter_name"] == OWNER_NAME
    assert body["email"] == GRACE
    assert body["role"] == "admin"
    assert _when(body["expires_at"]) == _when(invitation["expires_at"])


@pytest.mark.parametrize("headers", [HTML, {}], ids=["browser", "no accept header"])
def test_the_link_answers_a_page_with_forms_that_post(team, headers):
    _, link = team.invited(GRACE, "admin")

    answer = team.call("GET", f"/invitations/{link}", **headers)

    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    page = unescape(answer.text)
    assert ORG_NAME in page
    assert OWNER_NAME in page
    assert "admin" in page
    forms = _forms(answer.text)
    assert len(forms) >= 2, forms  # sign in and answer; sign up
    for form in forms:
        assert re.search(r'method="post"', form, re.IGNORECASE), form
        assert f'action="/invitations/{link}"' in form, form
    assert 'value="accept"' in answer.text
    assert 'value="signup"' in answer.text


def test_the_page_escapes_what_the_inviter_chose(team):
    org_id = create_org(team.client, team.owner, "<script>alert(1)</script> & Co")
    answer = team.call("POST", f"/orgs/{org_id}/invitations", {"email": GRACE, "role": "member"}, token=team.owner)
    assert answer.status == 201, answer.text
    page = team.call("GET", f"/invitations/{invitation_token(team.client, GRACE)}", **HTML)
    assert page.status == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_looking_at_an_invitation_changes_nothing(team):
    _, link = team.invited()
    before = scan()

    for headers in (JSON, HTML, {}):
        assert team.call("GET", f"/invitations/{link}", **headers).status == 200
    team.call("GET", f"/invitations/{'x' * 43}", **JSON)
    team.call("GET", f"/invitations/{'x' * 43}", **HTML)

    assert scan() == before


# --- accepting -----------------------------------------------------------------------------------


def test_accepting_makes_a_member_with_the_invited_role(team, grace):
    invitation, link = team.invited(GRACE, "admin")
    assert team.member_count() == 1

    answer = team.accept(link, grace[1])

    assert answer.status == 200, answer.text
    assert answer.json() == {"org_id": team.org_id, "role": "admin"}
    member = raw_item(org_pk(team.org_id), member_sk(grace[0]))
    assert member is not None
    assert member["role"] == "admin"
    assert raw_item(org_pk(team.org_id), invitation_sk(invitation["id"]))["status"] == "accepted"  # type: ignore[index]
    token_copy = raw_item(invitation_link_pk(hashlib.sha256(link.encode()).hexdigest()), INVITATION_LINK_SK)
    assert token_copy is not None
    assert token_copy["status"] == "accepted"
    assert team.member_count() == 2
    # Grace is in: the organization answers her, and lists her with her role.
    assert team.org(grace[1]).status == 200
    me = team.call("GET", "/me", token=grace[1]).json()
    assert {"id": team.org_id, "name": ORG_NAME, "role": "admin"} in me["organizations"]
    assert "member.joined" in team.audit_actions()
    # The invitation is no longer pending for the organization.
    pending = team.call("GET", f"/orgs/{team.org_id}/invitations", token=team.owner).json()["items"]
    assert pending == []


def test_accepting_with_another_address_is_refused(team, grace):
    _, link = team.invited(GRACE)
    _, mallory = new_user(team.client, "mallory@example.com", "Mallory")
    before = _state()

    assert_problem(team.accept(link, mallory), 403, "invitation_email_mismatch")
    assert_problem(team.decline(link, mallory), 403, "invitation_email_mismatch")

    assert _state() == before
    assert team.accept(link, grace[1]).status == 200


def test_an_expired_invitation_answers_410(team, grace, service_clock):
    _, link = team.invited()
    service_clock.advance(timedelta(days=8))

    assert_problem(team.accept(link, grace[1]), 410, "invitation_expired")
    assert_problem(team.view(link), 410, "invitation_expired")
    assert team.view(link, **HTML).status == 410
    assert team.members() == [m for m in team.members() if m["user_id"] == team.owner_id]


def test_a_used_invitation_answers_410(team, grace):
    _, link = team.invited()
    assert team.accept(link, grace[1]).status == 200

    assert_problem(team.accept(link, grace[1]), 410, "invitation_used")
    assert_problem(team.decline(link, grace[1]), 410, "invitation_used")
    assert_problem(team.view(link), 410, "invitation_used")
    assert team.member_count() == 2


def test_a_revoked_invitation_answers_404(team, grace):
    invitation, link = team.invited()

    revoked = team.call("DELETE", f"/orgs/{team.org_id}/invitations/{invitation['id']}", token=team.owner)

    assert revoked.status == 204, revoked.text
    assert_problem(team.accept(link, grace[1]), 404, "not_found")
    assert_problem(team.view(link), 404, "not_found")
    assert team.view(link, **HTML).status == 404
    resend = team.call("POST", f"/orgs/{team.org_id}/invitations/{invitation['id']}/resend", token=team.owner)
    assert_problem(resend, 404, "not_found")
    assert team.call("GET", f"/orgs/{team.org_id}/invitations", token=team.owner).json()["items"] == []
    assert team.member_count() == 1


@pytest.mark.parametrize("link", ["x" * 43, "A" * 16, "y" * 129, "z" * 600], ids=["43", "16", "129", "600"])
def test_an_unknown_link_answers_404(team, grace, link):
    team.invited()
    before = _state()

    view = team.view(link)
    accept = team.accept(link, grace[1])

    if len(link) <= 512:  # longer path parameters are bad input (422), not a lookup
        assert_problem(view, 404, "not_found")
        assert_problem(accept, 404, "not_found")
        assert_problem(team.decline(link, grace[1]), 404, "not_found")
    for answer in (view, accept):
        assert 400 <= answer.status < 500, answer.text
    assert _state() == before


def test_declining_answers_204_and_the_link_is_used_after(team, grace):
    invitation, link = team.invited()

    declined = team.decline(link, grace[1])

    assert declined.status == 204, declined.text
    assert_problem(team.accept(link, grace[1]), 410, "invitation_used")
    assert raw_item(org_pk(team.org_id), invitation_sk(invitation["id"]))["status"] == "declined"  # type: ignore[index]
    assert team.member_count() == 1
    assert "invitation.declined" in team.audit_actions()
    # The organization may invite her again.
    assert team.invite(GRACE).status == 201


def test_answering_needs_a_signed_in_user(team):
    _, link = team.invited()
    before = _state()

    for path in (f"/invitations/{link}/accept", f"/invitations/{link}/decline"):
        assert_problem(team.call("POST", path), 401, "unauthorized")
        # Organization API keys are not credentials yet (they arrive with their own
        # issue); when they are, these user-only routes answer 403 api_key_not_allowed.
        answer = team.call("POST", path, token="kpy_" + "a" * 40)
        assert answer.status in (401, 403), answer.text
    assert_problem(team.call("GET", "/me/invitations"), 401, "unauthorized")

    assert _state() == before


# --- resend --------------------------------------------------------------------------------------


def test_resend_sends_a_new_link_kills_the_old_one_and_resets_the_expiry(team, grace, service_clock):
    invitation, old = team.invited()
    first_expiry = _when(invitation["expires_at"])
    service_clock.advance(timedelta(days=3))

    resent = team.call("POST", f"/orgs/{team.org_id}/invitations/{invitation['id']}/resend", token=team.owner)

    assert resent.status == 202, resent.text
    new_expiry = _when(resent.json()["expires_at"])
    assert abs(new_expiry - (service_clock.now() + LIFETIME)) < timedelta(minutes=1)
    assert new_expiry - first_expiry > timedelta(days=2)
    assert len(_invitation_emails(team, GRACE)) == 2
    new = invitation_token(team.client, GRACE)
    assert new != old
    assert_problem(team.view(old), 404, "not_found")
    assert_problem(team.accept(old, grace[1]), 404, "not_found")
    viewed = team.view(new)
    assert viewed.status == 200
    assert _when(viewed.json()["expires_at"]) == new_expiry
    listed = team.call("GET", f"/orgs/{team.org_id}/invitations", token=team.owner).json()["items"]
    assert [(i["id"], _when(i["expires_at"])) for i in listed] == [(invitation["id"], new_expiry)]
    # Past the first expiry, the resent link still works: the expiry started again.
    service_clock.advance(timedelta(days=5))
    assert team.accept(new, grace[1]).status == 200


# --- my invitations ------------------------------------------------------------------------------


def test_my_invitations_are_the_pending_unexpired_ones_for_my_verified_address(team, grace, service_clock):
    other_org = create_org(team.client, team.owner, "Difference Engines")
    third_org = create_org(team.client, team.owner, "Jacquard Looms")
    fourth_org = create_org(team.client, team.owner, "Babbage & Co")

    def invite_to(org_id: str, email: str = "Grace@Example.com") -> str:
        answer = team.call("POST", f"/orgs/{org_id}/invitations", {"email": email, "role": "member"}, token=team.owner)
        assert answer.status == 201, answer.text
        return str(answer.json()["id"])

    invite_to(fourth_org)  # expires
    service_clock.advance(timedelta(days=8))
    pending = invite_to(team.org_id)
    revoked = invite_to(other_org)
    assert team.call("DELETE", f"/orgs/{other_org}/invitations/{revoked}", token=team.owner).status == 204
    invite_to(third_org)
    assert team.accept(invitation_token(team.client, GRACE), grace[1]).status == 200  # the third org's
    invite_to(team.org_id, "someone.else@example.com")

    answer = team.call("GET", "/me/invitations", token=grace[1])

    assert answer.status == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None
    assert [item["id"] for item in body["items"]] == [pending]
    [item] = body["items"]
    assert set(item) == {"id", "org_id", "org_name", "role", "invited_by", "expires_at"}, item
    assert item["org_id"] == team.org_id
    assert item["org_name"] == ORG_NAME
    assert item["role"] == "member"
    assert item["invited_by"]
    assert _when(item["expires_at"]) > service_clock.now()


def test_an_unverified_address_has_no_invitations(team):
    team.invited("hal@example.com")
    assert team.call("POST", "/auth/signup", {"email": "hal@example.com", "password": PASSWORD}).status == 202
    [hal] = [u for u in support.users() if u["email"] == "hal@example.com"]
    assert hal["email_verified"] is False
    token = forge_jwt(ACCESS_HEADER, access_claims(hal["user_id"]), support.signing_key())

    answer = team.call("GET", "/me/invitations", token=token)

    assert answer.status == 200, answer.text
    assert answer.json()["items"] == []


def test_answering_from_the_console(team, grace):
    first = team.invite(GRACE, "admin").json()["id"]
    other_org = create_org(team.client, team.owner, "Difference Engines")
    second = team.call(
        "POST", f"/orgs/{other_org}/invitations", {"email": GRACE, "role": "member"}, token=team.owner
    ).json()["id"]
    _, mallory = new_user(team.client, "mallory@example.com", "Mallory")

    # Someone else's invitation is not theirs to see, nor to answer.
    assert_problem(team.call("POST", f"/me/invitations/{first}/accept", token=mallory), 404, "not_found")
    assert_problem(team.call("POST", f"/me/invitations/{second}/decline", token=mallory), 404, "not_found")
    assert_problem(team.call("POST", "/me/invitations/inv_unknown/accept", token=grace[1]), 404, "not_found")

    accepted = team.call("POST", f"/me/invitations/{first}/accept", token=grace[1])
    declined = team.call("POST", f"/me/invitations/{second}/decline", token=grace[1])

    assert accepted.status == 200, accepted.text
    assert accepted.json() == {"org_id": team.org_id, "role": "admin"}
    assert declined.status == 204, declined.text
    assert_problem(team.call("POST", f"/me/invitations/{first}/accept", token=grace[1]), 410, "invitation_used")
    assert_problem(team.call("POST", f"/me/invitations/{second}/accept", token=grace[1]), 410, "invitation_used")
    assert team.call("GET", "/me/invitations", token=grace[1]).json()["items"] == []
    assert raw_item(org_pk(team.org_id), member_sk(grace[0]))["role"] == "admin"  # type: ignore[index]
    assert raw_item(org_pk(other_org), member_sk(grace[0])) is None


# --- the accept race and its cost --------------------------------------------------------------


def test_five_simultaneous_accepts_make_one_membership(team, grace, monkeypatch):
    _, link = team.invited()
    # Every request has read the invitation as pending before any of them writes.
    meet_before(monkeypatch, DynamoInvitationRepository, "accept", 5)

    outcomes = run_together(5, lambda _: team.accept(link, grace[1]))

    assert [kind for kind, _ in outcomes] == ["ok"] * 5, outcomes
    answers: list[Answer] = [answer for _, answer in outcomes]
    assert sorted(a.status for a in answers) == [200, 410, 410, 410, 410], [a.text for a in answers]
    for answer in answers:
        if answer.status == 410:
            assert_problem(answer, 410, "invitation_used")
    assert [m["user_id"] for m in team.members() if m["user_id"] == grace[0]] == [grace[0]]
    assert len(team.members()) == 2
    assert team.member_count() == 2
    assert team.audit_actions().count("member.joined") == 1


def test_simultaneous_accept_and_decline_agree(team, grace, monkeypatch):
    invitation, link = team.invited()
    # The accept and the decline meet at one barrier before either writes.
    barrier = threading.Barrier(2, timeout=support.TIMEOUT)
    for method in ("accept", "decline"):
        original = getattr(DynamoInvitationRepository, method)

        def waiting(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            barrier.wait()
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoInvitationRepository, method, waiting)

    outcomes = run_together(2, lambda i: (team.accept if i == 0 else team.decline)(link, grace[1]))

    accepted, declined = (answer for _, answer in outcomes)
    assert sorted([accepted.status, declined.status]) in ([200, 410], [204, 410]), (accepted.text, declined.text)
    record = raw_item(org_pk(team.org_id), invitation_sk(invitation["id"]))
    assert record is not None
    membership = raw_item(org_pk(team.org_id), member_sk(grace[0]))
    if accepted.status == 200:
        assert record["status"] == "accepted"
        assert membership is not None
    else:
        assert record["status"] == "declined"
        assert membership is None


@pytest.mark.parametrize("first", ["resend", "revoke"])
def test_a_revocation_and_a_resend_at_once_leave_no_working_link(team, grace, monkeypatch, first):
    """Both requests have read the invitation as pending before either writes (the
    barrier); then `first` commits, and only after that the other one writes. Whichever
    wins, the invitation ends revoked and none of its links works."""
    invitation, old = team.invited()
    path = f"/orgs/{team.org_id}/invitations/{invitation['id']}"
    barrier = threading.Barrier(2, timeout=support.TIMEOUT)
    committed = threading.Event()
    for method in ("revoke", "resend"):
        original = getattr(DynamoInvitationRepository, method)

        def in_order(self: Any, *args: Any, _original: Any = original, _method: str = method, **kwargs: Any) -> Any:
            barrier.wait()
            if _method != first:
                assert committed.wait(support.TIMEOUT), f"the {first} never committed"
            try:
                return _original(self, *args, **kwargs)
            finally:
                if _method == first:
                    committed.set()

        monkeypatch.setattr(DynamoInvitationRepository, method, in_order)
    calls = [
        lambda: team.call("DELETE", path, token=team.owner),
        lambda: team.call("POST", f"{path}/resend", token=team.owner),
    ]

    outcomes = run_together(2, lambda i: calls[i]())
    monkeypatch.undo()

    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    revoked, resent = (answer for _, answer in outcomes)
    assert revoked.status == 204, revoked.text
    links = [old]
    if first == "resend":
        assert resent.status == 202, resent.text
        links.append(invitation_token(team.client, GRACE))
        assert links[1] != old
    else:
        assert_problem(resent, 404, "not_found")
        assert len(_invitation_emails(team, GRACE)) == 1
    for link in links:
        assert_problem(team.view(link), 404, "not_found")
        assert_problem(team.accept(link, grace[1]), 404, "not_found")
    assert raw_item(org_pk(team.org_id), invitation_sk(invitation["id"]))["status"] == "revoked"  # type: ignore[index]
    assert [i for i in scan() if i["pk"].startswith(INVITATION_LINK_PK_PREFIX)] == []
    actions = team.audit_actions()
    assert actions.count("invitation.revoked") == 1
    assert actions.count("invitation.resent") == (first == "resend")
    assert team.member_count() == 1
    assert team.invite(GRACE).status == 201  # the address is free again


READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def test_accepting_costs_at_most_one_read_and_one_transaction(team, grace):
    _, link = team.invited()

    with count_dynamodb_requests() as seen:
        answer = team.accept(link, grace[1])

    assert answer.status == 200, answer.text
    operations = seen.by_moto
    reads = [op for op in operations if op in READS]
    assert operations.count("TransactWriteItems") == 1, operations
    assert len(reads) <= 1, operations
    assert len(operations) == len(reads) + 1, operations
    assert sorted(seen.by_hook) == sorted(seen.by_moto), seen


# --- the page's forms ----------------------------------------------------------------------------


def _verification_link(team: Team, address: str) -> tuple[str, dict[str, list[str]]]:
    for email in reversed(team.client.outbox.all()):
        if email["to"] == address:
            found = re.search(r"https?://[^\s\"'<>]+/verify-email\?[^\s\"'<>]+", email["text"])
            if found:
                parts = urlsplit(found.group(0))
                return parts.path + "?" + parts.query, parse_qs(parts.query)
    raise AssertionError(f"no verification email to {address}")


def test_someone_without_an_account_signs_up_from_the_page_and_lands_back_on_the_invitation(team):
    _, link = team.invited(GRACE, "admin")
    page = f"/invitations/{link}"

    signed_up = team.client.request(
        "POST", page, raw=urlencode({"action": "signup", "name": "Grace", "password": PASSWORD}).encode(), headers=FORM
    )

    assert signed_up.status == 200, signed_up.text
    assert signed_up.headers["content-type"].startswith("text/html")
    assert GRACE in signed_up.text
    url, query = _verification_link(team, GRACE)
    assert query["next"] == [page], url
    [account] = [u for u in support.users() if u["email"] == GRACE]
    assert account["email_verified"] is False
    assert account["name"] == "Grace"

    # The emailed link's page changes nothing; its button posts the token and where to go next.
    before = scan()
    shown = team.client.request("GET", url, headers=HTML)
    assert shown.status == 200, shown.text
    assert scan() == before
    assert f'name="next" value="{page}"' in shown.text

    verified = team.client.request(
        "POST", "/verify-email", raw=urlencode({"token": query["token"][0], "next": page}).encode(), headers=FORM
    )

    assert verified.status == 200, verified.text
    assert f'href="{page}"' in verified.text
    assert [u["email_verified"] for u in support.users() if u["email"] == GRACE] == [True]

    joined = team.client.request(
        "POST", page, raw=urlencode({"action": "accept", "email": GRACE, "password": PASSWORD}).encode(), headers=FORM
    )

    assert joined.status == 200, joined.text
    assert "joined" in joined.text.lower()
    assert ORG_NAME in unescape(joined.text)
    member = raw_item(org_pk(team.org_id), member_sk(account["user_id"]))
    assert member is not None
    assert member["role"] == "admin"
    assert team.member_count() == 2
    assert team.view(page.rsplit("/", 1)[1], **HTML).status == 410


def test_a_wrong_password_on_the_page_changes_nothing(team, grace):
    _, link = team.invited()
    before = _state()

    answer = team.client.request(
        "POST",
        f"/invitations/{link}",
        raw=urlencode({"action": "accept", "email": GRACE, "password": "not the password"}).encode(),
        headers=FORM,
    )

    assert 400 <= answer.status < 500, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert 'class="error"' in answer.text
    assert _forms(answer.text), "the page offers the forms again"
    assert _state() == before
    assert raw_item(org_pk(team.org_id), member_sk(grace[0])) is None
    assert team.view(link).status == 200


def test_declining_from_the_page(team, grace):
    invitation, link = team.invited()

    answer = team.client.request(
        "POST",
        f"/invitations/{link}",
        raw=urlencode({"action": "decline", "email": GRACE, "password": PASSWORD}).encode(),
        headers=FORM,
    )

    assert answer.status == 200, answer.text
    assert "declined" in answer.text.lower()
    assert raw_item(org_pk(team.org_id), invitation_sk(invitation["id"]))["status"] == "declined"  # type: ignore[index]
    assert raw_item(org_pk(team.org_id), member_sk(grace[0])) is None


# --- the organization goes -----------------------------------------------------------------------


def test_deleting_the_organization_kills_its_invitation_links(team, grace):
    invitation, link = team.invited()

    assert team.call("DELETE", f"/orgs/{team.org_id}", token=team.owner).status == 204

    # Dead at once, before the purge removes the link.
    assert_problem(team.view(link), 404, "not_found")
    assert_problem(team.accept(link, grace[1]), 404, "not_found")
    run_org_purge(team.client, team.org_id)
    assert_problem(team.view(link), 404, "not_found")
    assert team.view(link, **HTML).status == 404
    assert_problem(team.accept(link, grace[1]), 404, "not_found")
    assert_problem(team.decline(link, grace[1]), 404, "not_found")
    assert team.call("GET", "/me/invitations", token=grace[1]).json()["items"] == []
    by_id = team.call("POST", f"/me/invitations/{invitation['id']}/accept", token=grace[1])
    assert_problem(by_id, 404, "not_found")
    assert [i for i in scan() if i["pk"].startswith(INVITATION_LINK_PK_PREFIX)] == []
    assert raw_item(org_pk(team.org_id), member_sk(grace[0])) is None


# --- a container's first requests ------------------------------------------------------------------


def test_my_invitations_in_a_container_that_has_just_sent_an_invitation(team, grace):
    with _connections(cold=True):
        # The container's first request: an invitation (a transaction).
        assert team.invite(GRACE).status == 201
        answer = team.call("GET", "/me/invitations", token=grace[1])
    assert answer.status == 200, answer.text
    assert len(answer.json()["items"]) == 1


def test_my_organizations_in_a_container_that_has_just_accepted_an_invitation(team, grace):
    _, link = team.invited()
    with _connections(cold=True):
        assert team.accept(link, grace[1]).status == 200
        answer = team.call("GET", "/orgs", token=grace[1])
    assert answer.status == 200, answer.text
    assert [item["id"] for item in answer.json()["items"]] == [team.org_id]
