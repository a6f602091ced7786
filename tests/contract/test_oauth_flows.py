"""OAuthFlows: a flow is stored once under its state's hash and used once, however many
callbacks race with the same state; expiry is the caller's (services/oauth.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from functools import cache

import pytest

from kuploy_access.domain.identities import OAUTH_FLOW_LIFETIME, FlowMode, OAuthFlow, Provider
from kuploy_access.domain.one_time_tokens import hash_secret
from tests.contract.account_side import NOW
from tests.contract.ports import OAuthFlows
from tests.contract.races import answered, raised, run_together


@cache
def dynamo_flows() -> OAuthFlows:
    from kuploy_access.adapters.dynamodb.oauth_flows import DynamoOAuthFlows

    return DynamoOAuthFlows()


@pytest.fixture(params=["fake", "dynamo"])
def flows(request: pytest.FixtureRequest) -> OAuthFlows:
    if request.param == "fake":
        from tests.unit.identity_fakes import FakeOAuthFlows

        return FakeOAuthFlows()
    request.getfixturevalue("moto_table")
    return dynamo_flows()


def a_flow(state: str = "state-1", mode: FlowMode = FlowMode.SIGN_IN, user_id: str | None = None) -> OAuthFlow:
    return OAuthFlow(
        state_hash=hash_secret(state),
        provider=Provider.GOOGLE,
        mode=mode,
        redirect_to="https://console.kuploy.test/signed-in",
        browser_hash=hash_secret("browser secret"),
        expires_at=NOW + OAUTH_FLOW_LIFETIME,
        user_id=user_id,
    )


def test_a_flow_is_used_once_and_reads_back_as_saved(flows: OAuthFlows) -> None:
    flow = a_flow()
    flows.save(flow)

    assert flows.use(flow.state_hash) == (flow, True)
    assert flows.use(flow.state_hash) == (flow, False)
    assert flows.use(flow.state_hash) == (flow, False)


def test_a_link_flow_keeps_its_account_and_session(flows: OAuthFlows) -> None:
    flow = replace(a_flow(mode=FlowMode.LINK, user_id="usr_grace"), provider=Provider.GITLAB, session_id="ses_grace")
    flows.save(flow)

    assert flows.use(flow.state_hash) == (flow, True)


def test_an_unknown_state_is_none(flows: OAuthFlows) -> None:
    flows.save(a_flow())

    assert flows.use(hash_secret("state-2")) is None
    assert flows.use(hash_secret("state-2")) is None  # and using it created nothing


def test_each_state_is_its_own_flow(flows: OAuthFlows) -> None:
    first, second = a_flow("state-1"), a_flow("state-2", FlowMode.LINK, "usr_grace")
    flows.save(first)
    flows.save(second)

    assert flows.use(first.state_hash) == (first, True)
    assert flows.use(second.state_hash) == (second, True)


def test_an_expired_flow_still_reads_back_for_its_caller_to_refuse(flows: OAuthFlows) -> None:
    stale = replace(a_flow(), expires_at=NOW - timedelta(minutes=1))
    flows.save(stale)

    used = flows.use(stale.state_hash)

    assert used == (stale, True) and used[0].is_expired(NOW)


def test_a_flow_is_never_overwritten(flows: OAuthFlows) -> None:
    flow = a_flow()
    flows.save(flow)

    with pytest.raises(Exception):  # noqa: B017 - the adapter's and the fake's are not the port's
        flows.save(replace(flow, redirect_to="https://evil.test/"))

    assert flows.use(flow.state_hash) == (flow, True)


def test_of_racing_callbacks_with_one_state_exactly_one_uses_it(flows: OAuthFlows) -> None:
    flow = a_flow()
    flows.save(flow)

    outcomes = run_together(8, lambda _: flows.use(flow.state_hash))

    assert raised(outcomes) == []
    assert sorted(answered(outcomes), key=lambda used: used is not None and used[1]) == [(flow, False)] * 7 + [
        (flow, True)
    ]
