"""After the run, over HTTP: what each organization and account must hold.

- exactly one owner per organization, and it is the client's owner;
- the members are exactly the owner and the invitees whose last accepted invitation was
  not followed by a removal, each once; `member_count` agrees;
- the pending invitations are exactly the ones the client sent and saw no answer to;
- every invitation accepted with a 200 made exactly one membership (one `member.joined`
  audit event naming it), and no other invitation made one; accepting it again fails;
- no refresh token succeeded twice, no refresh token was issued twice, and replaying
  one rotated away is refused (and, as the contract says, ends that session).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from tools.soak.workload import ACCEPT, REFRESH, Client, Standing

MEMBERS = "GET /orgs/{org_id}/members"
ORG = "GET /orgs/{org_id}"
PENDING = "GET /orgs/{org_id}/invitations"
AUDIT = "GET /orgs/{org_id}/audit-log (key)"
PAGE = "200"


def _pages(client: Client, route: str, path: str, token: str) -> Iterator[dict[str, Any]]:
    """Every item of a list route, page after page; stops (the failure recorded) on a non-200."""
    cursor: str | None = None
    while True:
        params = {"limit": PAGE} | ({"cursor": cursor} if cursor else {})
        answer = client.call(route, "GET", path, {200}, token=token, params=params)
        if answer is None or answer.status_code != 200:
            raise RuntimeError(f"{route} answered {answer.status_code if answer else 'nothing'}")
        document = answer.json()
        yield from document["items"]
        cursor = document.get("next_cursor")
        if not cursor:
            return


def check_client(client: Client) -> list[str]:
    """The violations found in one client's organization and accounts."""
    if not client.ready:
        return [f"client {client.index}: never got ready (setup failed), nothing to check"]
    try:
        return _organization(client) + _invitations(client) + _refresh_tokens(client)
    except RuntimeError as error:
        return [f"client {client.index}: a check could not read: {error}"]


def _organization(client: Client) -> list[str]:
    found: list[str] = []
    name = f"client {client.index} org {client.org_id}"
    token = client.fresh(client.owner)
    members = list(_pages(client, MEMBERS, f"/orgs/{client.org_id}/members", token))
    owners = [m["user_id"] for m in members if m["role"] == "owner"]
    if owners != [client.owner.user_id]:
        found.append(f"{name}: owners {owners}, expected exactly [{client.owner.user_id}]")
    seen = Counter(m["user_id"] for m in members)
    found += [f"{name}: member {user} listed {n} times" for user, n in seen.items() if n > 1]
    expected = {client.owner.user_id} | {i.account.user_id for i in client.invitees if i.standing is Standing.MEMBER}
    if set(seen) != expected:
        found.append(f"{name}: members {sorted(seen)}, expected {sorted(expected)}")
    org = client.call(ORG, "GET", f"/orgs/{client.org_id}", {200}, token=token)
    if org is None or org.status_code != 200 or org.json()["member_count"] != len(members):
        count = org.json().get("member_count") if org is not None and org.status_code == 200 else None
        found.append(f"{name}: member_count {count}, but {len(members)} members listed")
    return found


def _invitations(client: Client) -> list[str]:
    found: list[str] = []
    name = f"client {client.index} org {client.org_id}"
    token = client.fresh(client.owner)
    pending = {str(i["id"]) for i in _pages(client, PENDING, f"/orgs/{client.org_id}/invitations", token)}
    waiting = {i.invitation_id for i in client.invitees if i.standing is Standing.INVITED}
    if pending != waiting:
        found.append(f"{name}: pending invitations {sorted(pending)}, expected {sorted(waiting)}")
    joined: Counter[str] = Counter()
    for event in _pages(client, AUDIT, f"/orgs/{client.org_id}/audit-log", client.api_key):
        if event["action"] == "member.joined":
            joined[str((event.get("details") or {}).get("invitation_id"))] += 1
    accepted = Counter(invitation_id for _, invitation_id in client.ledger.accepted)
    found += [f"{name}: invitation {i} accepted {n} times with a 200" for i, n in accepted.items() if n > 1]
    for invitation_id in accepted:
        if joined[invitation_id] != 1:
            found.append(f"{name}: accepted invitation {invitation_id} made {joined[invitation_id]} memberships")
    found += [f"{name}: invitation {i} made a membership nobody was told of" for i in joined.keys() - accepted.keys()]
    # Accepting again must fail: the invitee whose invitation was accepted last tries once more.
    if client.ledger.accepted:
        email, last = client.ledger.accepted[-1]
        invitee = next(i for i in client.invitees if i.account.email == email)
        again = client.call(
            ACCEPT, "POST", f"/me/invitations/{last}/accept", {404, 410}, token=client.fresh(invitee.account)
        )
        if again is not None and again.status_code == 200:
            found.append(f"{name}: invitation {last} accepted a second time")
    return found


def _refresh_tokens(client: Client) -> list[str]:
    found: list[str] = []
    name = f"client {client.index}"
    ledger = client.ledger
    found += [f"{name}: a refresh token succeeded {n} times" for n in ledger.refreshed_with.values() if n > 1]
    issued = Counter(ledger.issued_refresh)
    found += [f"{name}: a refresh token was issued {n} times" for n in issued.values() if n > 1]
    # One more rotation in the owner's current session, then its old token is replayed.
    owner = client.owner
    rotated = owner.refresh
    client.refresh(owner)
    if owner.refresh == rotated:
        return [*found, f"{name}: the last refresh before the replay failed"]
    replay = client.call(REFRESH, "POST", "/auth/refresh", {401}, body={"refresh_token": rotated})
    if replay is not None and replay.status_code == 200:
        found.append(f"{name}: a rotated refresh token was accepted again")
    # The reuse ends the session: the current token of that session must be refused too.
    current = client.call(REFRESH, "POST", "/auth/refresh", {401}, body={"refresh_token": owner.refresh})
    if current is not None and current.status_code == 200:
        found.append(f"{name}: the session survived the reuse of one of its refresh tokens")
    return found
