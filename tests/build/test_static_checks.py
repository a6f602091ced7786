"""The reviewers' tools, run on every `make test`: cfn-lint (every rule, informational ones
included) and checkov on template.yaml, bandit on the code, detect-secrets on every file
git tracks. A finding fails the build; a finding that is wrong for this project is
suppressed where it is, with the reason beside it (template.yaml's `Metadata: checkov`,
`# nosec <id> - <reason>`, the audited `.secrets.baseline`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.build.helpers import ROOT, SAM_VENV, TEMPLATE

CHECKOV_BIN = ROOT / ".venv-checks" / "bin" / "checkov"
CODE = ["shared", "functions", "devserver", "tools", "bin", "bench"]
SECRETS_BASELINE = ROOT / ".secrets.baseline"


def _run(command: list[str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    executable = Path(command[0])
    assert executable.is_file(), f"{executable} is missing: `make test` installs it (Makefile)"
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False)


def test_cfn_lint_finds_nothing_in_the_template_informational_rules_included():
    result = _run([str(SAM_VENV / "bin" / "cfn-lint"), "--include-checks", "I", "--format", "parseable", str(TEMPLATE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def _checkov() -> dict[str, Any]:
    result = _run(
        [str(CHECKOV_BIN), "--file", str(TEMPLATE), "--framework", "cloudformation", "--output", "json"],
    )
    assert result.returncode in (0, 1), result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def test_checkov_passes_the_template_and_every_suppression_says_why():
    report = _checkov()
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in results["failed_checks"]]
    assert failed == [], "\n".join(failed)
    assert report["summary"]["parsing_errors"] == 0
    assert results["passed_checks"], "checkov read no resource of the template"
    unexplained = [
        f"{c['check_id']} {c['resource']}"
        for c in results["skipped_checks"]
        if len(str(c["check_result"].get("suppress_comment") or "").split()) < 8
    ]
    assert unexplained == [], f"suppressed without a written reason: {unexplained}"


def test_bandit_finds_nothing_in_the_code():
    bandit = Path(sys.executable).parent / "bandit"
    result = _run([str(bandit), "--configfile", "pyproject.toml", "--format", "json", "--quiet", "-r", *CODE])
    report = json.loads(result.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}" for r in report["results"]]
    assert findings == [], "\n".join(findings)
    assert report["errors"] == [], report["errors"]
    assert result.returncode == 0, result.stderr
    scanned = report["metrics"]["_totals"]["loc"]
    assert scanned > 10_000, f"bandit read only {scanned} lines"


def _secrets(baseline: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (filename, finding["type"], finding["hashed_secret"])
        for filename, findings in baseline["results"].items()
        for finding in findings
    }


def test_no_secret_in_any_tracked_file_beyond_the_audited_baseline(tmp_path: Path):
    """detect-secrets over every file git tracks, with the baseline's settings. What the
    baseline holds was audited as not a secret (test passwords, placeholder ARNs, alphabets);
    anything new fails until it is removed or audited (README, "Static checks")."""
    recorded = json.loads(SECRETS_BASELINE.read_text(encoding="utf-8"))
    unaudited = [
        f"{filename}:{finding['line_number']} {finding['type']}"
        for filename, findings in recorded["results"].items()
        for finding in findings
        if finding.get("is_secret") is not False
    ]
    assert unaudited == [], f"baseline entries nobody audited: {unaudited}"
    rescan = tmp_path / "baseline.json"
    shutil.copy(SECRETS_BASELINE, rescan)
    detect_secrets = Path(sys.executable).parent / "detect-secrets"
    result = _run([str(detect_secrets), "scan", "--baseline", str(rescan)])
    assert result.returncode == 0, result.stderr
    found = json.loads(rescan.read_text(encoding="utf-8"))
    new = sorted(_secrets(found) - _secrets(recorded))
    where = {
        (filename, f["type"], f["hashed_secret"]): f["line_number"]
        for filename, findings in found["results"].items()
        for f in findings
    }
    assert new == [], "possible secrets: " + ", ".join(f"{n[0]}:{where[n]} ({n[1]})" for n in new)
