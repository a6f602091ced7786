"""Sign in with GitHub, Google and GitLab over real HTTP on the local server (issue 13).

The local server runs three local providers (devserver/local_providers.py): two OpenID
Connect providers from oidc-provider-mock (Google- and GitLab-shaped) and a fake of
GitHub. `GET /_dev/providers` answers their addresses; every flow here returns to the
one allowed address, `{server}/_dev/signed-in`. A test plays the person at the provider
with the helpers of local_providers (`put_oidc_user`/`put_github_user` to give the
provider a user, `approve_oidc`/`approve_github`/`deny` to press the authorize page's
buttons), and plays the browser itself: the flow's cookie `__Host-kuploy_oauth` is Secure, so
httpx keeps it off plain http and each callback here carries it (or not) explicitly.

Every provider user, address and account is new (uuid), so tests stay independent in
the shared server, and each test connects from its own loopback address (127.0.13.x),
away from the budgets the rest of the suite uses. An expired state needs 10 minutes:
tests/unit covers it with a clock; nothing here waits.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pyotp
import pytest

from devserver.local_providers import (
    GitHubEmail,
    GitHubUser,
    approve_github,
    approve_oidc,
    deny,
    put_github_user,
    put_oidc_user,
)
from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    latest_verification_token,
    log_in,
    reset_emails_to,
    reset_link,
    sign_up,
    signed_up_and_verified,
    strong_password,
    token_of,
    tokens_of,
    unique_email,
    verification_link,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

PROVIDERS = ("github", "google", "gitlab")
NAMES = {"github": "GitHub", "google": "Google", "gitlab": "GitLab"}
BROWSER_COOKIE = "__Host-kuploy_oauth"
SIGNED_IN_PATH = "/_dev/signed-in"
STEP_SECONDS = 30


# --- the provider's side: its users and the buttons of its authorize page --------------------


@dataclass(frozen=True)
class ProviderUser:
    """A user of one local provider: `subject` is the OIDC `sub` or the GitHub login."""

    provider: str
    base_url: str
    subject: str
    github_id: int = 0

    def approve(self, authorize_url: str) -> str:
        """Press Authorize as this user; answers the provider's redirect back (the callback URL)."""
        if self.provider == "github":
            return approve_github(authorize_url, self.subject)
        return approve_oidc(authorize_url, self.subject)

    def set_email(self, email: str, verified: bool | None = True) -> None:
        """Give the user this address at the provider (`verified` None: the claim is absent)."""
        if self.provider == "github":
            address = GitHubEmail(email, primary=True, verified=verified is True)
            user = GitHubUser(id=self.github_id, login=self.subject, name="Octo Cat", emails=(address,))
            put_github_user(self.base_url, user)
        else:
            put_oidc_user(self.base_url, self.subject, email=email, email_verified=verified, name="Ada Lovelace")


def provider_user(urls: dict[str, str], provider: str, email: str, verified: bool | None = True) -> ProviderUser:
    if provider == "github":
        user = ProviderUser(provider, urls[provider], f"octo-{uuid.uuid4().hex[:12]}", 10**9 + secrets.randbelow(10**9))
    else:
        user = ProviderUser(provider, urls[provider], f"sub-{uuid.uuid4().hex}")
    user.set_email(email, verified)
    return user


# --- the browser's side: start, callback, exchange ---------------------------------------------


@dataclass(frozen=True)
class Started:
    authorize_url: str
    cookie: str


def flow_cookie(response: httpx.Response) -> str:
    """The value of the flow's cookie the answer sets, checked for its attributes."""
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{BROWSER_COOKIE}=")]
    assert len(headers) == 1, response.headers
    value, *attributes = (part.strip() for part in headers[0].split(";"))
    flags = {attribute.split("=")[0].lower(): attribute.partition("=")[2] for attribute in attributes}
    assert {"httponly", "secure"} <= flags.keys(), headers
    assert flags.get("samesite", "").lower() == "lax", headers
    assert flags.get("path") == "/", headers
    assert "domain" not in flags, headers
    return value.partition("=")[2]


def start(http: httpx.Client, provider: str, redirect_to: str) -> Started:
    response = http.get(f"/auth/oauth/{provider}/start", params={"redirect_to": redirect_to})
    assert response.status_code == 302, response.text
    cookie = flow_cookie(response)
    assert len(cookie) >= 32
    # The client's jar must never send it by itself: each test decides.
    http.cookies.clear()
    return Started(response.headers["location"], cookie)


