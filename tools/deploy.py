"""Deploys one stage: `sam build`, then `sam deploy`, with samconfig.toml's settings for it.

    python -m tools.deploy dev [--dry-run] [--sam PATH] [--config samconfig.toml]
    make deploy ENV=dev                 (DRY_RUN=1 prints the commands instead)

The stage is an environment of samconfig.toml (a table with deploy parameters: `dev`,
`prod`, `default`). Before anything runs, the environment is checked against
template.yaml, so that a mistake stops here rather than in a half-made change set:

- the settings a deploy needs: a stack name, a region, the IAM capability (the stack
  creates roles), and somewhere for the artifacts (resolve_s3 or s3_bucket);
- every parameter override names a parameter of the template, with a value its
  AllowedValues, AllowedPattern or MinValue/MaxValue accepts, and the template's Rules
  hold (a custom domain and its certificate together);
- the OAuth client secrets sit under `<stack name>/oauth/`, the only ones the stack's
  OAuth function may read;
- no value the stage would deploy is still a placeholder (example.com, the account
  123456789012), its own or a template default: emailed links and alarms would point
  nowhere. `--dry-run` lists them and prints the commands anyway.

An unknown or missing stage is refused with the list of those samconfig.toml defines.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devserver.template import load_template

ROOT = Path(__file__).resolve().parent.parent
SAMCONFIG = ROOT / "samconfig.toml"
TEMPLATE = ROOT / "template.yaml"
# What a placeholder holds: the documentation domain and AWS's documentation account.
PLACEHOLDER_MARKS = ("example.com", "123456789012")
REQUIRED_SETTINGS = ("stack_name", "region", "capabilities")
# Parameters naming a Secrets Manager secret the OAuth function reads (under <stack>/oauth/).
OAUTH_SECRET_PARAMETER = re.compile(r"^\w+ClientSecretName$")


class DeployRefused(Exception):
    """The stage cannot be deployed as samconfig.toml describes it; nothing ran."""


@dataclass(frozen=True)
class Stage:
    name: str
    # The global and deploy parameters of its environment (deploy's win, as in SAM).
    settings: dict[str, Any]
    # Its parameter_overrides, parsed.
    overrides: dict[str, str]

    @property
    def stack_name(self) -> str:
        return str(self.settings.get("stack_name", ""))


def read_config(path: Path = SAMCONFIG) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def environments(config: Mapping[str, Any]) -> list[str]:
    """The environments a deploy can use: those with deploy parameters."""
    return [name for name, table in config.items() if isinstance(table, dict) and "deploy" in table]


def parse_overrides(value: Any) -> dict[str, str]:
    """`parameter_overrides` as SAM reads it: a list of `Key=Value` strings or one string
    of them, space-separated, a value quoted when it holds spaces."""
    items = [value] if isinstance(value, str) else list(value or [])
    overrides: dict[str, str] = {}
    for item in items:
        for pair in shlex.split(str(item)):
            key, separator, text = pair.partition("=")
            if not separator or not key:
                raise DeployRefused(f"parameter_overrides: {pair!r} is not Key=Value")
            overrides[key] = text
    return overrides


def load_stage(config: Mapping[str, Any], name: str | None) -> Stage:
    known = environments(config)
    if not name:
        raise DeployRefused(
            f"name the stage to deploy, e.g. make deploy ENV=dev (samconfig.toml's: {', '.join(known)})"
        )
    if name not in known:
        raise DeployRefused(f"samconfig.toml has no deploy settings for {name!r} (its stages: {', '.join(known)})")
    table = config[name]
    settings = {**table.get("global", {}).get("parameters", {}), **table["deploy"].get("parameters", {})}
    return Stage(name, settings, parse_overrides(settings.get("parameter_overrides")))


def parameter_values(stage: Stage, template: Mapping[str, Any]) -> dict[str, str]:
    """What each template parameter would be: its override, else its default."""
    values = {
        name: str(spec["Default"])
        for name, spec in (template.get("Parameters") or {}).items()
        if spec.get("Default") is not None
    }
    return values | stage.overrides


def evaluate(expression: Any, parameters: Mapping[str, str], conditions: Mapping[str, Any] | None = None) -> Any:
    """A rule's or condition's value: Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition and
    Ref to a parameter, as CloudFormation evaluates them."""
    if not isinstance(expression, dict) or len(expression) != 1:
        return str(expression) if isinstance(expression, int | float) else expression
    ((function, argument),) = expression.items()
    if function == "Ref":
        return parameters[argument]
    if function == "Condition":
        return bool(evaluate((conditions or {})[argument], parameters, conditions))
    values = [evaluate(item, parameters, conditions) for item in argument]
    if function == "Fn::Equals":
        return values[0] == values[1]
    if function == "Fn::Not":
        return not values[0]
    if function == "Fn::And":
        return all(values)
    if function == "Fn::Or":
        return any(values)
    raise ValueError(f"cannot evaluate {function}")


def _value_problem(name: str, value: str, spec: Mapping[str, Any]) -> str | None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in [str(item) for item in allowed]:
        return f"{name}={value!r} is not one of {', '.join(map(str, allowed))}"
    pattern = spec.get("AllowedPattern")
    if pattern is not None and not re.fullmatch(pattern, value):
        return f"{name}={value!r}: {spec.get('ConstraintDescription', 'does not match ' + pattern)}"
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            return f"{name}={value!r} is not a number"
        if "MinValue" in spec and number < float(spec["MinValue"]):
            return f"{name}={value!r} is below {spec['MinValue']}"
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            return f"{name}={value!r} is above {spec['MaxValue']}"
    return None


def problems(stage: Stage, template: Mapping[str, Any]) -> list[str]:
    """Why this stage cannot be deployed (empty: it can)."""
    found = [f"{setting} is not set" for setting in REQUIRED_SETTINGS if not stage.settings.get(setting)]
    if not stage.settings.get("resolve_s3") and not stage.settings.get("s3_bucket"):
        found.append("neither resolve_s3 nor s3_bucket is set: sam deploy has nowhere to upload the code")
    if "CAPABILITY_IAM" not in str(stage.settings.get("capabilities", "")):
        found.append("capabilities lacks CAPABILITY_IAM (the stack creates the functions' roles)")
    specs: dict[str, Any] = template.get("Parameters") or {}
    found += [
        f"{name} has no default: set it in parameter_overrides"
        for name, spec in specs.items()
        if spec.get("Default") is None and name not in stage.overrides
    ]
    for name, value in stage.overrides.items():
        if name not in specs:
            found.append(f"{name} is not a parameter of template.yaml")
        elif problem := _value_problem(name, value, specs[name]):
            found.append(problem)
        elif OAUTH_SECRET_PARAMETER.match(name) and value and not value.startswith(f"{stage.stack_name}/oauth/"):
            found.append(f"{name}={value!r} is not under {stage.stack_name}/oauth/, which the OAuth function may read")
    if not found:
        values = parameter_values(stage, template)
        for rule in (template.get("Rules") or {}).values():
            for assertion in rule.get("Assertions", []):
                if not evaluate(assertion["Assert"], values):
                    found.append(assertion.get("AssertDescription", "a rule of template.yaml fails"))
    return found


def placeholders(stage: Stage, template: Mapping[str, Any]) -> list[str]:
    """The values this stage would deploy that are still placeholders."""
    return [
        f"{name}={value}"
        for name, value in parameter_values(stage, template).items()
        if any(mark in value for mark in PLACEHOLDER_MARKS)
    ]


def commands(stage: str, sam: str = "sam", config_file: Path | None = None) -> list[list[str]]:
    """`sam build` then `sam deploy`, both with the stage's environment."""
    chosen = ["--config-env", stage]
    if config_file is not None and config_file.resolve() != SAMCONFIG:
        chosen += ["--config-file", str(config_file.resolve())]
    return [[sam, "build", *chosen], [sam, "deploy", *chosen]]


