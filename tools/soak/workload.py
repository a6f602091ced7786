"""The clients: each with its own loopback address, accounts and organization, running
a weighted mix of sign-ins, refreshes, API-key reads, invitations and acceptances.

The local server takes the client address from the connection (the socket's source
address; X-Forwarded-For counts for nothing), so each client binds its connections to
its own 127.77.x.y: per-address limits then count each client on its own. Each client's
accounts and organization are its own, and it keeps its invitations under the
organization's hourly limit, so that a 429 is a finding to report, not the workload's
normal answer. Every answer is recorded with the statuses its step expects; anything
else counts as unexpected.
"""

from __future__ import annotations

import functools
import random
import re
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from urllib.parse import unquote

import httpx

from tools.soak.stats import Recorder, parse_dynamodb_calls

DYNAMODB_CALLS_HEADER = "X-Dev-DynamoDB-Calls"  # devserver/dev_routes.py
# Long: while every client starts a copy of a function at once (runner._prime), an answer
# can take a minute on a small machine; a request that gets none is still a failure.
REQUEST_TIMEOUT_S = 300.0
# Access tokens live 15 minutes; each is renewed (a refresh) once it is this old.
RENEW_ACCESS_AFTER_S = 600.0
# Under the organization's 100 invitations an hour (domain/rate_limits.py
# INVITATIONS_PER_ORG), counted in the same fixed hourly windows.
INVITES_PER_HOUR = 90
INVITATION_WINDOW_S = 3600
# Creating an API key needs a sign-in under 10 minutes old (sudo mode); a slow setup
# signs the owner in again first.
SUDO_MARGIN_S = 300.0
VERIFY_LINK = re.compile(r"/verify-email\?token=([A-Za-z0-9_\-%.~=]+)")

# Routes as the report names them: the template's path, and "(key)" when an API key calls.
SIGNUP = "POST /auth/signup"
VERIFY = "POST /auth/verify-email"
LOGIN = "POST /auth/login"
LOGOUT = "POST /auth/logout"
REFRESH = "POST /auth/refresh"
ME = "GET /me"
CREATE_ORG = "POST /orgs"
CREATE_KEY = "POST /orgs/{org_id}/api-keys"
INVITE = "POST /orgs/{org_id}/invitations"
MY_INVITATIONS = "GET /me/invitations"
ACCEPT = "POST /me/invitations/{invitation_id}/accept"
REMOVE_MEMBER = "DELETE /orgs/{org_id}/members/{user_id}"
# The GET routes a read-only organization key may call, each path under /orgs/{org_id}.
KEY_READS = {
    "GET /orgs/{org_id} (key)": "",
    "GET /orgs/{org_id}/members (key)": "/members",
    "GET /orgs/{org_id}/projects (key)": "/projects",
    "GET /orgs/{org_id}/billing (key)": "/billing",
    "GET /orgs/{org_id}/audit-log (key)": "/audit-log",
}
# The mix: how often each step is chosen. Sign-ins are fewer (each is an argon2 verify,
# by design the costliest thing the service does); reads are the common case.
WEIGHTS = {"sign-in": 8, "refresh": 20, "key-read": 44, "invite": 14, "accept": 14}


def client_address(index: int) -> str:
    return f"127.77.{index // 250}.{index % 250 + 1}"


@dataclass
class Account:
    email: str
    password: str
    user_id: str = ""
    access: str = ""
    refresh: str = ""
    renewed_at: float = 0.0
    signed_in_at: float = 0.0


class Standing(Enum):
    FREE = "free"  # neither a member nor invited: the next invitation may go to them
    INVITED = "invited"
    MEMBER = "member"


@dataclass
class Invitee:
    account: Account
    standing: Standing = Standing.FREE
    invitation_id: str = ""


@dataclass
class Ledger:
    """What the client saw the server promise, for the checks afterwards."""

    accepted: list[tuple[str, str]] = field(default_factory=list)  # (invitee email, invitation id) of each 200
    issued_refresh: list[str] = field(default_factory=list)  # every refresh token answered
    refreshed_with: Counter[str] = field(default_factory=Counter)  # token -> its 200 refreshes
    invites: Counter[int] = field(default_factory=Counter)  # hourly window -> invitations sent


def _new_account(role: str, index: int) -> Account:
    tag = uuid.uuid4().hex[:10]
    return Account(email=f"soak-{role}-{index}-{tag}@example.com", password=f"Soak-Harbour-{uuid.uuid4().hex[:12]}")


