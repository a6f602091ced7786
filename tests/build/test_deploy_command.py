"""`make deploy ENV=...`: the commands it runs (tools/deploy.py), what it refuses, and the
stages samconfig.toml defines, each checked against template.yaml and read back by the
SAM CLI's own parser. Nothing here reaches AWS: the SAM CLI is a recording stand-in."""

from __future__ import annotations

import json
import shlex
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from devserver.template import load_template
from tests.build.helpers import ROOT, SAM_PYTHON, sam_environment
from tools import deploy

pytestmark = pytest.mark.build

STAGES = ("dev", "prod")


def samconfig() -> dict[str, Any]:
    return deploy.read_config(deploy.SAMCONFIG)


def run_tool(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = deploy.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def fake_sam(tmp_path: Path) -> tuple[Path, Path]:
    """A SAM CLI that records each call (one JSON line of argv) and fails on `FAIL_ON`."""
    log = tmp_path / "calls.jsonl"
    script = tmp_path / "sam"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        f"with open({str(log)!r}, 'a') as handle:\n"
        "    handle.write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(3 if os.environ.get('FAIL_ON') == sys.argv[1] else 0)\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script, log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def ready_config(tmp_path: Path, stage: str) -> Path:
    """samconfig.toml with the stage's placeholders replaced, as an operator leaves it."""
    text = deploy.SAMCONFIG.read_text().replace("example.com", "kuploy.dev").replace("123456789012", "111122223333")
    path = tmp_path / "samconfig.toml"
    path.write_text(text)
    assert not deploy.placeholders(deploy.load_stage(deploy.read_config(path), stage), load_template())
    return path


# --- the Makefile ---------------------------------------------------------------------------


def make_lines(*arguments: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", "deploy", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "tools.deploy" in line]


@pytest.mark.parametrize("stage", STAGES)
def test_make_deploy_hands_the_stage_to_the_deploy_tool(stage: str):
    (line,) = make_lines(f"ENV={stage}")
    words = shlex.split(line)
    assert words[words.index("-m") + 1 :] == ["tools.deploy", "--sam", ".venv-sam/bin/sam", stage]


def test_make_deploy_without_env_leaves_the_refusal_to_the_tool():
    (line,) = make_lines()
    words = shlex.split(line)
    assert words[words.index("-m") + 1 :] == ["tools.deploy", "--sam", ".venv-sam/bin/sam"]
    (dry,) = make_lines("ENV=prod", "DRY_RUN=1")
    assert shlex.split(dry)[-2:] == ["--dry-run", "prod"]


# --- the commands ---------------------------------------------------------------------------


@pytest.mark.parametrize("stage", STAGES)
def test_the_commands_are_sam_build_then_sam_deploy_with_the_stage(capsys, stage: str):
    code, out, err = run_tool(capsys, "--sam", ".venv-sam/bin/sam", "--dry-run", stage)
    assert code == 0, err
    assert out.splitlines() == [
        f".venv-sam/bin/sam build --config-env {stage}",
        f".venv-sam/bin/sam deploy --config-env {stage}",
    ]
    assert f"stack kuploy-access-{stage} in us-east-1" in err


@pytest.mark.parametrize("stage", STAGES)
def test_a_ready_stage_runs_build_then_deploy(tmp_path, capsys, fake_sam, stage: str):
    sam, log = fake_sam
    config = ready_config(tmp_path, stage)
    code, _, err = run_tool(capsys, "--sam", str(sam), "--config", str(config), stage)
    assert code == 0, err
    chosen = ["--config-env", stage, "--config-file", str(config.resolve())]
    assert calls(log) == [["build", *chosen], ["deploy", *chosen]]


def test_a_failed_build_deploys_nothing(tmp_path, capsys, fake_sam, monkeypatch):
    sam, log = fake_sam
    monkeypatch.setenv("FAIL_ON", "build")
    code, _, _ = run_tool(capsys, "--sam", str(sam), "--config", str(ready_config(tmp_path, "dev")), "dev")
    assert code == 3
    assert [call[0] for call in calls(log)] == ["build"]


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [[], ["staging"], ["Dev"], [""]], ids=["missing", "unknown", "case", "empty"])
def test_a_missing_or_unknown_stage_is_refused(capsys, fake_sam, argv: list[str]):
    sam, log = fake_sam
    code, out, err = run_tool(capsys, "--sam", str(sam), *argv)
    assert code == 2
    assert out == ""
    assert "deploy refused" in err and "dev, prod" in err, err
    assert calls(log) == []


@pytest.mark.parametrize("stage", STAGES)
def test_placeholders_stop_a_real_deploy(capsys, fake_sam, stage: str):
    sam, log = fake_sam
    code, _, err = run_tool(capsys, "--sam", str(sam), stage)
    assert code == 2
    assert "placeholders" in err and "SenderEmail=" in err, err
    assert calls(log) == []


def stage_with(**changes: Any) -> deploy.Stage:
    base = deploy.load_stage(deploy.read_config(deploy.SAMCONFIG), "prod")
    settings = {**base.settings, **{k: v for k, v in changes.items() if k != "overrides"}}
    return deploy.Stage("prod", settings, {**base.overrides, **changes.get("overrides", {})})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"region": ""}, "region is not set"),
        ({"resolve_s3": False}, "nowhere to upload"),
        ({"capabilities": "CAPABILITY_AUTO_EXPAND"}, "CAPABILITY_IAM"),
        ({"overrides": {"LogLevl": "INFO"}}, "LogLevl is not a parameter"),
        ({"overrides": {"LogLevel": "TRACE"}}, "LogLevel='TRACE' is not one of"),
        ({"overrides": {"LogRetentionDays": "10"}}, "LogRetentionDays='10' is not one of"),
        ({"overrides": {"SessionIdleDays": "0"}}, "below 1"),
        ({"overrides": {"AlarmTopicArn": "oncall"}}, "an SNS topic ARN"),
        (
            {"overrides": {"ExistingSigningKeySecretArn": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:*"}},
            "a Secrets Manager secret ARN",
        ),
        ({"overrides": {"GitHubClientSecretName": "kuploy-access-dev/oauth/github"}}, "kuploy-access-prod/oauth/"),
        ({"overrides": {"ApiDomainName": "api.access.kuploy.dev"}}, "ApiDomainName and ApiCertificateArn"),
    ],
)
def test_what_cannot_deploy_is_named(changes: dict[str, Any], reason: str):
    found = deploy.problems(stage_with(**changes), load_template())
    assert any(reason in problem for problem in found), found


