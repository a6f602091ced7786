"""docs/ci.md, run: the commands a CI engineer copies from it work against the local
server exactly as written (issue 15, "Use it from CI").

The commands come out of the page itself, by the names in its `<!-- ci-doc: NAME -->`
comments: every `sh` block, the `run:` of the GitHub Actions step and the `script:` of
the GitLab CI job (both read with yaml.safe_load). Each runs in `bash -e` with only the
variables a CI would give it: GitHub's `${{ vars.X }}` and `${{ secrets.X }}` are
replaced as the runner replaces them, GitLab's CI/CD variables are in the environment.
Editing a command in the page changes what runs here.

Own accounts, and own client addresses: the person from 127.0.19.1, curl from
127.0.19.2 (set in a `.curlrc` of the test's own, so the page's commands stay as they
are; the server sees it as the client's address, `last_used_ip`).
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml

from kuploy_access.domain.permissions import SCOPE_PRESETS
from tests.e2e.helpers import PROJECT_ROOT, DevServer, bearer, logged_in

pytestmark = pytest.mark.e2e

PAGE = PROJECT_ROOT / "docs" / "ci.md"
PERSON_ADDRESS = "127.0.19.1"
CURL_ADDRESS = "127.0.19.2"
# A commit, as the runners give it.
COMMIT = "4f1c2d3e5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d"
# The blocks the page must hold, and nothing else runnable.
RUNNABLE = {
    "create-key",
    "read-org",
    "deploy",
    "list-deployments",
    "github-workflow",
    "gitlab-job",
    "forbidden",
    "rotate-key",
    "list-keys",
    "revoke-key",
}
CURL_FAILED = 22  # curl --fail-with-body on a 4xx or 5xx answer
REVOCATION_BOUND_S = 5.0

_BLOCK = re.compile(
    r"<!-- ci-doc: (?P<name>[a-z-]+) -->\n(?P<indent>[ ]*)```(?P<lang>\w+)\n(?P<body>.*?)\n(?P=indent)```", re.S
)
_FENCE = re.compile(r"^[ ]*```(\w+)$", re.M)


@dataclass(frozen=True)
class Block:
    lang: str
    text: str


def page_blocks() -> dict[str, Block]:
    blocks: dict[str, Block] = {}
    for found in _BLOCK.finditer(PAGE.read_text(encoding="utf-8")):
        indent = len(found["indent"])
        lines = [line[indent:] for line in found["body"].split("\n")]
        assert found["name"] not in blocks, f"two blocks named {found['name']}"
        blocks[found["name"]] = Block(found["lang"], "\n".join(lines) + "\n")
    return blocks


def github_step_script(workflow: str, values: dict[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """The one step's `run:` and its environment, with `${{ context.name }}` replaced from
    `values` as the runner does before the shell starts."""

    def evaluate(text: str) -> str:
        def value(found: re.Match[str]) -> str:
            context, name = found.group(1), found.group(2)
            assert name in values.get(context, {}), f"the test gives no {context}.{name}"
            return values[context][name]

        replaced = re.sub(r"\$\{\{\s*([a-z]+)\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}", value, text)
        assert "${{" not in replaced, f"an expression the test does not know: {text}"
        return replaced

    document = yaml.safe_load(workflow)
    (job,) = document["jobs"].values()
    steps = [step for step in job["steps"] if "run" in step]
    assert len(steps) == 1, steps
    step = steps[0]
    environment = {name: evaluate(str(text)) for name, text in {**job.get("env", {}), **step.get("env", {})}.items()}
    return evaluate(step["run"]), environment


def gitlab_job_script(pipeline: str) -> tuple[str, dict[str, str]]:
    """The job's `script:` lines (one shell, stopping at the first failure, as the runner
    runs them) and its own `variables:`."""
    document = yaml.safe_load(pipeline)
    jobs = {name: job for name, job in document.items() if isinstance(job, dict) and "script" in job}
    assert len(jobs) == 1, jobs
    (job,) = jobs.values()
    assert not job.get("before_script") and not job.get("after_script"), "the test runs `script:` only"
    return "\n".join(job["script"]), {name: str(value) for name, value in (job.get("variables") or {}).items()}


@dataclass
class Ci:
    """An organization with an application to deploy, a person who may make keys, and the
    page's variables as a CI gives them."""

    server: DevServer
    person: httpx.Client
    access_token: str
    org_id: str
    project_id: str
    app_id: str
    curl_home: Path
    blocks: dict[str, Block] = field(default_factory=page_blocks)
    key: dict[str, Any] = field(default_factory=dict)

    def variables(self, **more: str) -> dict[str, str]:
        return {
            "KUPLOY_API_URL": self.server.base_url,
            "KUPLOY_ORG_ID": self.org_id,
            "KUPLOY_PROJECT_ID": self.project_id,
            "KUPLOY_APP_ID": self.app_id,
            **more,
        }

    def run(self, script: str, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
        environment = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.curl_home),
            "CURL_HOME": str(self.curl_home),
            "LANG": "C.UTF-8",
            **variables,
        }
        return subprocess.run(
            ["bash", "-e", "-c", script],
            env=environment,
            cwd=self.curl_home,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def block(self, name: str, **variables: str) -> subprocess.CompletedProcess[str]:
        block = self.blocks[name]
        assert block.lang == "sh", name
        return self.run(block.text, self.variables(**variables))


def answer(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stdout} {result.stderr}"
    return json.loads(result.stdout)


def refusal(result: subprocess.CompletedProcess[str], status: int) -> str:
    """The problem document curl printed when it failed the step; answers its code."""
    assert result.returncode == CURL_FAILED, f"exit {result.returncode}: {result.stdout} {result.stderr}"
    problem = json.loads(result.stdout)
    assert problem["status"] == status, problem
    return str(problem["code"])


@pytest.fixture(scope="module")
def ci(server: DevServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ci]:
    curl_home = tmp_path_factory.mktemp("ci-doc")
    (curl_home / ".curlrc").write_text(f"interface = {CURL_ADDRESS}\n", encoding="utf-8")
    with server.client(source_ip=PERSON_ADDRESS) as person:
        _, tokens = logged_in(person, "Cid")
        token = tokens["access_token"]

        def made(path: str, body: dict[str, Any]) -> str:
            response = person.post(path, json=body, headers=bearer(token))
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        org_id = made("/orgs", {"name": f"CI {uuid.uuid4().hex[:8]}"})
        project_id = made(f"/orgs/{org_id}/projects", {"name": "web"})
        app_id = made(f"/orgs/{org_id}/projects/{project_id}/applications", {"name": "site"})
        state = Ci(server, person, token, org_id, project_id, app_id, curl_home)
        state.key = answer(state.block("create-key", KUPLOY_ACCESS_TOKEN=token))
        yield state


def test_the_page_names_every_runnable_block_and_nothing_runnable_is_left_out() -> None:
    blocks = page_blocks()
    assert set(blocks) == RUNNABLE
    text = PAGE.read_text(encoding="utf-8")
    shell_fences = [lang for lang in _FENCE.findall(text) if lang == "sh"]
    assert len(shell_fences) == sum(block.lang == "sh" for block in blocks.values()), "an sh block without a name"
    assert {blocks["github-workflow"].lang, blocks["gitlab-job"].lang} == {"yaml"}


def test_the_create_key_command_makes_a_deploy_key(ci: Ci) -> None:
    assert ci.key["key"].startswith("kpy_")
    assert ci.key["preset"] == "deploy"
    assert ci.key["scopes"] == sorted(SCOPE_PRESETS["deploy"])
    assert ci.key["expires_at"] is not None


def test_the_key_reads_the_organization_and_deploys(ci: Ci) -> None:
    key = ci.key["key"]
    assert answer(ci.block("read-org", KUPLOY_API_KEY=key))["id"] == ci.org_id
    queued = answer(ci.block("deploy", KUPLOY_API_KEY=key, DEPLOY_REF=COMMIT))
    assert queued["status"] == "queued" and queued["ref"] == COMMIT
    assert queued["requested_by"] == ci.key["id"]
    listed = answer(ci.block("list-deployments", KUPLOY_API_KEY=key))
    assert queued["id"] in [item["id"] for item in listed["items"]]


def test_the_github_actions_step_deploys_as_the_runner_would_run_it(ci: Ci) -> None:
    document = yaml.safe_load(ci.blocks["github-workflow"].text)
    assert document["jobs"]["deploy"]["environment"] == "production"
    assert all("secrets." not in step.get("run", "") for step in document["jobs"]["deploy"]["steps"]), (
        "the secret reaches the script through env:, never written into run:"
    )
    run, step_env = github_step_script(
        ci.blocks["github-workflow"].text,
        {
            "vars": ci.variables(),
            "secrets": {"KUPLOY_API_KEY": ci.key["key"]},
        },
    )
    runner = {"GITHUB_SHA": COMMIT, "GITHUB_RUN_ID": "9876543210", "GITHUB_RUN_ATTEMPT": "1"}
    queued = answer(ci.run(run, {**runner, **step_env}))
    assert queued["status"] == "queued" and queued["ref"] == COMMIT


def test_the_gitlab_ci_job_deploys_as_the_runner_would_run_it(ci: Ci) -> None:
    script, job_variables = gitlab_job_script(ci.blocks["gitlab-job"].text)
    project_variables = {**ci.variables(), "KUPLOY_API_KEY": ci.key["key"]}
    predefined = {
        "CI_COMMIT_SHA": COMMIT,
        "CI_PIPELINE_ID": "4242",
        "CI_JOB_ID": "424242",
        "CI_COMMIT_BRANCH": "main",
        "CI_DEFAULT_BRANCH": "main",
    }
    queued = answer(ci.run(script, {**predefined, **project_variables, **job_variables}))
    assert queued["status"] == "queued" and queued["ref"] == COMMIT


def test_refusals_carry_the_codes_the_page_explains(ci: Ci, signing_key: str) -> None:
    # No secret in the job: the header carries nothing.
    assert refusal(ci.block("read-org", KUPLOY_API_KEY=""), 401) == "unauthorized"
    # A key cut short: its checksum fails.
    assert refusal(ci.block("read-org", KUPLOY_API_KEY=ci.key["key"][:-1]), 401) == "invalid_token"
    # A person's access token that has expired.
    now = int(time.time())
    claims = {
        "iss": "https://access.kuploy.dev",
        "aud": "kuploy-api",
        "sub": "usr_01JCIDOCEXAMPLE",
        "sid": "ses_01JCIDOCEXAMPLE",
        "iat": now - 3600,
        "exp": now - 1800,
        "jti": "ci-doc-expired",
    }
    expired = jwt.encode(claims, signing_key.encode(), algorithm="HS256", headers={"typ": "at+jwt"})
    assert refusal(ci.block("read-org", KUPLOY_API_KEY=expired), 401) == "token_expired"
    # A deploy key creating a project.
    assert refusal(ci.block("forbidden", KUPLOY_API_KEY=ci.key["key"]), 403) == "forbidden"
    # Another organization's id: the key does not reveal it exists.
    assert refusal(ci.block("read-org", KUPLOY_API_KEY=ci.key["key"], KUPLOY_ORG_ID="org_01JCIDOCNOTHERS"), 404) == (
        "not_found"
    )


def test_rotation_with_a_grace_period_keeps_both_keys_until_the_old_one_is_revoked(ci: Ci) -> None:
    old = answer(ci.block("create-key", KUPLOY_ACCESS_TOKEN=ci.access_token))
    new = answer(ci.block("rotate-key", KUPLOY_ACCESS_TOKEN=ci.access_token, KUPLOY_API_KEY_ID=old["id"]))
    assert new["id"] != old["id"] and new["key"] != old["key"]
    assert (new["description"], new["scopes"]) == (old["description"], old["scopes"])

    # During the grace period both keys work, and the list shows which one is in use.
    assert answer(ci.block("read-org", KUPLOY_API_KEY=old["key"]))["id"] == ci.org_id
    assert answer(ci.block("read-org", KUPLOY_API_KEY=new["key"]))["id"] == ci.org_id
    listed = {item["id"]: item for item in answer(ci.block("list-keys", KUPLOY_ACCESS_TOKEN=ci.access_token))["items"]}
    assert listed[new["id"]]["last_used_ip"] == CURL_ADDRESS
    assert listed[new["id"]]["revoked_at"] is None
    assert listed[old["id"]]["revoked_at"] is not None, "the old key's end of grace"

    revoked = ci.block("revoke-key", KUPLOY_ACCESS_TOKEN=ci.access_token, KUPLOY_API_KEY_ID=old["id"])
    assert revoked.returncode == 0 and revoked.stdout == "", revoked
    deadline = time.monotonic() + REVOCATION_BOUND_S + 1
    while True:
        result = ci.block("read-org", KUPLOY_API_KEY=old["key"])
        if result.returncode == CURL_FAILED or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert refusal(result, 401) == "invalid_token"
    assert answer(ci.block("read-org", KUPLOY_API_KEY=new["key"]))["id"] == ci.org_id