class Client:
    def __init__(self, index: int, base_url: str, recorder: Recorder, seed: int, invitees: int) -> None:
        self.index = index
        self.address = client_address(index)
        self.recorder = recorder
        # Seeded: the same options give the same mix, step for step (not a secret).
        self.rng = random.Random(f"{seed}-{index}")  # noqa: S311
        transport = httpx.HTTPTransport(local_address=self.address)
        self.http = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S, transport=transport)
        self.owner = _new_account("owner", index)
        self.invitees = [Invitee(_new_account(f"invitee{n}", index)) for n in range(invitees)]
        self.org_id = ""
        self.api_key = ""
        self.ledger = Ledger()

    @property
    def accounts(self) -> list[Account]:
        return [self.owner, *(invitee.account for invitee in self.invitees)]

    def close(self) -> None:
        self.http.close()

    # --- one request --------------------------------------------------------------

    def call(
        self,
        route: str,
        method: str,
        path: str,
        expected: Collection[int],
        token: str | None = None,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> httpx.Response | None:
        """The answer, recorded under `route`; None (recorded as status 0) when none came."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        try:
            response = self.http.request(method, path, json=body, params=params, headers=headers)
        except httpx.TransportError as error:
            self.recorder.record(route, 0, time.perf_counter() - started, Counter(), False, repr(error))
            return None
        seconds = time.perf_counter() - started
        calls = parse_dynamodb_calls(response.headers.get(DYNAMODB_CALLS_HEADER))
        ok = response.status_code in expected or response.status_code == 429
        self.recorder.record(route, response.status_code, seconds, calls, ok, response.text)
        return response

    @staticmethod
    def _credentials(account: Account) -> dict[str, Any]:
        return {"email": account.email, "password": account.password}

    # --- setup --------------------------------------------------------------------

    def sign_up_all(self) -> None:
        for account in self.accounts:
            self.call(SIGNUP, "POST", "/auth/signup", {202}, body=self._credentials(account))

    def verify_and_sign_in(self, tokens: dict[str, str]) -> None:
        """The owner last: creating the organization's key needs a recent sign-in (sudo mode)."""
        for account in [*(invitee.account for invitee in self.invitees), self.owner]:
            self.call(VERIFY, "POST", "/auth/verify-email", {200}, body={"token": tokens.get(account.email, "")})
            self.sign_in(account)
            me = self.call(ME, "GET", "/me", {200}, token=account.access)
            account.user_id = str(me.json()["id"]) if me is not None and me.status_code == 200 else ""

    def create_org_and_key(self) -> None:
        if time.monotonic() - self.owner.signed_in_at > SUDO_MARGIN_S:
            self.sign_in(self.owner)
        name = {"name": f"Soak {self.index}"}
        created = self.call(CREATE_ORG, "POST", "/orgs", {201}, token=self.owner.access, body=name)
        if created is None or created.status_code != 201:
            return
        self.org_id = str(created.json()["id"])
        key = self.call(
            CREATE_KEY,
            "POST",
            f"/orgs/{self.org_id}/api-keys",
            {201},
            token=self.owner.access,
            body={"description": "soak reads", "preset": "read-only"},
        )
        if key is not None and key.status_code == 201:
            self.api_key = str(key.json()["key"])

    @property
    def ready(self) -> bool:
        return bool(self.org_id and self.api_key and all(a.user_id for a in self.accounts))

    # --- the steps ------------------------------------------------------------------

    def sign_in(self, account: Account) -> None:
        """A password sign-in; the session it replaces is signed out, so sessions do not pile up."""
        answer = self.call(LOGIN, "POST", "/auth/login", {200}, body=self._credentials(account))
        if answer is None or answer.status_code != 200:
            return
        replaced = account.refresh
        self._take_tokens(account, answer.json())
        account.signed_in_at = account.renewed_at
        if replaced:
            self.call(LOGOUT, "POST", "/auth/logout", {204}, body={"refresh_token": replaced})

    def refresh(self, account: Account) -> None:
        used = account.refresh
        answer = self.call(REFRESH, "POST", "/auth/refresh", {200}, body={"refresh_token": used})
        if answer is None or answer.status_code != 200:
            return
        self.ledger.refreshed_with[used] += 1
        self._take_tokens(account, answer.json())

    def _take_tokens(self, account: Account, pair: dict[str, Any]) -> None:
        account.access = str(pair["access_token"])
        account.refresh = str(pair["refresh_token"])
        account.renewed_at = time.monotonic()
        self.ledger.issued_refresh.append(account.refresh)

    def fresh(self, account: Account) -> str:
        """The account's access token, renewed first when it is getting old."""
        if time.monotonic() - account.renewed_at > RENEW_ACCESS_AFTER_S:
            self.refresh(account)
        return account.access

    def key_read(self, route: str | None = None) -> None:
        route = route or self.rng.choice(sorted(KEY_READS))
        self.call(route, "GET", f"/orgs/{self.org_id}{KEY_READS[route]}", {200}, token=self.api_key)

    def invite(self) -> None:
        """Invite a free invitee; with none free (or the hour's budget spent), free one."""
        window = int(time.time()) // INVITATION_WINDOW_S
        free = [i for i in self.invitees if i.standing is Standing.FREE]
        if free and self.ledger.invites[window] < INVITES_PER_HOUR:
            invitee = self.rng.choice(free)
            self.ledger.invites[window] += 1
            answer = self.call(
                INVITE,
                "POST",
                f"/orgs/{self.org_id}/invitations",
                {201},
                token=self.fresh(self.owner),
                body={"email": invitee.account.email, "role": "member"},
            )
            if answer is not None and answer.status_code == 201:
                invitee.standing = Standing.INVITED
                invitee.invitation_id = str(answer.json()["id"])
            return
        members = [i for i in self.invitees if i.standing is Standing.MEMBER]
        if members:
            self.remove(self.rng.choice(members))
        else:
            self.key_read()

    def remove_a_member(self) -> None:
        members = [i for i in self.invitees if i.standing is Standing.MEMBER]
        if members:
            self.remove(self.rng.choice(members))

    def remove(self, invitee: Invitee) -> None:
        path = f"/orgs/{self.org_id}/members/{invitee.account.user_id}"
        answer = self.call(REMOVE_MEMBER, "DELETE", path, {204}, token=self.fresh(self.owner))
        if answer is not None and answer.status_code == 204:
            invitee.standing = Standing.FREE

    def accept(self) -> None:
        """An invitee finds their invitation in their list and accepts it there."""
        invited = [i for i in self.invitees if i.standing is Standing.INVITED]
        if not invited:
            self.invite()
            return
        invitee = self.rng.choice(invited)
        token = self.fresh(invitee.account)
        listed = self.call(MY_INVITATIONS, "GET", "/me/invitations", {200}, token=token)
        if listed is None or listed.status_code != 200:
            return
        ids = {str(item["id"]) for item in listed.json()["items"]}
        if invitee.invitation_id not in ids:
            self.recorder.record(MY_INVITATIONS, 200, 0.0, Counter(), False, f"{invitee.invitation_id} not listed")
            return
        path = f"/me/invitations/{invitee.invitation_id}/accept"
        answer = self.call(ACCEPT, "POST", path, {200}, token=token)
        if answer is not None and answer.status_code == 200:
            invitee.standing = Standing.MEMBER
            self.ledger.accepted.append((invitee.account.email, invitee.invitation_id))

    def step(self) -> None:
        choice = self.rng.choices(list(WEIGHTS), weights=list(WEIGHTS.values()))[0]
        if choice == "sign-in":
            self.sign_in(self.owner)
        elif choice == "refresh":
            self.refresh(self.owner)
        elif choice == "key-read":
            self.key_read()
        elif choice == "invite":
            self.invite()
        else:
            self.accept()

    def priming_steps(self) -> list[Callable[[], object]]:
        """One step for each function the mix calls (the authorizer with them)."""
        invitee = self.invitees[0].account
        return [
            lambda: self.sign_in(self.owner),
            lambda: self.refresh(self.owner),
            lambda: self.call(MY_INVITATIONS, "GET", "/me/invitations", {200}, token=invitee.access),
            *(functools.partial(self.key_read, route) for route in sorted(KEY_READS)),
            self.invite,
            self.accept,
            self.remove_a_member,
        ]

    def run(self, stop: threading.Event) -> None:
        """Steps back to back until `stop`. A fault of this tool is recorded and ends the client."""
        try:
            while not stop.is_set():
                self.step()
        except Exception:
            self.recorder.record("soak client", -1, 0.0, Counter(), False, traceback.format_exc())


def verification_tokens(http: httpx.Client, emails: Collection[str], timeout_s: float = 60.0) -> dict[str, str]:
    """The latest verification token emailed to each address (GET /_dev/emails), read once
    every address has one."""
    wanted = {email.lower() for email in emails}
    deadline = time.monotonic() + timeout_s
    while True:
        found: dict[str, str] = {}
        for email in http.get("/_dev/emails", timeout=REQUEST_TIMEOUT_S).json():
            link = VERIFY_LINK.search(email["text"])
            if email["to"] in wanted and link:
                found[email["to"]] = unquote(link.group(1))
        if wanted <= found.keys() or time.monotonic() > deadline:
            return found
        time.sleep(0.5)
