"""Idempotency-Key over real HTTP against the local server: a client that lost an answer
sends the request again and gets the first answer (an organization, an API key and its
secret, a CI deployment made with an API key); another body under the key is refused;
concurrent retries create once; without the header every POST creates.

The module's accounts connect from their own loopback address (127.0.0.71), so their
sign-ups and requests share no budget with other modules."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import DevServer, assert_problem, bearer, logged_in

pytestmark = pytest.mark.e2e

ADDRESS = "127.0.0.71"
REPLAYED = "idempotent-replayed"


@pytest.fixture(scope="module")
def http(server: DevServer) -> Iterator[httpx.Client]:
    with server.client(source_ip=ADDRESS) as client:
        yield client


@pytest.fixture(scope="module")
def owner(http: httpx.Client) -> str:
    _, tokens = logged_in(http, "Ida Idempotent")
    return str(tokens["access_token"])


@pytest.fixture(scope="module")
def org_id(http: httpx.Client, owner: str) -> str:
    created = http.post("/orgs", json={"name": "Retry Works"}, headers=bearer(owner))
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def with_key(token: str, key: str) -> dict[str, str]:
    return {**bearer(token), "Idempotency-Key": key}


def items(http: httpx.Client, path: str, token: str) -> list[dict[str, Any]]:
    listed = http.get(path, params={"limit": 200}, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["items"]
    return found


def test_a_lost_answer_is_asked_for_again(http: httpx.Client, owner: str) -> None:
    key = str(uuid.uuid4())
    name = f"Once {key[:8]}"

    first = http.post("/orgs", json={"name": name}, headers=with_key(owner, key))
    again = http.post("/orgs", json={"name": name}, headers=with_key(owner, key))

    assert first.status_code == again.status_code == 201, again.text
    assert again.content == first.content
    assert REPLAYED not in first.headers and again.headers[REPLAYED] == "true"
    assert [org["name"] for org in items(http, "/orgs", owner)].count(name) == 1


def test_an_api_key_asked_for_twice_is_one_key(http: httpx.Client, owner: str, org_id: str) -> None:
    key = str(uuid.uuid4())
    body = {"description": f"CI {key[:8]}", "preset": "deploy"}

    first = http.post(f"/orgs/{org_id}/api-keys", json=body, headers=with_key(owner, key))
    again = http.post(f"/orgs/{org_id}/api-keys", json=body, headers=with_key(owner, key))

    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["key"] == first.json()["key"] and again.headers[REPLAYED] == "true"
    listed = [k for k in items(http, f"/orgs/{org_id}/api-keys", owner) if k["description"] == body["description"]]
    assert [k["id"] for k in listed] == [first.json()["id"]]
    assert http.get(f"/orgs/{org_id}", headers=bearer(again.json()["key"])).status_code == 200


def test_ci_deploys_once_with_its_api_key(http: httpx.Client, owner: str, org_id: str) -> None:
    project = http.post(f"/orgs/{org_id}/projects", json={"name": "shop"}, headers=bearer(owner)).json()
    app = http.post(
        f"/orgs/{org_id}/projects/{project['id']}/applications", json={"name": "storefront"}, headers=bearer(owner)
    ).json()
    deploy_key = http.post(
        f"/orgs/{org_id}/api-keys", json={"description": "pipeline", "preset": "deploy"}, headers=bearer(owner)
    ).json()["key"]
    deployments = f"/orgs/{org_id}/projects/{project['id']}/applications/{app['id']}/deployments"
    run = f"pipeline-run-{uuid.uuid4()}"

    first = http.post(deployments, json={"ref": "main"}, headers=with_key(deploy_key, run))
    again = http.post(deployments, json={"ref": "main"}, headers=with_key(deploy_key, run))
    other_ref = http.post(deployments, json={"ref": "v2"}, headers=with_key(deploy_key, run))

    assert first.status_code == again.status_code == 202, again.text
    assert again.content == first.content and again.headers[REPLAYED] == "true"
    assert_problem(other_ref, 422, "idempotency_key_reused")
    assert [d["id"] for d in items(http, deployments, owner)] == [first.json()["id"]]
    # The key is the pipeline's own: the owner sending it creates the owner's deployment.
    owners = http.post(deployments, json={"ref": "main"}, headers=with_key(owner, run))
    assert owners.status_code == 202 and REPLAYED not in owners.headers
    assert owners.json()["id"] != first.json()["id"]


def test_concurrent_retries_create_once(http: httpx.Client, server: DevServer, owner: str, org_id: str) -> None:
    key = str(uuid.uuid4())
    name = f"raced-{key[:8]}"
    before = len(items(http, f"/orgs/{org_id}/projects", owner))

    def post(_: int) -> httpx.Response:
        with server.client(source_ip=ADDRESS) as client:
            return client.post(f"/orgs/{org_id}/projects", json={"name": name}, headers=with_key(owner, key))

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(post, range(5)))

    created = [a for a in answers if a.status_code == 201 and REPLAYED not in a.headers]
    assert len(created) == 1, [(a.status_code, a.text) for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "idempotency_key_in_use")
            assert answer.headers["retry-after"] == "1"
        else:
            assert (answer.status_code, answer.content) == (201, created[0].content)
    projects = items(http, f"/orgs/{org_id}/projects", owner)
    assert len(projects) == before + 1 and [p["name"] for p in projects].count(name) == 1


def test_without_the_header_every_post_creates(http: httpx.Client, owner: str, org_id: str) -> None:
    name = f"twice-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "engine": "redis"}

    answers = [http.post(f"/orgs/{org_id}/databases", json=body, headers=bearer(owner)) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json()["id"] != answers[1].json()["id"]
    assert [d["name"] for d in items(http, f"/orgs/{org_id}/databases", owner)].count(name) == 2


def test_a_malformed_key_is_refused(http: httpx.Client, owner: str, org_id: str) -> None:
    answer = http.post(f"/orgs/{org_id}/projects", json={"name": "never"}, headers=with_key(owner, "k" * 256))

    problem = assert_problem(answer, 422, "validation_error")
    assert problem["errors"][0]["in"] == "header"
