"""Schemathesis, a tool nobody here wrote, against the `/openapi.json` the local server
serves: every operation with generated input, valid and invalid (positive and negative
modes), from three callers (a signed-in user who owns an organization, that
organization's API key with the `full` preset, and nobody), and four checks on every
answer: no 5xx, a documented status code, the documented content type, and a body that
matches the documented schema. A 429 is a documented answer, not a failure.

Then Schemathesis' stateful phase: scenarios that chain operations through the links it
infers from the document (an organization made by POST /orgs into the organization
routes, a project into its applications), as a signed-in user of its own.

Bounded here (a fixed seed, derandomized: FUZZ_EXAMPLES examples per operation and
caller, 3 by default, and FUZZ_SCENARIOS scenarios, 10 by default); `make fuzz` runs it
long, with Schemathesis' coverage phase too.

Most examples of an organization route get the caller's own organization id instead of
a generated one, so they reach its data rather than a 404; DELETE /orgs/{org_id} never
does (the caller would lose the organization the rest of the run needs).

Every request comes from an address of its own pool, rotated per request (the server
counts per-address limits by the connection's address: helpers.DevServer.client), so
the fuzzer neither exhausts the limits other tests depend on nor spends its own budget
on a few addresses: most requests reach the handlers. Every secret it is answered goes
into the session's registry, which the functions' logs are scanned for.
"""

from __future__ import annotations

import itertools
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from requests.adapters import HTTPAdapter
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.helpers import DevServer, bearer, log_in, signed_up_and_verified
from tests.e2e.secret_scan import REGISTRY

pytestmark = pytest.mark.e2e

SEED = 16
# Per operation and caller. 3 keeps `make test` to about two minutes on a loaded
# 2-core machine; `make fuzz` sets it (FUZZ_EXAMPLES=...) far higher.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 3)
# Scenarios of the stateful test, each a chain of up to SCENARIO_STEPS calls (Schemathesis'
# own default).
SCENARIOS = int(os.environ.get("FUZZ_SCENARIOS") or 10)
SCENARIOS_PER_RUN = 10
SCENARIO_STEPS = 6
# `make fuzz` also runs Schemathesis' coverage phase (boundary values and every
# documented enum and format of each parameter, deterministically).
COVERAGE = os.environ.get("FUZZ_COVERAGE") == "1"
# The fuzzer's own client addresses, unused by any other test file.
ADDRESSES = [f"127.16.{block}.{host}" for block in range(4) for host in range(1, 65)]
SETUP_ADDRESS = "127.16.9.1"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = ["user", "api_key", "anonymous"]
# A user's access token lasts 15 minutes (domain/sessions.py); a long run signs in again.
TOKEN_REFRESH_EVERY = 600


class _FromAddress(HTTPAdapter):
    """Connections from one loopback address: the client IP the server sees."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__(pool_connections=1, pool_maxsize=1)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["source_address"] = (self._address, 0)
        super().init_poolmanager(*args, **kwargs)


def _register_secrets(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """The secrets an answer carries (tokens and keys in a JSON body, cookies, a Location),
    into the registry, which reads httpx messages. Not the request's: its values are
    generated, and one that happens to spell a word the logs hold would be a false finding;
    the callers' own credentials are registered when they are made. Nor a page's body,
    which reflects the generated values it was sent."""
    sent = response.request
    request = httpx.Request(str(sent.method), str(sent.url))
    raw = response.raw.headers
    answered = [(name, value) for name in set(raw.keys()) for value in raw.getlist(name)]
    json_body = "json" in response.headers.get("content-type", "")
    content = response.content if json_body else b""
    REGISTRY.saw_response(httpx.Response(response.status_code, headers=answered, content=content, request=request))


@dataclass
class Caller:
    """Who the fuzzer is: an Authorization header (or none) and an organization of its own."""

    kind: str
    server: DevServer
    email: str = ""
    password: str = ""
    token: str = ""
    org_id: str = ""
    signed_in_at: float = 0.0
    _addresses: Iterator[str] = field(default_factory=lambda: itertools.cycle(ADDRESSES))

    def headers(self) -> dict[str, str]:
        if self.kind == "anonymous":
            return {}
        if self.kind == "user":
            self._sign_in_again_if_old()
        return bearer(self.token)

    def _sign_in_again_if_old(self) -> None:
        if time.monotonic() - self.signed_in_at < TOKEN_REFRESH_EVERY:
            return
        with self.server.client(source_ip=SETUP_ADDRESS) as http:
            answer = log_in(http, self.email, self.password)
        assert answer.status_code == 200, answer.text
        self.token = answer.json()["access_token"]
        self.signed_in_at = time.monotonic()

    def session(self) -> requests.Session:
        """A session for one request, from the next address of the pool."""
        session = requests.Session()
        adapter = _FromAddress(next(self._addresses))
        session.mount("http://", adapter)
        session.hooks["response"].append(_register_secrets)
        return session

    def call(self, case: schemathesis.Case) -> schemathesis.Response:
        with self.session() as session:
            return case.call(
                base_url=self.server.base_url,
                session=session,
                headers=self.headers(),
                allow_redirects=False,
                timeout=60,
            )


@pytest.fixture(scope="module")
def owner_account(server: DevServer) -> dict[str, str]:
    """A verified user who owns an organization, and that organization's `full` API key."""
    with server.client(source_ip=SETUP_ADDRESS) as http:
        email, password = signed_up_and_verified(http, "Fuzz")
        signed_in = log_in(http, email, password)
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        created = http.post("/orgs", json={"name": f"Fuzz {uuid.uuid4().hex[:8]}"}, headers=bearer(token))
        assert created.status_code == 201, created.text
        org_id = created.json()["id"]
        body = {"description": "schemathesis", "preset": "full", "expires_in_days": 1}
        made = http.post(f"/orgs/{org_id}/api-keys", json=body, headers=bearer(token))
        assert made.status_code == 201, made.text
    OWN_ORG["id"] = org_id
    return {
        "email": email,
        "password": password,
        "token": token,
        "org_id": org_id,
        "key": made.json()["key"],
        "signed_in_at": str(time.monotonic()),
    }


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest, server: DevServer, owner_account: dict[str, str]) -> Caller:
    kind: str = request.param
    if kind == "anonymous":
        return Caller(kind, server)
    token = owner_account["token"] if kind == "user" else owner_account["key"]
    return Caller(
        kind,
        server,
        email=owner_account["email"],
        password=owner_account["password"],
        token=token,
        org_id=owner_account["org_id"],
        signed_in_at=float(owner_account["signed_in_at"]),
    )