def callback(http: httpx.Client, callback_url: str, cookie: str | None) -> httpx.Response:
    headers = {"Cookie": f"{BROWSER_COOKIE}={cookie}"} if cookie is not None else {}
    http.cookies.clear()
    response = http.get(callback_url, headers=headers)
    assert response.status_code == 302, response.text
    # The callback spends the cookie, whatever the outcome.
    cleared = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{BROWSER_COOKIE}=")]
    assert cleared and "max-age=0" in cleared[0].lower(), response.headers
    http.cookies.clear()
    return response


def returned(response: httpx.Response, redirect_to: str) -> dict[str, str]:
    """The query the callback's redirect adds to `redirect_to` (which it must go to)."""
    location = response.headers["location"]
    address, _, query = location.partition("?")
    assert address == redirect_to, location
    params = {name: values[0] for name, values in parse_qs(query).items()}
    assert len(params) == 1, params
    return params


def sign_in(http: httpx.Client, user: ProviderUser, back: str) -> dict[str, str]:
    """The whole flow in one browser; answers what the redirect back carries."""
    started = start(http, user.provider, back)
    return returned(callback(http, user.approve(started.authorize_url), started.cookie), back)


def exchange(http: httpx.Client, login_code: str) -> httpx.Response:
    return http.post("/auth/oauth/exchange", json={"login_code": login_code})


def signed_in_with(http: httpx.Client, user: ProviderUser, back: str) -> dict[str, Any]:
    params = sign_in(http, user, back)
    assert "login_code" in params, params
    return tokens_of(exchange(http, params["login_code"]))


