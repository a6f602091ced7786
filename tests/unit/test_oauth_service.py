"""OAuthService on fakes: which account a provider signs in to, and every refusal of a
callback (a redirect with `error=`, nothing created)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from kuploy_access.domain.errors import (
    IdentityNotLinked,
    InvalidCredentials,
    InvalidToken,
    LastSignInMethod,
    ProviderNotConfigured,
    TokenExpired,
    ValidationFailed,
)
from kuploy_access.domain.identities import (
    FlowError,
    FlowSecrets,
    Identity,
    Provider,
    ProviderAccount,
)
from kuploy_access.domain.one_time_tokens import OneTimeToken, TokenKind, hash_secret
from kuploy_access.domain.rate_limits import OAUTH_FLOWS_PER_ADDRESS, RateLimited
from kuploy_access.domain.sessions import TokenPair
from kuploy_access.domain.two_factor import MfaChallenge
from kuploy_access.services.oauth import OAuthService
from kuploy_access.services.ports.identities import ProviderClient, ProviderFailed
from kuploy_access.services.sessions import ClientInfo
from tests.unit.identity_fakes import FakeLoginCodes, FakeOAuthFlows
from tests.unit.support import PUBLIC_BASE_URL, World

CONSOLE = "https://console.kuploy.example/"
ALLOWED = (CONSOLE, "https://console.kuploy.example/settings/identities")
CLIENT = ClientInfo("203.0.113.9", "Firefox")
OTHER_CLIENT = ClientInfo("198.51.100.4", "Chrome")


@dataclass
class FakeProvider:
    """A provider that redeems a code only with the verifier its flow was started with
    (PKCE), and answers the account the test gave it."""

    provider: Provider
    account: ProviderAccount | None = None
    failure: ProviderFailed | None = None
    verifiers: dict[str, str] = field(default_factory=dict)  # state -> verifier
    redeemed: list[str] = field(default_factory=list)

    def authorize_url(self, state: str, secrets: FlowSecrets, redirect_uri: str) -> str:
        self.verifiers[state] = secrets.code_verifier
        assert redirect_uri == f"{PUBLIC_BASE_URL}/auth/oauth/{self.provider.value}/callback"
        return f"https://{self.provider.value}.test/authorize?state={state}"

    def fetch_account(self, code: str, secrets: FlowSecrets, redirect_uri: str) -> ProviderAccount:
        if self.failure is not None:
            raise self.failure
        state = code.removeprefix("code-for-")
        if self.verifiers.get(state) != secrets.code_verifier:
            raise ProviderFailed(FlowError.PROVIDER_ERROR, "PKCE verifier mismatch")
        assert self.account is not None
        self.redeemed.append(code)
        return self.account


@dataclass
class FakeDirectory:
    clients: dict[Provider, FakeProvider]

    def configured(self) -> list[Provider]:
        return [p for p in Provider if p in self.clients]

    def client(self, provider: Provider) -> ProviderClient | None:
        return self.clients.get(provider)


class OAuthWorld(World):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.flows = FakeOAuthFlows()
        self.codes = FakeLoginCodes()
        self.github = FakeProvider(Provider.GITHUB)
        self.google = FakeProvider(Provider.GOOGLE)
        self.directory = FakeDirectory({Provider.GITHUB: self.github, Provider.GOOGLE: self.google})

    def oauth(self) -> OAuthService:
        return OAuthService(
            identities=self.identities,
            flows=self.flows,
            login_codes=self.codes,
            users=self.users,
            providers=self.directory,
            sessions=self.session_service(),
            audit=self.trail,
            mailer=self.mailer,
            clock=self.clock,
            limiter=self.limiter,
            public_base_url=PUBLIC_BASE_URL,
            redirect_allow_list=ALLOWED,
        )

    def round_trip(
        self,
        provider: FakeProvider,
        account: ProviderAccount | None = None,
        *,
        browser: str | None = None,
        client: ClientInfo = CLIENT,
        error: str = "",
        redirect_to: str = CONSOLE,
    ) -> dict[str, str]:
        """Start a sign-in, come back from the provider; the callback's query."""
        if account is not None:
            provider.account = account
        started = self.oauth().start_sign_in(provider.provider.value, redirect_to, client)
        state = parse_qs(urlsplit(started.location).query)["state"][0]
        assert started.browser_secret is not None
        location = self.oauth().finish(
            provider.provider.value,
            state,
            "" if error else f"code-for-{state}",
            error,
            started.browser_secret if browser is None else browser,
            client,
        )
        assert location.startswith(redirect_to.split("?")[0])
        return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@pytest.fixture
