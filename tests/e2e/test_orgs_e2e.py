"""Organizations over real HTTP: an owner invites someone who has no account yet, the
email arrives, the invitee signs up with that address from the invitation page, comes
back through the verification link, accepts and deploys. Then the races: one
invitation accepted six times at once, and the owner's membership attacked while the
owner transfers ownership. Last, a removal or a demotion applies to the very next
request.

The owner race also checks what only the local server can get wrong: it runs function
copies as threads of one process, and Powertools keeps the current request on a class
attribute, so without devserver's per-thread isolation two requests at once could read
each other's event; an answer no ordering can give fails the test."""

from __future__ import annotations

import html
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    log_in,
    logged_in,
    sign_up,
    strong_password,
    tokens_of,
    unique_email,
    verification_link,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

T = TypeVar("T")
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
VERIFY_LINK_WITH_NEXT = re.compile(r"https?://[^\s\"'<>]+/verify-email\?[^\s\"'<>]+")
ACCEPT_RACERS = 6


# --- reading pages as a browser would ------------------------------------------------


class _Forms(HTMLParser):
    """Every form of a page: its action, method, named inputs and submit buttons; and
    every link with its text."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[tuple[str, str]] = []
        self._button: dict[str, str] | None = None
        self._link: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": {}})
            self.forms[-1]["types"], self.forms[-1]["buttons"] = {}, []
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
            self.forms[-1]["types"][a["name"]] = a.get("type", "text")
        elif tag == "button" and self.forms:
            self._button = {"name": a.get("name", ""), "value": a.get("value", ""), "text": ""}
        elif tag == "a":
            self._link = a.get("href", "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button["text"] += data
        if self._link is not None:
            self.links.append((self._link, data))

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self.forms[-1]["buttons"].append(self._button)
            self._button = None
        elif tag == "a":
            self._link = None


def _read_page(response: httpx.Response) -> _Forms:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html"), response.headers
    parsed = _Forms()
    parsed.feed(response.text)
    return parsed


def _form_with(page: _Forms, predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    found = [form for form in page.forms if predicate(form)]
    assert len(found) == 1, page.forms
    assert found[0]["method"].lower() == "post", found[0]
    return found[0]


def _sign_up_form(page: _Forms) -> dict[str, Any]:
    return _form_with(page, lambda f: f["inputs"].get("action") == "signup")


def _sign_in_form(page: _Forms) -> dict[str, Any]:
    return _form_with(page, lambda f: any(b["name"] == "action" for b in f["buttons"]))


def _button(form: dict[str, Any], text: str) -> dict[str, str]:
    found = [b for b in form["buttons"] if b["text"].strip() == text]
    assert len(found) == 1, form["buttons"]
    button: dict[str, str] = found[0]
    return button


def _text_of(response: httpx.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


# --- accounts, organizations and invitations over HTTP --------------------------------


def _at_once(server: DevServer, calls: list[Callable[[httpx.Client], T]]) -> list[T]:
    """Each call on its own connection, from threads released together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[httpx.Client], T]) -> T:
        with server.client() as own:
            barrier.wait(timeout=30)
            return call(own)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _me(client: httpx.Client, access_token: str) -> dict[str, Any]:
    answer = client.get("/me", headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    me: dict[str, Any] = answer.json()
    return me


def _user(client: httpx.Client, name: str) -> dict[str, Any]:
    """A verified, signed-in user; "id" is filled in from a members list."""
    email, tokens = logged_in(client, name)
    return {"email": email.lower(), "token": tokens["access_token"], "id": ""}


def _id_in(members: list[dict[str, Any]], email: str) -> str:
    found = [m["user_id"] for m in members if m["email"] == email.lower()]
    assert len(found) == 1, (email, members)
    assert found[0].startswith("usr_"), found
    return str(found[0])


def _new_org(client: httpx.Client, owner_token: str, label: str = "Engines") -> dict[str, Any]:
    name = f"{label} {uuid.uuid4().hex[:8]}"
    answer = client.post("/orgs", json={"name": name}, headers=bearer(owner_token))
    assert answer.status_code == 201, answer.text
    org: dict[str, Any] = answer.json()
    assert org["name"] == name and org["role"] == "owner" and org["id"].startswith("org_"), org
    return org


def _invitation_emails(client: httpx.Client, address: str) -> list[dict[str, str]]:
    return [m for m in emails_to(client, address) if INVITATION_LINK.search(m["text"])]


def _invite(client: httpx.Client, token: str, org_id: str, email: str, role: str) -> str:
    """Invite `email`; answers the token of the link in the email that arrived."""
    before = len(_invitation_emails(client, email))
    answer = client.post(f"/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(token))
    assert answer.status_code == 201, answer.text
    assert answer.json()["email_delivery"] == "sent", answer.text
    arrived = _invitation_emails(client, email)
    assert len(arrived) == before + 1, arrived
    links = INVITATION_LINK.findall(arrived[-1]["text"])
    assert len(set(links)) == 1, arrived[-1]["text"]
    return str(links[0])


def _join(client: httpx.Client, owner_token: str, org_id: str, user: dict[str, Any], role: str) -> None:
    token = _invite(client, owner_token, org_id, user["email"], role)
    answer = client.post(f"/invitations/{token}/accept", headers=bearer(user["token"]))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"org_id": org_id, "role": role}
    user["id"] = _id_in(_members(client, owner_token, org_id), user["email"])


def _members(client: httpx.Client, token: str, org_id: str) -> list[dict[str, Any]]:
    answer = client.get(f"/orgs/{org_id}/members", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["next_cursor"] is None, body
    items: list[dict[str, Any]] = body["items"]
    return items


# --- a) the whole story --------------------------------------------------------------


def _ada_signs_up_through_her_emailed_link(client: httpx.Client) -> tuple[str, str]:
    email, password = unique_email("Ada"), strong_password()
    sign_up(client, email, password, "Ada")
    link = verification_link(wait_for_emails(client, email, 1)[-1])
    assert log_in(client, email, password).status_code == 403  # not verified yet
    confirm = _form_with(_read_page(client.get(link)), lambda f: "token" in f["inputs"])
    assert confirm["action"] == "/verify-email", confirm
    confirmed = client.post(confirm["action"], data=confirm["inputs"])
    assert confirmed.status_code == 200, confirmed.text
    assert "Email confirmed" in confirmed.text
    return email, password


@pytest.mark.parametrize("accept_with", ["invitation page form", "login and accept route"])
def test_owner_invites_a_newcomer_who_signs_up_accepts_and_deploys(
    server: DevServer, client: httpx.Client, accept_with: str
) -> None:
    ada_email, ada_password = _ada_signs_up_through_her_emailed_link(client)
    ada = tokens_of(log_in(client, ada_email, ada_password))["access_token"]
    org = _new_org(client, ada, "Analytical Engines")
    org_id = org["id"]

    # Ada invites Grace, who has no account yet.
    grace_email, grace_password = unique_email("Grace"), strong_password()
    assert_problem(log_in(client, grace_email, grace_password), 401, "invalid_credentials")
    invited = client.post(
        f"/orgs/{org_id}/invitations", json={"email": grace_email, "role": "member"}, headers=bearer(ada)
    )
    assert invited.status_code == 201, invited.text
    body = invited.json()
    assert body["email"] == grace_email.lower() and body["role"] == "member", body
    assert body["status"] == "pending" and body["email_delivery"] == "sent", body
    assert body["id"].startswith("inv_"), body

    # The email arrives: the organization, who invited, the role, and the link.
    mail = wait_for_emails(client, grace_email, 1)
    assert len(mail) == 1, mail
    invitation_mail = mail[-1]
    for part in (invitation_mail["subject"], invitation_mail["text"]):
        assert org["name"] in part and "Ada" in part, part
    assert "member" in invitation_mail["text"], invitation_mail["text"]
    assert org["name"] in html.unescape(invitation_mail["html"]), invitation_mail["html"]
    links = set(INVITATION_LINK.findall(invitation_mail["text"]))
    assert len(links) == 1, invitation_mail["text"]
    token = links.pop()
    invitation_path = f"/invitations/{token}"
    assert f"{server.public_base_url}{invitation_path}" in invitation_mail["text"]
    assert len(token) >= 22, token  # at least 128 bits

    # The link, as JSON and as the page a person sees; neither changes anything.
    as_json = client.get(invitation_path, headers={"Accept": "application/json"})
    assert as_json.status_code == 200, as_json.text
    view = as_json.json()
    assert (view["org_name"], view["inviter_name"], view["email"], view["role"]) == (
        org["name"],
        "Ada",
        grace_email.lower(),
        "member",
    ), view
    shown = client.get(invitation_path, headers={"Accept": "text/html"})
    page = _read_page(shown)
    text = _text_of(shown)
    assert org["name"] in text and "Ada" in text and "member" in text, text
    pending = client.get(f"/orgs/{org_id}/invitations", headers=bearer(ada)).json()["items"]
    assert [(i["email"], i["status"]) for i in pending] == [(grace_email.lower(), "pending")], pending

    # Grace signs up with the page's form (its email field is the invited address).
    signup_form = _sign_up_form(page)
    assert signup_form["action"] == invitation_path, signup_form
    assert signup_form["inputs"]["email"] == grace_email.lower(), signup_form
    signed_up = client.post(
        signup_form["action"], data={"action": "signup", "name": "Grace", "password": grace_password}
    )
    assert signed_up.status_code == 200, signed_up.text
    assert "Check your inbox" in signed_up.text, signed_up.text
    assert log_in(client, grace_email, grace_password).status_code == 403  # not verified yet

    # The verification email carries the way back to the invitation.
    mail = wait_for_emails(client, grace_email, 2)
    verify_links = VERIFY_LINK_WITH_NEXT.findall(mail[-1]["text"])
    assert len(set(verify_links)) == 1, mail[-1]["text"]
    verify_link = verify_links[0]
    assert parse_qs(urlsplit(verify_link).query)["next"] == [invitation_path], verify_link
    confirm = _form_with(_read_page(client.get(verify_link)), lambda f: "token" in f["inputs"])
    assert confirm["inputs"].get("next") == invitation_path, confirm
    confirmed = client.post(confirm["action"], data=confirm["inputs"])
    back = _read_page(confirmed)
    assert "Email confirmed" in confirmed.text
    assert (invitation_path, "Continue to your invitation") in back.links, back.links

    # Back on the invitation (still pending), Grace accepts.
    page = _read_page(client.get(invitation_path))
    if accept_with == "invitation page form":
        sign_in = _sign_in_form(page)
        accept = _button(sign_in, "Sign in and accept")
        assert sign_in["types"]["password"] == "password", sign_in
        answer = client.post(
            sign_in["action"],
            data={
                accept["name"]: accept["value"],
                "email": sign_in["inputs"]["email"],
                "password": grace_password,
            },
        )
        assert answer.status_code == 200, answer.text
        assert f"Welcome to {org['name']}" in _text_of(answer), answer.text
        assert "as member" in _text_of(answer), answer.text
        grace = tokens_of(log_in(client, grace_email, grace_password))["access_token"]
    else:
        grace = tokens_of(log_in(client, grace_email, grace_password))["access_token"]
        answer = client.post(f"/invitations/{token}/accept", headers=bearer(grace))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"org_id": org_id, "role": "member"}

    # The invitation is used up, and Grace is a member.
    assert_problem(client.get(invitation_path, headers={"Accept": "application/json"}), 410, "invitation_used")
    assert_problem(client.post(f"/invitations/{token}/accept", headers=bearer(grace)), 410, "invitation_used")
    assert client.get(f"/orgs/{org_id}/invitations", headers=bearer(ada)).json()["items"] == []
    members = {m["user_id"]: m for m in _members(client, ada, org_id)}
    grace_id = _id_in(list(members.values()), grace_email)
    assert members[grace_id]["name"] == "Grace", members
    assert members[grace_id]["role"] == "member" and members[grace_id]["email"] == grace_email.lower(), members
    assert sorted(m["role"] for m in members.values()) == ["member", "owner"], members

    # Ada sets up a project and an application; Grace deploys it but cannot create projects.
    project = client.post(f"/orgs/{org_id}/projects", json={"name": "website"}, headers=bearer(ada))
    assert project.status_code == 201, project.text
    project_id = project.json()["id"]
    application = client.post(
        f"/orgs/{org_id}/projects/{project_id}/applications", json={"name": "frontend"}, headers=bearer(ada)
    )
    assert application.status_code == 201, application.text
    app_id = application.json()["id"]
    deployments = f"/orgs/{org_id}/projects/{project_id}/applications/{app_id}/deployments"
    deployed = client.post(deployments, json={"ref": "main"}, headers=bearer(grace))
    assert deployed.status_code == 202, deployed.text
    deployment = deployed.json()
    assert deployment["status"] == "queued" and deployment["requested_by"] == grace_id, deployment
    assert deployment["id"].startswith("dep_"), deployment
    assert_problem(
        client.post(f"/orgs/{org_id}/projects", json={"name": "mine"}, headers=bearer(grace)), 403, "forbidden"
    )
    assert_problem(client.delete(f"/orgs/{org_id}/projects/{project_id}", headers=bearer(grace)), 403, "forbidden")
    assert_problem(
        client.post(
            f"/orgs/{org_id}/invitations",
            json={"email": unique_email("Nobody"), "role": "member"},
            headers=bearer(grace),
        ),
        403,
        "forbidden",
    )
    assert client.get(f"/orgs/{org_id}/projects", headers=bearer(grace)).status_code == 200
    seen = client.get(f"/orgs/{org_id}", headers=bearer(grace))
    assert seen.status_code == 200 and seen.json()["member_count"] == 2, seen.text

    me = _me(client, grace)
    assert (me["id"], me["email"], me["name"], me["email_verified"]) == (grace_id, grace_email.lower(), "Grace", True)
    assert me["organizations"] == [{"id": org_id, "name": org["name"], "role": "member"}], me
    assert [o["role"] for o in _me(client, ada)["organizations"] if o["id"] == org_id] == ["owner"]


def test_me_and_my_orgs_list_the_org_the_invitee_joined(start_server: Callable[..., DevServer]) -> None:
    """On a server of its own, so that an organization's first transaction comes before
    anyone's first GET /me, as in a Lambda container that served POST /orgs first. (Once,
    the transactions borrowed the base model's PynamoDB connection, whose table
    description has no gsi1; models that had not connected yet inherited it, and
    GET /me and GET /orgs answered 500.)"""
    with start_server().client() as fresh:
        ada, grace = _user(fresh, "Ada"), _user(fresh, "Grace")
        org = _new_org(fresh, ada["token"])
        _join(fresh, ada["token"], org["id"], grace, "member")
        me = _me(fresh, grace["token"])
        assert me["id"] == grace["id"] and me["email"] == grace["email"], me
        assert me["organizations"] == [{"id": org["id"], "name": org["name"], "role": "member"}], me
        mine = fresh.get("/orgs", headers=bearer(grace["token"]))
        assert mine.status_code == 200, mine.text
        assert [(o["id"], o["role"]) for o in mine.json()["items"]] == [(org["id"], "member")], mine.text
        assert [o["role"] for o in _me(fresh, ada["token"])["organizations"]] == ["owner"]


# --- b) the accept race --------------------------------------------------------------


def test_six_accepts_of_one_invitation_at_once_make_one_membership(server: DevServer, client: httpx.Client) -> None:
    owner = _user(client, "Olive")
    invitee = _user(client, "Ian")
    org_id = _new_org(client, owner["token"])["id"]
    token = _invite(client, owner["token"], org_id, invitee["email"], "admin")

    def accept(http: httpx.Client) -> httpx.Response:
        return http.post(f"/invitations/{token}/accept", headers=bearer(invitee["token"]))

    answers = _at_once(server, [accept] * ACCEPT_RACERS)

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [410] * (ACCEPT_RACERS - 1), [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 200:
            assert answer.json() == {"org_id": org_id, "role": "admin"}
        else:
            assert_problem(answer, 410, "invitation_used")
    members = _members(client, owner["token"], org_id)
    assert [m["email"] for m in members].count(invitee["email"]) == 1, members
    assert sorted(m["role"] for m in members) == ["admin", "owner"], members
    org = client.get(f"/orgs/{org_id}", headers=bearer(invitee["token"]))
    assert org.status_code == 200 and org.json()["member_count"] == 2, org.text
    mine = [o for o in _me(client, invitee["token"])["organizations"] if o["id"] == org_id]
    assert mine == [{"id": org_id, "name": org.json()["name"], "role": "admin"}], mine


# --- c) owner protection under concurrent role changes ----------------------------------

OWNER_RACE_ROUNDS = 3
# The only ways the transfer route itself refuses (adapters/dynamodb/organizations.py).
TRANSFER_REFUSALS = {
    "Only the current owner can transfer ownership",
    "That person is not a member of this organization",
    "No such organization",
}


def _crossed_answers(answers: list[httpx.Response], owner_id: str, new_owner_id: str) -> list[httpx.Response]:
    """Answers that no ordering of these five well-formed requests can give: each was
    worked out from another request's event. Every caller here
    holds the permission it uses and every body is valid, so a 400/422 or a 403
    `forbidden` can only come from another caller's event; a demotion answers the old
    owner, a removal has no body; and the transfer route refuses only with its own
    words."""
    *members_calls, transfer = answers
    crossed = [a for a in answers if a.status_code in (400, 422) or _code(a) == "forbidden"]
    for answer in members_calls:
        if answer.request.method == "PATCH" and answer.status_code == 200:
            crossed += [answer] if answer.json().get("user_id") != owner_id else []
        if answer.request.method == "DELETE" and answer.status_code == 200:
            crossed.append(answer)
    if transfer.status_code == 200:
        crossed += [transfer] if transfer.json().get("user_id") != new_owner_id else []
    elif transfer.status_code < 500 and _json(transfer).get("detail") not in TRANSFER_REFUSALS:
        crossed.append(transfer)
    return crossed


def _json(answer: httpx.Response) -> dict[str, Any]:
    try:
        body = answer.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _code(answer: httpx.Response) -> str:
    return str(_json(answer).get("code", ""))


def test_the_owner_stays_protected_while_admins_race_a_transfer(server: DevServer, client: httpx.Client) -> None:
    """Admins try to demote and remove the owner while the owner hands ownership to
    admin A. Before the transfer lands they must get 403 owner_protected; after it,
    the old owner is an ordinary admin they may demote or remove. Whatever the order,
    the org ends with exactly one owner (A) and nothing answers 5xx. A race test: it
    can miss a bug, never invent one."""
    owner, admin_a, admin_b = _user(client, "Owen"), _user(client, "Alice"), _user(client, "Bob")
    for _ in range(OWNER_RACE_ROUNDS):
        org_id = _new_org(client, owner["token"])["id"]
        owner["id"] = _id_in(_members(client, owner["token"], org_id), owner["email"])
        _join(client, owner["token"], org_id, admin_a, "admin")
        _join(client, owner["token"], org_id, admin_b, "admin")
        target = f"/orgs/{org_id}/members/{owner['id']}"

        def demote(admin: dict[str, Any], target: str = target) -> Callable[[httpx.Client], httpx.Response]:
            return lambda http: http.patch(target, json={"role": "member"}, headers=bearer(admin["token"]))

        def remove(admin: dict[str, Any], target: str = target) -> Callable[[httpx.Client], httpx.Response]:
            return lambda http: http.delete(target, headers=bearer(admin["token"]))

        def transfer(http: httpx.Client, org_id: str = org_id) -> httpx.Response:
            return http.post(
                f"/orgs/{org_id}/transfer-ownership", json={"user_id": admin_a["id"]}, headers=bearer(owner["token"])
            )

        demotes_and_removes = [demote(admin_b), remove(admin_b), demote(admin_a), remove(admin_a)]
        answers = _at_once(server, [*demotes_and_removes, transfer])
        b_demote, b_remove, a_demote, a_remove, transferred = answers
        described = [(a.request.method, a.status_code, a.text) for a in answers]

        # Whatever happened, in any order: no 5xx, exactly one owner, a true member count.
        assert all(a.status_code < 500 for a in answers), described
        members = _members(client, admin_b["token"], org_id)
        owners = [m["user_id"] for m in members if m["role"] == "owner"]
        assert len(owners) == 1, (members, described)
        org = client.get(f"/orgs/{org_id}", headers=bearer(admin_b["token"])).json()
        assert org["member_count"] == len(members), (org, members)

        crossed = _crossed_answers(answers, owner["id"], admin_a["id"])
        assert not crossed, f"answers computed from another request's event: {described}"

        assert transferred.status_code == 200, described
        assert transferred.json()["user_id"] == admin_a["id"] and transferred.json()["role"] == "owner"
        for answer, success in ((b_demote, 200), (a_demote, 200), (b_remove, 204), (a_remove, 204)):
            if answer.status_code == 403:
                assert_problem(answer, 403, "owner_protected")
            elif answer.status_code == 404:
                assert_problem(answer, 404, "not_found")
            else:
                assert answer.status_code == success, described

        assert owners == [admin_a["id"]], members
        old_owner = [m for m in members if m["user_id"] == owner["id"]]
        removed = [a for a in (b_remove, a_remove) if a.status_code == 204]
        assert len(removed) <= 1, described
        if removed:
            assert old_owner == [], members
        else:
            assert len(old_owner) == 1 and old_owner[0]["role"] in ("admin", "member"), members
            demoted = any(a.status_code == 200 for a in (b_demote, a_demote))
            assert old_owner[0]["role"] == ("member" if demoted else "admin"), (members, described)
        # The old owner is an admin or less now: transferring again is not theirs to do.
        again = client.post(
            f"/orgs/{org_id}/transfer-ownership", json={"user_id": admin_b["id"]}, headers=bearer(owner["token"])
        )
        assert again.status_code in (403, 404), again.text


# --- d) a removal or a demotion applies to the very next request ---------------------------


def test_removal_and_demotion_apply_to_the_next_request(client: httpx.Client) -> None:
    owner, member, admin = _user(client, "Olga"), _user(client, "Mia"), _user(client, "Abe")
    org_id = _new_org(client, owner["token"])["id"]
    _join(client, owner["token"], org_id, member, "member")
    _join(client, owner["token"], org_id, admin, "admin")

    assert client.get(f"/orgs/{org_id}", headers=bearer(member["token"])).status_code == 200
    removed = client.delete(f"/orgs/{org_id}/members/{member['id']}", headers=bearer(owner["token"]))
    assert removed.status_code == 204, removed.text
    # Same access token, the very next request: the org is gone for them.
    assert_problem(client.get(f"/orgs/{org_id}", headers=bearer(member["token"])), 404, "not_found")
    assert_problem(client.get(f"/orgs/{org_id}/members", headers=bearer(member["token"])), 404, "not_found")
    assert_problem(client.get(f"/orgs/{org_id}/projects", headers=bearer(member["token"])), 404, "not_found")
    assert member["email"] not in [m["email"] for m in _members(client, owner["token"], org_id)]
    assert org_id not in [o["id"] for o in _me(client, member["token"])["organizations"]]

    renamed = client.patch(f"/orgs/{org_id}", json={"name": "Renamed by admin"}, headers=bearer(admin["token"]))
    assert renamed.status_code == 200, renamed.text
    demoted = client.patch(
        f"/orgs/{org_id}/members/{admin['id']}", json={"role": "member"}, headers=bearer(owner["token"])
    )
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["role"] == "member"
    assert_problem(
        client.patch(f"/orgs/{org_id}", json={"name": "Renamed again"}, headers=bearer(admin["token"])),
        403,
        "forbidden",
    )
    # Still a member: reading is allowed, the name stayed.
    still = client.get(f"/orgs/{org_id}", headers=bearer(admin["token"]))
    assert still.status_code == 200 and still.json()["name"] == "Renamed by admin", still.text
    roles = [m["role"] for m in _members(client, owner["token"], org_id) if m["user_id"] == admin["id"]]
    assert roles == ["member"]
    assert [o["role"] for o in _me(client, admin["token"])["organizations"] if o["id"] == org_id] == ["member"]
    assert_problem(
        client.post(
            f"/orgs/{org_id}/invitations",
            json={"email": unique_email("Late"), "role": "member"},
            headers=bearer(admin["token"]),
        ),
        403,
        "forbidden",
    )