def me(http: httpx.Client, access_token: str) -> dict[str, Any]:
    response = http.get("/me", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def linked_providers(http: httpx.Client, access_token: str) -> list[str]:
    return sorted(identity["provider"] for identity in me(http, access_token)["identities"])


def audit_actions(http: httpx.Client, access_token: str) -> list[tuple[str, str, str | None]]:
    """(action, ip, provider) of the account's trail, oldest first."""
    response = http.get("/me/audit-log", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    items = reversed(response.json()["items"])
    return [(e["action"], e["ip"], (e.get("details") or {}).get("provider")) for e in items]


def no_account_has(http: httpx.Client, email: str) -> None:
    """Assert that no account has this address, told by the one answer that differs: a
    sign-up with a new address gets a verification link, a registered one an 'account
    exists' email. (The sign-up leaves a pending account behind: call it last.)"""
    sign_up(http, email, strong_password())
    sent = wait_for_emails(http, email, 1)
    assert len(sent) == 1, sent
    assert "already have" not in sent[0]["subject"], f"{email} has an account: {sent[0]['subject']!r}"
    verification_link(sent[0])


def link_started(http: httpx.Client, provider: str, access_token: str, back: str) -> Started:
    response = http.post(f"/me/identities/{provider}/link", json={"redirect_to": back}, headers=bearer(access_token))
    assert response.status_code == 200, response.text
    cookie = flow_cookie(response)
    http.cookies.clear()
    return Started(response.json()["authorize_url"], cookie)


def link(http: httpx.Client, user: ProviderUser, access_token: str, back: str) -> dict[str, str]:
    started = link_started(http, user.provider, access_token, back)
    return returned(callback(http, user.approve(started.authorize_url), started.cookie), back)


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def urls(client: httpx.Client) -> dict[str, str]:
    response = client.get("/_dev/providers")
    assert response.status_code == 200, response.text
    listed: dict[str, str] = response.json()
    assert set(listed) == set(PROVIDERS), listed
    return listed


@pytest.fixture(scope="module")
def back(server: DevServer) -> str:
    """The local allow-list's one address."""
    return f"{server.public_base_url}{SIGNED_IN_PATH}"


@pytest.fixture
def from_address(server: DevServer) -> Iterator[Callable[[int], httpx.Client]]:
    """Clients from this test's own loopback address, 127.0.13.`octet`."""
    opened: list[httpx.Client] = []

    def open_client(octet: int) -> httpx.Client:
        opened.append(server.client(source_ip=f"127.0.13.{octet}"))
        return opened[-1]

    yield open_client
    for http in opened:
        http.close()


# --- 1. the happy path per provider --------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_new_verified_address_creates_an_account_and_the_subject_keeps_it(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str, provider: str
) -> None:
    http = from_address(1 + PROVIDERS.index(provider))
    email = unique_email("Oauth")
    user = provider_user(urls, provider, email)

    started = start(http, provider, back)
    authorize = urlsplit(started.authorize_url)
    sent = parse_qs(authorize.query)
    assert f"{authorize.scheme}://{authorize.netloc}" == urls[provider]
    assert sent["code_challenge_method"] == ["S256"] and sent["code_challenge"][0], sent
    assert len(sent["state"][0]) >= 22, sent  # at least 128 bits, URL-safe base64
    assert sent["redirect_uri"] == [f"{back.removesuffix(SIGNED_IN_PATH)}/auth/oauth/{provider}/callback"]
    if provider != "github":
        assert sent["nonce"][0] and set(sent["scope"][0].split()) == {"openid", "email", "profile"}, sent
    params = returned(callback(http, user.approve(started.authorize_url), started.cookie), back)
    assert set(params) == {"login_code"}, params

    tokens = tokens_of(exchange(http, params["login_code"]))
    account = me(http, tokens["access_token"])
    assert account["email"] == email.lower()
    assert account["email_verified"] is True and account["has_password"] is False
    assert account["two_factor_enabled"] is False
    assert [(i["provider"], i["email"]) for i in account["identities"]] == [(provider, email.lower())]
    # No password: password sign-in with any password is the usual 401.
    assert_problem(log_in(http, email, strong_password()), 401, "invalid_credentials")

    # The person changes their address at the provider: the subject still signs in here.
    user.set_email(unique_email("Renamed"))
    again = signed_in_with(http, user, back)
    renamed = me(http, again["access_token"])
    assert renamed["id"] == account["id"]
    assert renamed["email"] == email.lower()
    assert [i["provider"] for i in renamed["identities"]] == [provider]


def test_a_new_id_typed_at_a_local_provider_signs_in_with_a_verified_address(
    from_address: Callable[[int], httpx.Client], back: str
) -> None:
    """`make dev`: a person types an id nobody created on a local provider's page. It
    signs in as that address when it is one, as `<id>@example.com` otherwise."""
    http = from_address(22)
    for provider in PROVIDERS:
        plain, address = f"new-{uuid.uuid4().hex[:12]}", f"typed.{uuid.uuid4().hex[:12]}@example.org"
        for typed, expected in ((plain, f"{plain}@example.com"), (address, address)):
            started = start(http, provider, back)
            press = approve_github if provider == "github" else approve_oidc
            params = returned(callback(http, press(started.authorize_url, typed), started.cookie), back)
            assert "login_code" in params, (provider, typed, params)
            account = me(http, tokens_of(exchange(http, params["login_code"]))["access_token"])
            assert account["email"] == expected, (provider, account)


# --- 2. which providers --------------------------------------------------------------------------


def test_the_three_providers_are_listed_and_an_unknown_one_is_not_configured(
    from_address: Callable[[int], httpx.Client], back: str
) -> None:
    http = from_address(4)
    listed = http.get("/auth/providers")
    assert listed.status_code == 200, listed.text
    assert sorted((p["id"], p["name"]) for p in listed.json()["providers"]) == sorted(NAMES.items())

    for unknown in ("facebook", "GitHub", "github%00"):
        answer = http.get(f"/auth/oauth/{unknown}/start", params={"redirect_to": back})
        assert_problem(answer, 404, "provider_not_configured")
        assert BROWSER_COOKIE not in answer.headers.get("set-cookie", "")
    callback_answer = http.get("/auth/oauth/facebook/callback", params={"code": "x", "state": "y"})
    assert_problem(callback_answer, 404, "provider_not_configured")


FLOWS_PER_ADDRESS = 60
FLOW_WINDOW_SECONDS = 600


def test_one_address_starts_a_bounded_number_of_flows(from_address: Callable[[int], httpx.Client], back: str) -> None:
    """Each start stores a flow for 10 minutes: 60 per client address in a fixed
    10-minute window, then 429. Without waiting for a window's edge: when one turns
    during the loop, the count starts again, and the loop may see up to twice the budget."""
    http = from_address(20)
    window = int(time.time()) // FLOW_WINDOW_SECONDS
    started = 0
    refused = None
    for _ in range(2 * FLOWS_PER_ADDRESS + 1):
        answer = http.get("/auth/oauth/github/start", params={"redirect_to": back})
        if answer.status_code != 302:
            refused = answer
            break
        started += 1
    http.cookies.clear()
    assert refused is not None, f"{started} flows started from one address"
    assert_problem(refused, 429, "rate_limited")
    assert 0 < int(refused.headers["retry-after"]) <= FLOW_WINDOW_SECONDS
    assert "set-cookie" not in refused.headers
    if int(time.time()) // FLOW_WINDOW_SECONDS == window:
        assert started == FLOWS_PER_ADDRESS
    # Another address is not affected.
    assert from_address(21).get("/auth/oauth/github/start", params={"redirect_to": back}).status_code == 302


# --- 3. redirect_to must be on the list, exactly ------------------------------------------------------


def test_a_redirect_to_off_the_list_starts_nothing(
    from_address: Callable[[int], httpx.Client], back: str, server: DevServer
) -> None:
    http = from_address(5)
    host = urlsplit(back).netloc
    refused = [
        f"{back}.evil.test",
        f"{back}/x",
        f"{back}?x=1",
        f"{back}#x",
        f"{back}/",
        back.upper(),
        back.replace("http://", "https://"),
        back.replace(host, f"{host}.evil.test"),
        back.replace("127.0.0.1", "localhost"),
        f"https://evil.test{SIGNED_IN_PATH}",
        f"//evil.test{SIGNED_IN_PATH}",
        SIGNED_IN_PATH,
        "",
    ]
    for provider in PROVIDERS:
        for redirect_to in refused:
            answer = http.get(f"/auth/oauth/{provider}/start", params={"redirect_to": redirect_to})
            assert_problem(answer, 422, "validation_error")
            assert "set-cookie" not in answer.headers, (redirect_to, answer.headers)
        missing = http.get(f"/auth/oauth/{provider}/start")
        assert_problem(missing, 422, "validation_error")
        assert "set-cookie" not in missing.headers

    # The link route keeps the same list.
    email, password = signed_up_and_verified(http)
    tokens = tokens_of(log_in(http, email, password))
    for redirect_to in (f"{back}.evil.test", f"{back}?x=1", ""):
        answer = http.post(
            "/me/identities/github/link", json={"redirect_to": redirect_to}, headers=bearer(tokens["access_token"])
        )
        assert_problem(answer, 422, "validation_error")
        assert "set-cookie" not in answer.headers


# --- 4. state: replayed, unknown, missing, another browser's ------------------------------------------


def test_a_replayed_unknown_or_missing_state_is_refused(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(6)
    user = provider_user(urls, "google", unique_email("Replay"))
    started = start(http, "google", back)
    callback_url = user.approve(started.authorize_url)
    assert "login_code" in returned(callback(http, callback_url, started.cookie), back)

    # The same callback again, cookie and all: the state was used.
    assert returned(callback(http, callback_url, started.cookie), back) == {"error": "invalid_state"}

    # A state nobody issued, or none: there is no flow to name a redirect_to, so the
    # first allowed address (the local list has one), never an address the request names.
    # A repeated or oversized parameter is refused the same way: a redirect, never a 422
    # that would strand the browser on a JSON page.
    for raw in (
        urlencode({"code": "c", "state": secrets.token_urlsafe(32)}),
        "code=c",
        urlencode({"state": "x" * 3000}),
        "code=a&state=b&state=c",
        "code=a&code=b&state=c",
        "error=x&error=y&state=z",
    ):
        answer = http.get(f"/auth/oauth/google/callback?{raw}", headers={"Cookie": f"{BROWSER_COOKIE}=x"})
        assert answer.status_code == 302, (raw, answer.text)
        assert returned(answer, back) == {"error": "invalid_state"}

    # A state another provider issued is not this provider's.
    other = provider_user(urls, "google", unique_email("Crossed"))
    started = start(http, "google", back)
    crossed = other.approve(started.authorize_url).replace("/auth/oauth/google/", "/auth/oauth/gitlab/")
    assert returned(callback(http, crossed, started.cookie), back) == {"error": "invalid_state"}


def test_a_callback_in_another_browser_signs_nobody_in(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    """Login CSRF: an attacker approves at the provider and hands the callback URL to a
    victim, whose browser holds no cookie of that flow, or the cookie of its own."""
    http = from_address(7)
    email = unique_email("Csrf")
    attacker = provider_user(urls, "github", email)
    for victims_cookie in (None, start(http, "github", back).cookie):
        started = start(http, "github", back)
        callback_url = attacker.approve(started.authorize_url)
        assert returned(callback(http, callback_url, victims_cookie), back) == {"error": "browser_mismatch"}
        # The refused callback spent the flow: the starting browser cannot finish it later.
        assert returned(callback(http, callback_url, started.cookie), back) == {"error": "invalid_state"}
    no_account_has(http, email)


def test_a_cookie_planted_beside_the_browsers_own_binds_nothing(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    """A sibling subdomain cannot set a `__Host-` cookie; were one planted all the same
    (an older browser), the callback sees the name twice and trusts neither."""
    http = from_address(23)
    email = unique_email("Planted")
    attacker = provider_user(urls, "github", email)
    started = start(http, "github", back)
    callback_url = attacker.approve(started.authorize_url)
    victims_own = start(http, "github", back).cookie
    http.cookies.clear()
    answer = http.get(
        callback_url, headers={"Cookie": f"{BROWSER_COOKIE}={started.cookie}; {BROWSER_COOKIE}={victims_own}"}
    )
    assert answer.status_code == 302, answer.text
    assert returned(answer, back) == {"error": "browser_mismatch"}
    no_account_has(http, email)


# --- 5. denied at the provider ------------------------------------------------------------------------------


def test_denying_at_the_provider_comes_back_as_access_denied(
    from_address: Callable[[int], httpx.Client], back: str
) -> None:
    http = from_address(8)
    for provider in PROVIDERS:
        started = start(http, provider, back)
        assert returned(callback(http, deny(started.authorize_url), started.cookie), back) == {"error": "access_denied"}


# --- 6. an address the provider has not verified --------------------------------------------------------


def test_an_unverified_provider_address_links_and_creates_nothing(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(9)
    new_addresses = []
    for provider, verified in (("google", False), ("gitlab", None), ("github", False)):
        email = unique_email("Unverified")
        new_addresses.append(email)
        assert sign_in(http, provider_user(urls, provider, email, verified), back) == {"error": "email_not_verified"}

    # GitHub: a verified address that is not the primary one does not count either.
    email = unique_email("Secondary")
    login = f"octo-{uuid.uuid4().hex[:12]}"
    emails = (GitHubEmail(unique_email("Primary"), primary=True), GitHubEmail(email, verified=True))
    put_github_user(urls["github"], GitHubUser(id=10**9 + secrets.randbelow(10**9), login=login, emails=emails))
    secondary = ProviderUser("github", urls["github"], login)
    assert sign_in(http, secondary, back) == {"error": "email_not_verified"}

    for address in new_addresses:
        no_account_has(http, address)

    # An account with that address, verified here: still not linked by an unverified address.
    owned, password = signed_up_and_verified(http)
    for provider in PROVIDERS:
        assert sign_in(http, provider_user(urls, provider, owned, False), back) == {"error": "email_not_verified"}
    tokens = tokens_of(log_in(http, owned, password))
    assert me(http, tokens["access_token"])["identities"] == []


def test_a_look_alike_of_a_verified_address_creates_nothing(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(19)
    tag = uuid.uuid4().hex[:10]
    owner, password = f"paypal.{tag}@example.com", strong_password()
    sign_up(http, owner, password)
    verified = http.post("/auth/verify-email", json={"token": latest_verification_token(http, owner)})
    assert verified.status_code == 200, verified.text

    look_alike = provider_user(urls, "google", f"p\u0430ypal.{tag}@example.com")  # Cyrillic а
    assert sign_in(http, look_alike, back) == {"error": "email_too_similar"}
    # Had an account been made, its identity would sign in now whatever the address.
    assert sign_in(http, look_alike, back) == {"error": "email_too_similar"}
    owners = tokens_of(log_in(http, owner, password))
    assert me(http, owners["access_token"])["identities"] == []


# --- 7. pre-account takeover ------------------------------------------------------------------------------


def test_a_provider_takes_over_an_address_someone_registered_but_never_verified(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(10)
    email, squatters_password = unique_email("Squatted"), strong_password()
    sign_up(http, email, squatters_password)
    pending_token = latest_verification_token(http, email)

    tokens = signed_in_with(http, provider_user(urls, "google", email), back)
    account = me(http, tokens["access_token"])
    assert account["email"] == email.lower()
    assert account["email_verified"] is True and account["has_password"] is False
    assert [i["provider"] for i in account["identities"]] == ["google"]

    # The squatter's password and pending link are gone.
    assert_problem(log_in(http, email, squatters_password), 401, "invalid_credentials")
    assert_problem(http.post("/auth/verify-email", json={"token": pending_token}), 400, "invalid_token")
    assert me(http, tokens["access_token"])["has_password"] is False
    notices = [e for e in emails_to(http, email) if "Sign-in with Google was linked" in e["text"]]
    assert len(notices) == 1, emails_to(http, email)
    assert "password chosen when it was registered" in notices[0]["text"]
    actions = [action for action, _, _ in audit_actions(http, tokens["access_token"])]
    assert actions[:3] == ["account.claimed", "identity.linked", "login.provider_verified"], actions


# --- 8. an existing verified account -----------------------------------------------------------------------


def test_a_verified_account_signing_in_with_github_is_linked_and_told(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(11)
    email, password = signed_up_and_verified(http)
    before = tokens_of(log_in(http, email, password))
    account_id = me(http, before["access_token"])["id"]

    tokens = signed_in_with(http, provider_user(urls, "github", email.upper()), back)
    account = me(http, tokens["access_token"])
    assert account["id"] == account_id and account["has_password"] is True
    assert [(i["provider"], i["email"]) for i in account["identities"]] == [("github", email.lower())]
    notices = [e for e in emails_to(http, email) if "security notice" in e["subject"]]
    assert len(notices) == 1, emails_to(http, email)
    assert notices[0]["subject"] == "Kuploy security notice: sign-in with GitHub was linked"
    assert "You can now sign in with GitHub" in notices[0]["text"] and "unlink GitHub" in notices[0]["text"]
    assert log_in(http, email, password).status_code == 200


# --- 9. 2FA after a provider -------------------------------------------------------------------------------


def test_a_provider_never_skips_the_second_step(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(12)
    user = provider_user(urls, "gitlab", unique_email("Twofactor"))
    # A fresh provider sign-in is in sudo mode: enough to turn 2FA on.
    tokens = signed_in_with(http, user, back)
    setup = http.post("/me/2fa/setup", headers=bearer(tokens["access_token"]))
    assert setup.status_code == 200, setup.text
    totp = pyotp.TOTP(setup.json()["secret"])
    step = int(time.time()) // STEP_SECONDS
    enabled = http.post(
        "/me/2fa/enable", json={"code": totp.at(step * STEP_SECONDS)}, headers=bearer(tokens["access_token"])
    )
    assert enabled.status_code == 200, enabled.text

    params = sign_in(http, user, back)
    answer = exchange(http, params["login_code"])
    assert answer.status_code == 200, answer.text
    challenge = answer.json()
    assert challenge["mfa_required"] is True and "access_token" not in challenge, challenge
    # The next step's code: unused (enabling spent this step), valid now and a step later.
    code = totp.at((step + 1) * STEP_SECONDS)
    second = tokens_of(http.post("/auth/login/2fa", json={"mfa_token": challenge["mfa_token"], "code": code}))
    assert me(http, second["access_token"])["two_factor_enabled"] is True


# --- 10. the login code ------------------------------------------------------------------------------------


def test_a_login_code_signs_in_once(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(13)
    params = sign_in(http, provider_user(urls, "google", unique_email("Once")), back)
    tokens_of(exchange(http, params["login_code"]))
    assert_problem(exchange(http, params["login_code"]), 400, "invalid_token")
    for junk in ("", "junk", secrets.token_urlsafe(32)):
        assert_problem(exchange(http, junk), 400, "invalid_token")
    assert_problem(exchange(http, "x" * 513), 422, "validation_error")
    assert_problem(http.post("/auth/oauth/exchange", json={}), 422, "validation_error")


def test_racing_callbacks_and_exchanges_of_one_flow_sign_in_once(
    server: DevServer, from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    """The state and the login code are single use in DynamoDB conditions: of 6 browsers
    replaying one callback at the same instant one gets a code, and of 6 exchanging that
    code at once one gets tokens."""
    http = from_address(24)
    user = provider_user(urls, "github", unique_email("Race"))
    started = start(http, "github", back)
    callback_url = user.approve(started.authorize_url)
    racers = 6

    def race(call: Callable[[httpx.Client], httpx.Response]) -> list[httpx.Response]:
        barrier = threading.Barrier(racers)

        def run(_: int) -> httpx.Response:
            with server.client(source_ip="127.0.13.24") as own:
                barrier.wait(timeout=30)
                return call(own)

        with ThreadPoolExecutor(max_workers=racers) as pool:
            return list(pool.map(run, range(racers)))

    answers = race(lambda own: own.get(callback_url, headers={"Cookie": f"{BROWSER_COOKIE}={started.cookie}"}))
    outcomes = [returned(answer, back) for answer in answers]
    codes = [o["login_code"] for o in outcomes if "login_code" in o]
    assert len(codes) == 1, outcomes
    assert sorted(o.get("error", "") for o in outcomes if "error" in o) == ["invalid_state"] * (racers - 1)

    exchanges = race(lambda own: own.post("/auth/oauth/exchange", json={"login_code": codes[0]}))
    assert sorted(answer.status_code for answer in exchanges) == [200] + [400] * (racers - 1)


# --- 11. linking and unlinking -----------------------------------------------------------------------------


def test_a_password_account_links_gitlab_which_no_other_account_can_then_link(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(14)
    email, password = signed_up_and_verified(http)
    tokens = tokens_of(log_in(http, email, password))
    # Another address at GitLab: linking goes by the signed-in account, not by email.
    gitlab_email = unique_email("Elsewhere")
    gitlab = provider_user(urls, "gitlab", gitlab_email)
    assert link(http, gitlab, tokens["access_token"], back) == {"linked": "gitlab"}
    identities = me(http, tokens["access_token"])["identities"]
    assert [(i["provider"], i["email"]) for i in identities] == [("gitlab", gitlab_email.lower())]
    assert any("Sign-in with GitLab was linked" in e["text"] for e in emails_to(http, email))
    # The GitLab account now signs in to this account.
    assert me(http, signed_in_with(http, gitlab, back)["access_token"])["email"] == email.lower()

    other_email, other_password = signed_up_and_verified(http)
    other = tokens_of(log_in(http, other_email, other_password))
    assert link(http, gitlab, other["access_token"], back) == {"error": "identity_in_use"}
    assert me(http, other["access_token"])["identities"] == []

    # A link flow's callback in another browser links nothing either.
    started = link_started(http, "gitlab", other["access_token"], back)
    mine = provider_user(urls, "gitlab", other_email)
    assert returned(callback(http, mine.approve(started.authorize_url), None), back) == {"error": "browser_mismatch"}
    assert me(http, other["access_token"])["identities"] == []


def test_the_last_way_to_sign_in_cannot_be_unlinked(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(15)
    tokens = signed_in_with(http, provider_user(urls, "google", unique_email("Last")), back)
    access = tokens["access_token"]
    assert_problem(http.delete("/me/identities/google", headers=bearer(access)), 409, "last_sign_in_method")
    assert_problem(http.delete("/me/identities/github", headers=bearer(access)), 404, "not_found")

    github_email = unique_email("Second")
    github = provider_user(urls, "github", github_email)
    assert link(http, github, access, back) == {"linked": "github"}
    assert linked_providers(http, access) == ["github", "google"]
    # One account per provider: linking the same one again changes nothing, another is refused.
    assert link(http, github, access, back) == {"linked": "github"}
    another = provider_user(urls, "github", unique_email("Third"))
    assert link(http, another, access, back) == {"error": "provider_already_linked"}
    assert [(i["provider"], i["email"]) for i in me(http, access)["identities"] if i["provider"] == "github"] == [
        ("github", github_email.lower())
    ]
    assert http.delete("/me/identities/google", headers=bearer(access)).status_code == 204
    assert linked_providers(http, access) == ["github"]
    assert_problem(http.delete("/me/identities/github", headers=bearer(access)), 409, "last_sign_in_method")
    assert linked_providers(http, access) == ["github"]
    # GitHub still signs in to it.
    assert me(http, signed_in_with(http, github, back)["access_token"])["id"] == me(http, access)["id"]


def test_the_identity_routes_take_a_signed_in_person_only(
    from_address: Callable[[int], httpx.Client], back: str
) -> None:
    http = from_address(16)
    email, password = signed_up_and_verified(http)
    access = tokens_of(log_in(http, email, password))["access_token"]
    org = http.post("/orgs", json={"name": f"Links {uuid.uuid4().hex[:8]}"}, headers=bearer(access))
    assert org.status_code == 201, org.text
    made = http.post(
        f"/orgs/{org.json()['id']}/api-keys", json={"description": "ci", "preset": "full"}, headers=bearer(access)
    )
    assert made.status_code == 201, made.text
    key = made.json()["key"]

    body = {"redirect_to": back}
    for headers, status, code in (
        (bearer(key), 403, "api_key_not_allowed"),
        ({}, 401, "unauthorized"),
        (bearer("not-a-token"), 401, "invalid_token"),
    ):
        started = http.post("/me/identities/github/link", json=body, headers=headers)
        assert_problem(started, status, code)
        assert "set-cookie" not in started.headers
        assert_problem(http.delete("/me/identities/github", headers=headers), status, code)
    # Link without sudo mode (an old token) needs a token minted 10 minutes ago: the
    # sudo-mode e2e tests and the unit tests of the route cover it.


# --- 12. a password for a password-less account ---------------------------------------------------------------


def test_an_account_without_a_password_sets_one_through_the_reset_flow(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(17)
    email = unique_email("Nopassword")
    tokens = signed_in_with(http, provider_user(urls, "google", email), back)
    assert me(http, tokens["access_token"])["has_password"] is False

    assert http.post("/auth/password/forgot", json={"email": email}).status_code == 202
    link_sent = reset_link(reset_emails_to(http, email)[-1])
    password = strong_password()
    reset = http.post("/auth/password/reset", json={"token": token_of(link_sent), "password": password})
    assert reset.status_code == 204, reset.text

    fresh = tokens_of(log_in(http, email, password))
    account = me(http, fresh["access_token"])
    assert account["has_password"] is True
    assert [i["provider"] for i in account["identities"]] == ["google"]
    # With a password, the provider is no longer the last way in.
    assert http.delete("/me/identities/google", headers=bearer(fresh["access_token"])).status_code == 204
    assert me(http, fresh["access_token"])["identities"] == []


# --- 13. the account's audit trail -------------------------------------------------------------------------------


def test_the_trail_records_the_creation_each_link_and_the_unlink(
    from_address: Callable[[int], httpx.Client], urls: dict[str, str], back: str
) -> None:
    http = from_address(18)
    tokens = signed_in_with(http, provider_user(urls, "gitlab", unique_email("Trail")), back)
    access = tokens["access_token"]
    assert link(http, provider_user(urls, "github", unique_email("Trail")), access, back) == {"linked": "github"}
    assert http.delete("/me/identities/gitlab", headers=bearer(access)).status_code == 204

    ip = "127.0.13.18"
    assert audit_actions(http, access) == [
        ("account.created", ip, "gitlab"),
        ("identity.linked", ip, "gitlab"),
        ("login.provider_verified", ip, "gitlab"),
        ("login.succeeded", ip, None),
        ("identity.linked", ip, "github"),
        ("identity.unlinked", ip, "gitlab"),
    ]


# --- one person in a real browser -------------------------------------------------------------------------------


def test_a_person_signs_in_with_google_in_a_browser(
    browser: Any, server: DevServer, client: httpx.Client, urls: dict[str, str], back: str
) -> None:
    """The flow's cookie is Secure and SameSite=Lax: a real browser must keep it over
    http://127.0.0.1 and send it on the provider's redirect back."""
    email = unique_email("Browser")
    user = provider_user(urls, "google", email)

    page = browser.new_page()
    page.goto(f"{server.base_url}/_dev/sign-in")
    page.click("text=Sign in with Google")
    page.wait_for_url(f"{urls['google']}/**")
    page.fill("input[name=sub]", user.subject)
    page.click("button:has-text('Authorize')")
    page.wait_for_url(f"{back}?**")
    assert "Signed in at the provider" in page.inner_text("body"), page.content()
    login_code = parse_qs(urlsplit(page.url).query)["login_code"][0]
    assert login_code in page.inner_text("body")
    page.close()

    tokens = tokens_of(exchange(client, login_code))
    assert me(client, tokens["access_token"])["email"] == email.lower()