def world() -> OAuthWorld:
    return OAuthWorld()


def google(email: str | None = "grace@example.com", verified: bool = True, subject: str = "g-1") -> ProviderAccount:
    return ProviderAccount(Provider.GOOGLE, subject, email, verified, "Grace")


def github(email: str | None = "grace@example.com", verified: bool = True, subject: str = "4242") -> ProviderAccount:
    return ProviderAccount(Provider.GITHUB, subject, email, verified, "Grace")


# --- starting ----------------------------------------------------------------------------


def test_only_configured_providers_are_listed_and_started(world):
    assert world.oauth().configured_providers() == [Provider.GITHUB, Provider.GOOGLE]
    for name in ("gitlab", "facebook", "GitHub", ""):
        with pytest.raises(ProviderNotConfigured):
            world.oauth().start_sign_in(name, CONSOLE, CLIENT)
    assert world.flows.items == {}


@pytest.mark.parametrize(
    "redirect_to",
    ["https://console.kuploy.example", "https://console.kuploy.example.evil.test/", "https://evil.test/", ""],
)
def test_a_redirect_not_on_the_list_is_refused_before_anything_is_stored(world, redirect_to):
    with pytest.raises(ValidationFailed):
        world.oauth().start_sign_in("github", redirect_to, CLIENT)
    assert world.flows.items == {}


def test_a_flow_is_stored_by_the_hash_of_its_state_with_the_hash_of_the_browser_secret(world):
    started = world.oauth().start_sign_in("google", CONSOLE, CLIENT)
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    assert len(state) >= 43  # 256 bits
    flow = world.flows.items[hash_secret(state)].flow
    assert started.browser_secret is not None
    assert flow.browser_hash == hash_secret(started.browser_secret)
    assert flow.redirect_to == CONSOLE
    assert flow.expires_at == world.clock.now() + timedelta(minutes=10)
    # Nothing secret is stored: not the state, nor the browser secret, nor the verifier.
    stored = repr(flow)
    assert state not in stored and started.browser_secret not in stored
    assert world.google.verifiers[state] not in stored


def test_a_provider_whose_metadata_cannot_be_read_sends_the_browser_back_with_an_error(world):
    def broken(state, secrets, redirect_uri):
        raise ProviderFailed(FlowError.PROVIDER_ERROR, "discovery failed")

    world.google.authorize_url = broken  # type: ignore[method-assign]
    started = world.oauth().start_sign_in("google", CONSOLE, CLIENT)
    assert started.location == f"{CONSOLE}?error=provider_error"
    assert started.browser_secret is None
    assert world.flows.items == {}


def test_flows_started_from_one_ipv6_64_share_the_address_budget(world):
    """Each address of a /64 is its holder's to use: the budget is the network's."""
    for interface in range(1, OAUTH_FLOWS_PER_ADDRESS.limit + 1):
        world.oauth().start_sign_in("google", CONSOLE, ClientInfo(f"2001:db8:4:2::{interface:x}", "bot"))

    with pytest.raises(RateLimited):
        world.oauth().start_sign_in("google", CONSOLE, ClientInfo("2001:db8:4:2::ffff", "bot"))
    world.oauth().start_sign_in("google", CONSOLE, ClientInfo("2001:db8:4:3::1", "Firefox"))
    assert len(world.flows.items) == OAUTH_FLOWS_PER_ADDRESS.limit + 1


# --- first sign-in -----------------------------------------------------------------------


def test_a_verified_address_with_no_account_creates_a_verified_account_without_password(world):
    answer = world.round_trip(world.google, google())
    user = world.users.get_by_email("grace@example.com")
    assert user is not None and user.email_verified and user.password_hash is None
    assert user.name == "Grace"
    [identity] = world.identities.identities_of(user.id)
    assert (identity.provider, identity.subject) == (Provider.GOOGLE, "g-1")
    tokens = world.oauth().exchange(answer["login_code"], CLIENT)
    assert isinstance(tokens, TokenPair)
    actions = [e.action for e in world.trail.events]
    assert {"account.created", "identity.linked", "login.provider_verified", "login.succeeded"} <= set(actions)