def fuzz_config() -> SchemathesisConfig:
    return SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "checks": {"enabled": False} | {check.__name__: {"enabled": True} for check in CHECKS},
            "phases": {"coverage": {"enabled": COVERAGE}},
        }
    )


# The document the local server serves at /openapi.json (functions/openapi/app.py serves
# this file as it is; the first test checks that). Loaded at collection, so each
# operation is a test of its own, with an id that is the same in every run and worker.
DOCUMENT = Path(__file__).resolve().parents[2] / "functions" / "openapi" / "openapi.json"
schema = schemathesis.openapi.from_path(DOCUMENT, config=fuzz_config())
# The organization the signed-in callers own (set by `owner_account`).
OWN_ORG: dict[str, str] = {}


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any] | None) -> Any:
    """Three examples in four of an organization route name the caller's organization."""
    operation = context.operation
    org_id = OWN_ORG.get("id")
    if not org_id or not path_parameters or "org_id" not in path_parameters:
        return st.just(path_parameters)
    if operation is not None and (operation.method.upper(), operation.path) == ("DELETE", "/orgs/{org_id}"):
        return st.just(path_parameters)
    own = {**path_parameters, "org_id": org_id}
    return st.sampled_from([own, own, own, path_parameters])


def test_the_fuzzed_document_is_the_one_served(server: DevServer) -> None:
    served = httpx.get(f"{server.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == json.loads(DOCUMENT.read_text(encoding="utf-8"))


@schema.parametrize()
def test_every_operation_answers_as_documented(case: schemathesis.Case, caller: Caller) -> None:
    response = caller.call(case)
    case.validate_response(response, checks=CHECKS)


@pytest.fixture(scope="module")
def chaining_caller(server: DevServer) -> Caller:
    """A signed-in account of its own, with no organization yet: its scenarios make theirs."""
    with server.client(source_ip=SETUP_ADDRESS) as http:
        email, password = signed_up_and_verified(http, "Chains")
        signed_in = log_in(http, email, password)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    return Caller("user", server, email=email, password=password, token=token, signed_in_at=time.monotonic())


def test_chains_of_operations_answer_as_documented(chaining_caller: Caller) -> None:
    """Schemathesis' stateful phase: scenarios that feed one answer's ids into the next
    request through the links it infers from the document (POST /orgs into the
    organization routes, a project into its applications, an invitation into its resend)."""
    # Its own copy of the document: the organization hook above must not replace ids a link supplies.
    chained = schemathesis.openapi.from_path(DOCUMENT, config=fuzz_config())
    caller = chaining_caller

    class Scenarios(chained.as_state_machine()):  # type: ignore[misc]
        def call(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
            return caller.call(case)

    # Schemathesis' own settings for its stateful phase (generation only, no shrinking),
    # the count bounded, in runs of SCENARIOS_PER_RUN scenarios, each with its own fixed
    # seed. Which step may follow which depends on the answers, and a long-lived server's
    # answers change with its state (a budget spent, a token aged): within one long run
    # Hypothesis met the same choices leading to other steps and stopped with
    # FlakyStrategyDefinition (`make fuzz`, 100 scenarios), a fault of the method, not of the
    # service. Short runs start each from a fresh record of choices.
    for run, first in enumerate(range(0, SCENARIOS, SCENARIOS_PER_RUN)):
        settings = hypothesis.settings(
            max_examples=min(SCENARIOS_PER_RUN, SCENARIOS - first),
            stateful_step_count=SCENARIO_STEPS,
            phases=[hypothesis.Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        hypothesis.seed(SEED + run)(Scenarios)
        Scenarios.run(settings=settings)


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "BREW"])
def test_a_method_without_a_route_is_404_as_api_gateway_answers_it(server: DevServer, method: str) -> None:
    """Found by the coverage phase: the local server's HTTP handler answered 501 itself to
    a method it had no handler for, before the gateway could answer it as API Gateway does."""
    with server.client(source_ip=SETUP_ADDRESS) as http:
        answer = http.request(method, "/me")
    assert answer.status_code == 404, answer.text
    assert answer.json() == {"message": "Not Found"}