# --- every stage of samconfig.toml ------------------------------------------------------------


def test_a_parameter_without_a_default_must_be_given():
    template = load_template()
    template["Parameters"] = {**template["Parameters"], "NewSetting": {"Type": "String"}}
    assert "NewSetting has no default: set it in parameter_overrides" in deploy.problems(stage_with(), template)
    assert deploy.problems(stage_with(overrides={"NewSetting": "x"}), template) == []


def test_every_stage_has_what_a_deploy_needs():
    config = samconfig()
    assert set(STAGES) <= set(deploy.environments(config))
    template = load_template()
    for name in deploy.environments(config):
        stage = deploy.load_stage(config, name)
        assert deploy.problems(stage, template) == [], name
        # The same build settings as the deploy's environment (sam build --config-env).
        assert "build" in config[name], name


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_is_its_own_stack_with_its_own_settings(stage: str):
    loaded = deploy.load_stage(samconfig(), stage)
    assert loaded.stack_name == f"kuploy-access-{stage}"
    assert loaded.settings["s3_prefix"] == loaded.stack_name
    assert {"SenderEmail", "PublicBaseUrl", "LogLevel", "LogRetentionDays"} <= set(loaded.overrides)
    # prod shows its change set and waits for a yes; dev goes straight on.
    assert loaded.settings["confirm_changeset"] is (stage == "prod")


def test_prod_pages_a_topic_of_its_own():
    assert deploy.load_stage(samconfig(), "prod").overrides["AlarmTopicArn"].startswith("arn:aws:sns:")


def test_the_default_environment_still_serves_a_plain_sam_deploy():
    with deploy.SAMCONFIG.open("rb") as handle:
        default = tomllib.load(handle)["default"]
    assert default["global"]["parameters"]["stack_name"] == "kuploy-access"
    assert default["deploy"]["parameters"]["capabilities"] == "CAPABILITY_IAM"
    assert default["validate"]["parameters"]["lint"] is True


_SAM_READS = r"""
import json, sys
from samcli.cli.types import CfnParameterOverridesType
from samcli.lib.config.samconfig import SamConfig

config = SamConfig(sys.argv[1], "samconfig.toml")
found = {}
for stage in sys.argv[2:]:
    settings = config.get_all(["deploy"], "parameters", env=stage)
    overrides = CfnParameterOverridesType().convert(settings.get("parameter_overrides"), None, None)
    others = {k: v for k, v in settings.items() if k != "parameter_overrides"}
    found[stage] = {"settings": others, "overrides": overrides}
json.dump(found, sys.stdout)
"""


def test_the_sam_cli_reads_each_stage_as_the_tool_checks_it():
    stages = deploy.environments(samconfig())
    result = subprocess.run(
        [str(SAM_PYTHON), "-c", _SAM_READS, str(ROOT), *stages],
        cwd=ROOT,
        env=sam_environment(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    read = json.loads(result.stdout)
    for name in stages:
        ours = deploy.load_stage(samconfig(), name)
        assert read[name]["overrides"] == ours.overrides, name
        for setting in ("stack_name", "region", "capabilities", "resolve_s3", "confirm_changeset"):
            assert read[name]["settings"].get(setting) == ours.settings.get(setting), (name, setting)


def test_no_stage_builds_from_sams_cache():
    """SAM's cache keys an artifact on its CodeUri alone: a packaging/Makefile change would
    ship an artifact built by the old one."""
    config = tomllib.loads(deploy.SAMCONFIG.read_text(encoding="utf-8"))
    for name, sections in config.items():
        if isinstance(sections, dict) and "build" in sections:
            assert sections["build"]["parameters"].get("cached") is False, name