def test_the_login_code_works_once_and_for_60_seconds(world):
    code = world.round_trip(world.google, google())["login_code"]
    world.oauth().exchange(code, CLIENT)
    with pytest.raises(InvalidToken):
        world.oauth().exchange(code, CLIENT)
    late = world.round_trip(world.google, google())["login_code"]
    world.clock.advance(timedelta(seconds=61))
    with pytest.raises(TokenExpired):
        world.oauth().exchange(late, CLIENT)
    for junk in ("", "x" * 513, "not-a-code"):
        with pytest.raises(InvalidToken):
            world.oauth().exchange(junk, CLIENT)


def test_an_unverified_provider_address_never_links_or_creates(world):
    owner = world.add_user(email="grace@example.com", user_id="usr_01grace")
    assert world.round_trip(world.google, google(verified=False)) == {"error": "email_not_verified"}
    assert world.round_trip(world.github, github(email=None)) == {"error": "email_not_verified"}
    assert world.identities.identities_of(owner.id) == []
    world.users.by_email.clear()
    assert world.round_trip(world.google, google(email="new@example.com", verified=False)) == {
        "error": "email_not_verified"
    }
    assert world.users.get_by_email("new@example.com") is None


def test_a_verified_account_with_the_address_is_linked_and_its_owner_told(world):
    owner = world.add_user(email="grace@example.com", user_id="usr_01grace")
    world.mailer.sent.clear()
    code = world.round_trip(world.github, github())["login_code"]
    assert [i.provider for i in world.identities.identities_of(owner.id)] == [Provider.GITHUB]
    after = world.users.get(owner.id)
    assert after is not None and after.password_hash == owner.password_hash  # the password stays
    [notice] = world.mailer.sent
    assert notice.to == "grace@example.com" and "GitHub" in notice.subject + notice.text
    pair = world.oauth().exchange(code, CLIENT)
    assert isinstance(pair, TokenPair)


def test_an_unverified_account_with_the_address_is_taken_over(world):
    """Pre-account takeover: someone registered the address first (no inbox needed)."""
    squatter = world.signup()
    squatter.sign_up("grace@example.com", "Squatters-Password-1", OTHER_CLIENT, "Mallory")
    pending = world.users.get_by_email("grace@example.com")
    assert pending is not None and not pending.email_verified and pending.password_hash is not None
    pending_tokens = set(pending.pending_verification_hashes)
    assert pending_tokens
    world.session_service().start(pending.id, OTHER_CLIENT)

    code = world.round_trip(world.google, google())["login_code"]

    claimed = world.users.get(pending.id)
    assert claimed is not None
    assert claimed.email_verified and claimed.password_hash is None
    assert claimed.name == "Grace"  # not the squatter's "Mallory"
    assert claimed.pending_verification_hashes == frozenset()
    for token_hash in pending_tokens:
        assert world.tokens.get(TokenKind.EMAIL_VERIFICATION, token_hash) is None
    assert world.session_service().live_sessions(pending.id, 50, None).items == []
    assert "account.claimed" in [e.action for e in world.trail.events]
    # The squatter's password no longer signs in.
    with pytest.raises(InvalidCredentials):
        world.login().log_in("grace@example.com", "Squatters-Password-1", OTHER_CLIENT)
    assert isinstance(world.oauth().exchange(code, CLIENT), TokenPair)


def test_identities_are_keyed_by_the_provider_id_not_the_address(world):
    world.round_trip(world.google, google())
    first = world.users.get_by_email("grace@example.com")
    assert first is not None
    # Grace changes her address at Google: same subject, same account.
    code = world.round_trip(world.google, google(email="grace.h@example.org"))["login_code"]
    pair = world.oauth().exchange(code, CLIENT)
    assert isinstance(pair, TokenPair)
    assert world.users.get_by_email("grace.h@example.org") is None
    assert pair.access_token and world.identities.find(Provider.GOOGLE, "g-1").user_id == first.id  # type: ignore[union-attr]


def test_a_provider_never_skips_two_factor(world):
    owner = world.add_user(email="grace@example.com", user_id="usr_01grace")
    world.users.by_id[owner.id] = replace(owner, two_factor_enabled=True)
    code = world.round_trip(world.google, google())["login_code"]
    outcome = world.oauth().exchange(code, CLIENT)
    assert isinstance(outcome, MfaChallenge)
    assert all(s.user_id != owner.id for s in world.sessions.items.values())


# --- refusals: a redirect with error=, nothing created -----------------------------------


def _nothing_created(world: OAuthWorld) -> None:
    assert world.users.by_id == {} and world.identities.identities_of("anyone") == []
    assert world.codes.items == {}