def check(stage: Stage, template: Mapping[str, Any], dry_run: bool) -> list[str]:
    """The stage's placeholders (to warn of on a dry run); DeployRefused when it cannot go."""
    found = problems(stage, template)
    if found:
        raise DeployRefused(f"samconfig.toml [{stage.name}] cannot be deployed:\n  " + "\n  ".join(found))
    unset = placeholders(stage, template)
    if unset and not dry_run:
        raise DeployRefused(
            f"samconfig.toml [{stage.name}] still holds placeholders; set them first:\n  " + "\n  ".join(unset)
        )
    return unset


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.deploy", description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", help="an environment of samconfig.toml (dev, prod)")
    parser.add_argument("--dry-run", action="store_true", help="check, print the commands, run nothing")
    parser.add_argument("--sam", default="sam", help="the SAM CLI to run (default: sam on PATH)")
    parser.add_argument("--config", type=Path, default=SAMCONFIG, help="the samconfig file")
    arguments = parser.parse_args(argv)

    template = load_template(TEMPLATE)
    try:
        stage = load_stage(read_config(arguments.config), arguments.stage)
        unset = check(stage, template, arguments.dry_run)
    except DeployRefused as refusal:
        print(f"deploy refused: {refusal}", file=sys.stderr)
        return 2
    for value in unset:
        print(f"placeholder (a real deploy refuses it): {value}", file=sys.stderr)
    print(f"stage {stage.name}: stack {stage.stack_name} in {stage.settings['region']}", file=sys.stderr)
    for command in commands(stage.name, arguments.sam, arguments.config):
        print(shlex.join(command), flush=True)
        if not arguments.dry_run:
            completed = subprocess.run(command, cwd=ROOT, check=False)
            if completed.returncode != 0:
                return completed.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
