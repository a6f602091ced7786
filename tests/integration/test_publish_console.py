"""tools/publish_console.py on moto (S3, CloudFront); the stack's outputs from a stubbed CloudFormation."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from kuploy_access.http.console_headers import CONSOLE_CACHE_CONTROL, CONSOLE_CONTENT_TYPES
from tools.publish_console import PublishRefused, console_files, main, publish

BUCKET = "kuploy-access-console-test"
STACK = "kuploy-access-test"

FILES = {
    "index.html": b"<!doctype html><title>Kuploy</title><script type=module src=/assets/app.js></script>",
    "assets/app.js": b"import './lib/api.js';\n",
    "assets/console.css": b"body { margin: 0 }\n",
    "assets/lib/api.js": b"export const api = 1;\n",
    "assets/pages/team.js": b"export const team = 1;\n",
    "assets/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>",
    "favicon.ico": b"\x00\x00\x01\x00",
}


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        cloudfront = boto3.client("cloudfront", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        distribution = cloudfront.create_distribution(
            DistributionConfig={
                "CallerReference": "publish-console-test",
                "Comment": "",
                "Enabled": True,
                "Origins": {
                    "Quantity": 1,
                    "Items": [
                        {
                            "Id": "console",
                            "DomainName": f"{BUCKET}.s3.us-east-1.amazonaws.com",
                            "S3OriginConfig": {"OriginAccessIdentity": ""},
                        }
                    ],
                },
                "DefaultCacheBehavior": {
                    "TargetOriginId": "console",
                    "ViewerProtocolPolicy": "redirect-to-https",
                    "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6",
                },
            }
        )
        yield {"s3": s3, "cloudfront": cloudfront, "distribution_id": distribution["Distribution"]["Id"]}


@pytest.fixture
def console(tmp_path: Path) -> Path:
    source = tmp_path / "console"
    for name, content in FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    return source


def bucket_keys(s3: Any) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def run(console: Path, aws: dict[str, Any]) -> Any:
    return publish(console, BUCKET, aws["distribution_id"], aws["s3"], aws["cloudfront"], out=io.StringIO())


def test_every_file_goes_up_with_its_content_type_and_cache_control(console: Path, aws: dict[str, Any]):
    report = run(console, aws)

    assert set(report.uploaded) == set(FILES)
    assert bucket_keys(aws["s3"]) == set(FILES)
    for key, content in FILES.items():
        answer = aws["s3"].get_object(Bucket=BUCKET, Key=key)
        assert answer["Body"].read() == content, key
        assert answer["ContentType"] == CONSOLE_CONTENT_TYPES[Path(key).suffix], key
        assert answer["CacheControl"] == CONSOLE_CACHE_CONTROL == "no-cache", key
    assert aws["s3"].head_object(Bucket=BUCKET, Key="assets/app.js")["ContentType"] == "text/javascript; charset=utf-8"
    assert aws["s3"].head_object(Bucket=BUCKET, Key="index.html")["ContentType"] == "text/html; charset=utf-8"


def test_index_html_goes_up_last(console: Path, aws: dict[str, Any]):
    """A new index.html never names a module the bucket does not hold yet."""
    assert run(console, aws).uploaded[-1] == "index.html"


def test_files_no_longer_in_the_console_are_deleted(console: Path, aws: dict[str, Any]):
    for stale in ("assets/old-page.js", "assets/lib/removed.js", "notes.txt"):
        aws["s3"].put_object(Bucket=BUCKET, Key=stale, Body=b"old")
    aws["s3"].put_object(Bucket=BUCKET, Key="assets/app.js", Body=b"previous version")

    report = run(console, aws)

    assert sorted(report.deleted) == ["assets/lib/removed.js", "assets/old-page.js", "notes.txt"]
    assert bucket_keys(aws["s3"]) == set(FILES)
    assert aws["s3"].get_object(Bucket=BUCKET, Key="assets/app.js")["Body"].read() == FILES["assets/app.js"]


def test_the_distribution_is_invalidated(console: Path, aws: dict[str, Any]):
    report = run(console, aws)

    invalidation = aws["cloudfront"].get_invalidation(DistributionId=aws["distribution_id"], Id=report.invalidation_id)
    assert invalidation["Invalidation"]["InvalidationBatch"]["Paths"]["Items"] == ["/*"]
    # A second publish is a second invalidation (its own caller reference).
    second = run(console, aws)
    assert second.invalidation_id != report.invalidation_id


def test_what_it_did_is_printed(console: Path, aws: dict[str, Any]):
    aws["s3"].put_object(Bucket=BUCKET, Key="assets/gone.js", Body=b"old")
    out = io.StringIO()

    publish(console, BUCKET, aws["distribution_id"], aws["s3"], aws["cloudfront"], out=out)

    printed = out.getvalue()
    assert f"uploaded  s3://{BUCKET}/assets/app.js (text/javascript; charset=utf-8)" in printed
    assert f"deleted   s3://{BUCKET}/assets/gone.js" in printed
    assert f"invalidated /* on distribution {aws['distribution_id']}" in printed
    assert f"{len(FILES)} uploaded, 1 deleted" in printed


def test_a_link_out_of_the_source_stops_the_publish_before_any_upload(
    console: Path, aws: dict[str, Any], tmp_path: Path
):
    secret = tmp_path / "secret.js"
    secret.write_text("the operator's credentials")
    (console / "assets" / "innocent.js").symlink_to(secret)
    aws["s3"].put_object(Bucket=BUCKET, Key="index.html", Body=b"live")

    with pytest.raises(PublishRefused, match="leads outside"):
        run(console, aws)

    assert bucket_keys(aws["s3"]) == {"index.html"}
    assert aws["s3"].get_object(Bucket=BUCKET, Key="index.html")["Body"].read() == b"live"


def test_a_linked_directory_out_of_the_source_stops_the_publish(console: Path, aws: dict[str, Any], tmp_path: Path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "stolen.js").write_text("not the console's")
    (console / "assets" / "vendor").symlink_to(outside, target_is_directory=True)

    with pytest.raises(PublishRefused, match="leads outside"):
        run(console, aws)

    assert bucket_keys(aws["s3"]) == set()


def test_links_that_stay_inside_the_source_are_published(console: Path, aws: dict[str, Any]):
    (console / "assets" / "main.js").symlink_to(console / "assets" / "app.js")
    (console / "assets" / "loop").symlink_to(console / "assets", target_is_directory=True)

    report = run(console, aws)

    assert "assets/main.js" in report.uploaded
    assert aws["s3"].get_object(Bucket=BUCKET, Key="assets/main.js")["Body"].read() == FILES["assets/app.js"]
    assert not [key for key in report.uploaded if key.startswith("assets/loop/")]


def test_a_source_without_index_html_is_not_the_console(tmp_path: Path, aws: dict[str, Any]):
    """Publishing the wrong directory would delete the live console: refused."""
    wrong = tmp_path / "dist"
    wrong.mkdir()
    (wrong / "app.js").write_text("")
    aws["s3"].put_object(Bucket=BUCKET, Key="index.html", Body=b"live")

    with pytest.raises(PublishRefused, match=r"no index\.html"):
        run(wrong, aws)
    with pytest.raises(PublishRefused, match="not a directory"):
        run(tmp_path / "missing", aws)

    assert bucket_keys(aws["s3"]) == {"index.html"}


def test_a_file_without_a_known_type_stops_the_publish(console: Path, aws: dict[str, Any]):
    """The console is served with nosniff: a guessed type could break it."""
    (console / "assets" / "data.bin").write_bytes(b"\x00")

    with pytest.raises(PublishRefused, match=r"assets/data\.bin"):
        run(console, aws)

    assert bucket_keys(aws["s3"]) == set()


def test_hidden_files_stay_home(console: Path, tmp_path: Path):
    (console / ".DS_Store").write_bytes(b"\x00")
    (console / ".elsewhere").symlink_to(tmp_path, target_is_directory=True)  # not even looked into
    (console / "assets" / ".app.js.swp").write_bytes(b"\x00")
    (console / ".cache").mkdir()
    (console / ".cache" / "x.js").write_text("")

    keys = [file.key for file in console_files(console)]

    assert sorted(keys) == sorted(FILES)


@contextmanager
def stack_outputs(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, str]) -> Iterator[None]:
    """DescribeStacks answers a stack with these outputs (moto's CloudFormation would
    load every service it can deploy, API Gateway's OpenAPI validator included; the
    Stubber checks the request and the answer against CloudFormation's own model)."""
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    stubber = Stubber(cloudformation)
    stubber.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": STACK,
                    "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in outputs.items()],
                }
            ]
        },
        {"StackName": STACK},
    )
    real_client: Any = boto3.Session.client

    def client(self: boto3.Session, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if service_name == "cloudformation":
            return cloudformation
        return real_client(self, service_name, *args, **kwargs)

    monkeypatch.setattr(boto3.Session, "client", client)
    with stubber:
        yield
        stubber.assert_no_pending_responses()


def test_main_reads_the_bucket_and_distribution_from_the_stack(
    console: Path, aws: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    outputs = {"ApiUrl": "https://x", "ConsoleBucketName": BUCKET, "ConsoleDistributionId": aws["distribution_id"]}
    with stack_outputs(monkeypatch, outputs):
        assert main(["--stack-name", STACK, "--source", str(console)]) == 0

    assert bucket_keys(aws["s3"]) == set(FILES)
    assert f"invalidated /* on distribution {aws['distribution_id']}" in capsys.readouterr().out
    listed = aws["cloudfront"].list_invalidations(DistributionId=aws["distribution_id"])["InvalidationList"]
    assert listed["Quantity"] == 1


def test_main_takes_the_bucket_and_distribution_as_flags(console: Path, aws: dict[str, Any]):
    argv = ["--bucket", BUCKET, "--distribution-id", aws["distribution_id"], "--source", str(console)]
    assert main(argv) == 0
    assert bucket_keys(aws["s3"]) == set(FILES)


def test_main_refuses_a_stack_without_the_console_outputs(
    console: Path, aws: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    """A stack deployed from a template before the console's resources."""
    with stack_outputs(monkeypatch, {"ApiUrl": "https://x", "TableName": "t"}):
        assert main(["--stack-name", STACK, "--source", str(console)]) == 2

    assert "ConsoleBucketName, ConsoleDistributionId" in capsys.readouterr().err
    assert bucket_keys(aws["s3"]) == set()


def test_main_reports_aws_refusals_without_a_traceback(
    console: Path, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
):
    argv = ["--bucket", "no-such-bucket", "--distribution-id", aws["distribution_id"], "--source", str(console)]
    assert main(argv) == 1
    assert "NoSuchBucket" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--stack-name", STACK, "--bucket", BUCKET, "--distribution-id", "E1"],
        ["--bucket", BUCKET],
        ["--distribution-id", "E1"],
    ],
)
def test_main_wants_a_stack_or_both_flags(argv: list[str]):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2


def test_the_default_source_is_the_repository_s_console_directory():
    from tools import publish_console

    parsed = publish_console._arguments(["--stack-name", STACK])
    assert parsed.source == Path(os.path.dirname(publish_console.__file__)).parent / "console"


# --- in a git work tree: what git tracks, and only when console/ is committed --------------


def git(repository: Path, *arguments: str) -> str:
    answer = subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *arguments],
        cwd=repository,
        check=True,
        capture_output=True,
        text=True,
    )
    return answer.stdout


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A repository holding the console at console/ (and more), everything committed."""
    repository = tmp_path / "repo"
    source = repository / "console"
    for name, content in FILES.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_bytes(content)
    (repository / "README.md").write_text("# the project\n")
    (repository / ".gitignore").write_text("*.log\n")
    git(repository, "init", "--quiet")
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--message", "the console")
    return source


def test_in_a_clean_checkout_exactly_the_tracked_files_go_up(checkout: Path, aws: dict[str, Any]):
    (checkout / "assets" / "debug.log").write_text("ignored by git: no type, yet no refusal")

    report = run(checkout, aws)

    assert sorted(report.uploaded) == sorted(FILES)
    assert bucket_keys(aws["s3"]) == set(FILES)


def test_a_stray_file_in_the_checkout_stops_the_publish(checkout: Path, aws: dict[str, Any]):
    """A file nobody committed (a draft, a local config) must not become public."""
    (checkout / "assets" / "scratch.js").write_text("const token = 'mine';")
    aws["s3"].put_object(Bucket=BUCKET, Key="index.html", Body=b"live")

    with pytest.raises(PublishRefused, match=r"(?s)uncommitted changes.*console/assets/scratch\.js.*--allow-dirty"):
        run(checkout, aws)

    assert bucket_keys(aws["s3"]) == {"index.html"}


def test_an_uncommitted_edit_stops_the_publish(checkout: Path, aws: dict[str, Any]):
    (checkout / "assets" / "app.js").write_text("// not reviewed yet\n")

    with pytest.raises(PublishRefused, match=r"console/assets/app\.js"):
        run(checkout, aws)

    assert bucket_keys(aws["s3"]) == set()


def test_allow_dirty_publishes_the_tracked_files_as_they_are_and_never_a_stray_one(checkout: Path, aws: dict[str, Any]):
    (checkout / "assets" / "app.js").write_text("// edited\n")
    (checkout / "assets" / "scratch.js").write_text("const token = 'mine';")

    report = publish(
        checkout, BUCKET, aws["distribution_id"], aws["s3"], aws["cloudfront"], out=io.StringIO(), allow_dirty=True
    )

    assert sorted(report.uploaded) == sorted(FILES)
    assert aws["s3"].get_object(Bucket=BUCKET, Key="assets/app.js")["Body"].read() == b"// edited\n"


def test_changes_outside_the_console_do_not_matter(checkout: Path, aws: dict[str, Any]):
    (checkout.parent / "README.md").write_text("# edited\n")
    (checkout.parent / "notes.txt").write_text("untracked, outside console/")

    assert sorted(run(checkout, aws).uploaded) == sorted(FILES)


def test_a_deleted_tracked_file_stops_the_publish(checkout: Path, aws: dict[str, Any]):
    (checkout / "assets" / "logo.svg").unlink()

    with pytest.raises(PublishRefused, match=r"console/assets/logo\.svg"):
        run(checkout, aws)


def test_main_refuses_a_dirty_console_with_exit_2_unless_allowed(
    checkout: Path, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
):
    (checkout / "assets" / "scratch.js").write_text("const token = 'mine';")
    argv = ["--bucket", BUCKET, "--distribution-id", aws["distribution_id"], "--source", str(checkout)]

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "uncommitted changes" in err and "console/assets/scratch.js" in err and "--allow-dirty" in err
    assert bucket_keys(aws["s3"]) == set()

    assert main([*argv, "--allow-dirty"]) == 0
    assert bucket_keys(aws["s3"]) == set(FILES)


def test_a_repository_git_cannot_read_stops_the_publish(console: Path, aws: dict[str, Any]):
    """Taking a git failure for "no repository" would publish every file: refused."""
    (console / ".git").write_text("gitdir: /nonexistent/worktree\n")

    with pytest.raises(PublishRefused, match="git rev-parse"):
        run(console, aws)

    assert bucket_keys(aws["s3"]) == set()