def test_the_person_saying_no_at_the_provider(world):
    assert world.round_trip(world.google, google(), error="access_denied") == {"error": "access_denied"}
    assert world.round_trip(world.google, google(), error="server_error") == {"error": "provider_error"}
    _nothing_created(world)


def test_a_token_endpoint_failure(world):
    world.google.failure = ProviderFailed(FlowError.PROVIDER_ERROR, "token endpoint answered 500")
    assert world.round_trip(world.google, google()) == {"error": "provider_error"}
    _nothing_created(world)


def test_a_callback_in_another_browser_is_refused(world):
    """Login CSRF: the attacker's callback URL, opened in the victim's browser."""
    assert world.round_trip(world.google, google(), browser="") == {"error": "browser_mismatch"}
    assert world.round_trip(world.google, google(), browser="someone-elses-cookie") == {"error": "browser_mismatch"}
    _nothing_created(world)


def test_a_state_is_used_once_expires_and_belongs_to_its_provider(world):
    world.google.account = google()
    oauth = world.oauth()
    started = oauth.start_sign_in("google", CONSOLE, CLIENT)
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    assert started.browser_secret is not None
    # The same state at GitHub's callback: refused, and used up.
    wrong = oauth.finish("github", state, f"code-for-{state}", "", started.browser_secret, CLIENT)
    assert wrong == f"{CONSOLE}?error=invalid_state"
    again = oauth.finish("google", state, f"code-for-{state}", "", started.browser_secret, CLIENT)
    assert again == f"{CONSOLE}?error=invalid_state"

    started = oauth.start_sign_in("google", CONSOLE, CLIENT)
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    world.clock.advance(timedelta(minutes=10))
    late = oauth.finish("google", state, f"code-for-{state}", "", started.browser_secret or "", CLIENT)
    assert late == f"{CONSOLE}?error=invalid_state"
    _nothing_created(world)


@pytest.mark.parametrize("state", ["", "unknown-state", "x" * 600])
def test_an_unknown_state_goes_to_the_first_allowed_address(world, state):
    location = world.oauth().finish("google", state, "code", "", "cookie", CLIENT)
    assert location == f"{ALLOWED[0]}?error=invalid_state"


def test_a_verifier_from_another_flow_does_not_redeem_the_code(world):
    """PKCE: the code of one flow, with another flow's browser (so another verifier)."""
    world.google.account = google()
    oauth = world.oauth()
    victim = oauth.start_sign_in("google", CONSOLE, CLIENT)
    attacker = oauth.start_sign_in("google", CONSOLE, CLIENT)
    victim_state = parse_qs(urlsplit(victim.location).query)["state"][0]
    attacker_state = parse_qs(urlsplit(attacker.location).query)["state"][0]
    # The attacker's own flow and cookie, with the victim's intercepted code.
    location = oauth.finish(
        "google", attacker_state, f"code-for-{victim_state}", "", attacker.browser_secret or "", CLIENT
    )
    assert location == f"{CONSOLE}?error=provider_error"
    _nothing_created(world)


def test_the_callback_needs_a_configured_provider(world):
    with pytest.raises(ProviderNotConfigured):
        world.oauth().finish("gitlab", "state", "code", "", "cookie", CLIENT)


# --- linking and unlinking ---------------------------------------------------------------


def _session_of(world: OAuthWorld, user_id: str) -> str:
    world.session_service().start(user_id, CLIENT)
    return max((s for s in world.sessions.items.values() if s.user_id == user_id), key=lambda s: s.created_at).id


def _link(
    world: OAuthWorld,
    user_id: str,
    provider: FakeProvider,
    account: ProviderAccount,
    before_callback: Callable[[str], None] | None = None,
) -> dict[str, str]:
    provider.account = account
    session_id = _session_of(world, user_id)
    started = world.oauth().start_link(user_id, session_id, provider.provider.value, ALLOWED[1], CLIENT)
    state = parse_qs(urlsplit(started.location).query)["state"][0]
    if before_callback is not None:
        before_callback(session_id)
    location = world.oauth().finish(
        provider.provider.value, state, f"code-for-{state}", "", started.browser_secret or "", CLIENT
    )
    assert location.startswith(ALLOWED[1])
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_linking_a_provider_to_the_signed_in_account(world):
    owner = world.add_user(email="ada@example.com", user_id="usr_01ada")
    # Any address at the provider, verified or not: the person is signed in here.
    assert _link(world, owner.id, world.github, github(email="ada@work.example", verified=False)) == {
        "linked": "github"
    }
    [identity] = world.identities.identities_of(owner.id)
    assert identity.email == "ada@work.example"
    assert "identity.linked" in [e.action for e in world.trail.events]
    # Linking it again is a no-op answered the same.
    assert _link(world, owner.id, world.github, github(email="ada@work.example")) == {"linked": "github"}


def test_a_provider_account_linked_to_someone_else_is_refused(world):
    world.add_user(email="ada@example.com", user_id="usr_01ada")
    other = world.add_user(email="bob@example.com", user_id="usr_01bob")
    world.identities.link(Identity(Provider.GITHUB, "4242", "usr_01ada", "ada@example.com", world.clock.now()))
    assert _link(world, other.id, world.github, github()) == {"error": "identity_in_use"}
    assert world.identities.identities_of(other.id) == []


def test_a_second_account_of_the_same_provider_is_refused(world):
    owner = world.add_user(email="ada@example.com", user_id="usr_01ada")
    _link(world, owner.id, world.github, github(subject="1"))
    assert _link(world, owner.id, world.github, github(subject="2")) == {"error": "provider_already_linked"}


def test_unlinking_the_last_way_to_sign_in_is_refused(world):
    world.round_trip(world.google, google())
    user = world.users.get_by_email("grace@example.com")
    assert user is not None and user.password_hash is None
    with pytest.raises(LastSignInMethod):
        world.oauth().unlink(user.id, "google", CLIENT)
    assert len(world.identities.identities_of(user.id)) == 1
    _link(world, user.id, world.github, github())
    world.oauth().unlink(user.id, "google", CLIENT)
    assert [i.provider for i in world.identities.identities_of(user.id)] == [Provider.GITHUB]
    with pytest.raises(LastSignInMethod):
        world.oauth().unlink(user.id, "github", CLIENT)


def test_an_account_with_a_password_may_unlink_its_only_provider(world):
    owner = world.add_user(email="ada@example.com", user_id="usr_01ada")
    _link(world, owner.id, world.github, github())
    world.mailer.sent.clear()
    world.oauth().unlink(owner.id, "github", CLIENT)
    assert world.identities.identities_of(owner.id) == []
    [notice] = world.mailer.sent
    assert "unlinked" in notice.subject
    for name in ("github", "nope"):
        with pytest.raises(IdentityNotLinked):
            world.oauth().unlink(owner.id, name, CLIENT)


def test_the_login_code_is_stored_only_as_a_hash(world):
    code = world.round_trip(world.google, google())["login_code"]
    [(kind, token_hash)] = list(world.codes.items)
    assert kind is TokenKind.LOGIN_CODE and token_hash == hash_secret(code)
    stored: OneTimeToken = world.codes.items[(kind, token_hash)]
    assert code not in repr(stored)


@pytest.mark.parametrize("subject", ["", "9" * 513])
def test_a_user_id_no_table_key_could_hold_is_a_provider_error(world, subject):
    """DynamoDB keys stop at 2 KB: an absurd `sub` must not reach them (and answer 500)."""
    assert world.round_trip(world.google, google(subject=subject)) == {"error": "provider_error"}
    _nothing_created(world)


def test_a_provider_failure_is_logged_with_its_detail_and_no_secret(world, caplog):
    world.google.failure = ProviderFailed(FlowError.PROVIDER_ERROR, "token endpoint: invalid_grant")
    with caplog.at_level("WARNING", logger="kuploy_access.services.oauth"):
        world.round_trip(world.google, google())
    [record] = [r for r in caplog.records if r.name == "kuploy_access.services.oauth"]
    assert record.detail == "token endpoint: invalid_grant" and record.provider == "google"  # type: ignore[attr-defined]


def test_a_malformed_state_is_refused_without_asking_the_table(world):
    asked: list[str] = []
    world.flows.use = lambda state_hash: asked.append(state_hash)  # type: ignore[method-assign,func-returns-value]
    for state in ("short", "x" * 44, "=" * 43, "a" * 42 + "!"):
        assert world.oauth().finish("google", state, "code", "", "cookie", CLIENT).endswith("error=invalid_state")
    assert asked == []


def test_a_link_ends_with_the_session_that_started_it(world):
    """Signing out (or a reset that ends every session) during the flow cancels it."""
    owner = world.add_user(email="ada@example.com", user_id="usr_01ada")

    def sign_out(session_id: str) -> None:
        world.session_service().revoke(owner.id, session_id)

    assert _link(world, owner.id, world.github, github(), before_callback=sign_out) == {"error": "session_ended"}
    assert world.identities.identities_of(owner.id) == []
