"""Publishes the web console (the static files under console/) to the stack's bucket.

    python -m tools.publish_console --stack-name kuploy-access
    python -m tools.publish_console --bucket NAME --distribution-id ID [--source console]

Uploads every file under the source directory with its Content-Type and
Cache-Control (kuploy_access.http.console_headers), index.html last so that a new
page never names a file not yet uploaded; deletes what the bucket holds that the
source no longer does; then invalidates the distribution (`/*`). The bucket and the
distribution come from the stack's outputs (ConsoleBucketName, ConsoleDistributionId)
or from the flags. Nothing outside the source directory is read: a symbolic link that
leads out of it stops the publish before anything is uploaded.

In a git work tree (the repository's console/), only the files git tracks go up, so a
stray local file (a draft, a local config, a debug dump) never becomes public; and
uncommitted changes under the source (`git status --porcelain`: edits, deletions,
untracked files) stop the publish unless `--allow-dirty`, so what is live is what was
committed. Outside a work tree (an unpacked release), every file goes up.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "shared") not in sys.path:
    sys.path.insert(0, str(ROOT / "shared"))

from kuploy_access.http.console_headers import CONSOLE_CACHE_CONTROL, CONSOLE_CONTENT_TYPES  # noqa: E402

ENTRY_PAGE = "index.html"
BUCKET_OUTPUT = "ConsoleBucketName"
DISTRIBUTION_OUTPUT = "ConsoleDistributionId"
# What DeleteObjects takes at once.
_DELETE_BATCH = 1000


class PublishRefused(Exception):
    """The source cannot be published as it is; nothing was uploaded."""


# The few calls made of each client (boto3's clients are untyped without their stubs).
class S3Client(Protocol):
    def put_object(self, **kwargs: Any) -> Any: ...
    def delete_objects(self, **kwargs: Any) -> Any: ...
    def get_paginator(self, operation_name: str) -> Any: ...


class CloudFrontClient(Protocol):
    def create_invalidation(self, **kwargs: Any) -> Any: ...


class CloudFormationClient(Protocol):
    def describe_stacks(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class ConsoleFile:
    key: str
    path: Path
    content_type: str


@dataclass
class PublishReport:
    uploaded: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    invalidation_id: str = ""


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _hidden(name: str) -> bool:
    """.DS_Store, editor swap files, .gitkeep, .cache/: never served, never read."""
    return name.startswith(".")


def _walk(root: Path) -> Iterator[Path]:
    """Every file under root, following links that stay inside it (and no further)."""
    seen: set[Path] = set()
    for directory, subdirectories, files in os.walk(root, followlinks=True):
        real = Path(directory).resolve()
        if not _inside(real, root):
            raise PublishRefused(f"{directory} leads outside {root}")
        if real in seen:  # a link back up the tree: walked once already
            subdirectories.clear()
            continue
        seen.add(real)
        subdirectories[:] = sorted(name for name in subdirectories if not _hidden(name))
        for name in sorted(files):
            if not _hidden(name):
                yield Path(directory) / name


def _git(directory: Path, *arguments: str) -> subprocess.CompletedProcess[bytes]:
    # Untranslated messages: "not a git repository" is read below.
    environment = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(["git", *arguments], cwd=directory, capture_output=True, check=False, env=environment)


def _work_tree(root: Path) -> Path | None:
    """The top of the git work tree holding `root`; None outside one (or without git).
    Any other failure of git (a repository it refuses to read, say) refuses the publish:
    taking it for "no repository" would publish every file."""
    try:
        answer = _git(root, "rev-parse", "--show-toplevel")
    except FileNotFoundError:
        return None
    if answer.returncode != 0:
        message = answer.stderr.decode(errors="replace").strip()
        if "not a git repository (or any" in message:  # none here nor above
            return None
        raise PublishRefused(f"git rev-parse --show-toplevel: {message}")
    return Path(os.fsdecode(answer.stdout.strip())).resolve()


def _git_or_refuse(top: Path, *arguments: str) -> bytes:
    answer = _git(top, *arguments)
    if answer.returncode != 0:
        raise PublishRefused(f"git {' '.join(arguments)}: {answer.stderr.decode(errors='replace').strip()}")
    return answer.stdout


def _tracked(root: Path, allow_dirty: bool) -> set[str] | None:
    """The paths under `root` (relative to it) that git tracks, None outside a work tree.
    Refuses uncommitted changes under `root` unless `allow_dirty`."""
    top = _work_tree(root)
    if top is None:
        return None
    pathspec = root.relative_to(top).as_posix()  # "." for the top itself
    if not allow_dirty:
        status = _git_or_refuse(top, "status", "--porcelain", "--untracked-files=all", "--", pathspec)
        changes = os.fsdecode(status).splitlines()
        if changes:
            listed = "\n  ".join(changes[:20]) + ("\n  ..." if len(changes) > 20 else "")
            raise PublishRefused(
                f"{pathspec}/ has uncommitted changes (git status --porcelain):\n  {listed}\n"
                "commit or remove them, or publish the tracked files as they are with --allow-dirty"
            )
    prefix = "" if pathspec == "." else f"{pathspec}/"
    listed_files = _git_or_refuse(top, "ls-files", "-z", "--", pathspec).split(b"\0")
    return {os.fsdecode(name)[len(prefix) :] for name in listed_files if name}


def console_files(source: Path, allow_dirty: bool = False) -> list[ConsoleFile]:
    """The files to publish, index.html last; refuses the whole source at the first problem.

    In a git work tree, the tracked ones only, and none while the source has uncommitted
    changes unless `allow_dirty` (module docstring)."""
    root = source.resolve()
    if not root.is_dir():
        raise PublishRefused(f"{source} is not a directory")
    if not (root / ENTRY_PAGE).is_file():
        # Publishing something else would delete the live console's files.
        raise PublishRefused(f"{source} has no {ENTRY_PAGE}: not the console")
    tracked = _tracked(root, allow_dirty)
    found: list[ConsoleFile] = []
    for path in _walk(root):
        if tracked is not None and path.relative_to(root).as_posix() not in tracked:
            continue  # git ignores it, or nobody committed it: not the console's
        real = path.resolve()
        if not _inside(real, root):
            raise PublishRefused(f"{path} leads outside {source}")
        relative = path.relative_to(root)
        content_type = CONSOLE_CONTENT_TYPES.get(path.suffix.lower())
        if content_type is None:
            # Served with nosniff: a wrong type would not load, so no guessing.
            raise PublishRefused(f"{relative.as_posix()}: no Content-Type for {path.suffix or 'a file without suffix'}")
        found.append(ConsoleFile(relative.as_posix(), real, content_type))
    return sorted(found, key=lambda file: (file.key == ENTRY_PAGE, file.key))


def _bucket_keys(s3: S3Client, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    return keys


def publish(
    source: Path,
    bucket: str,
    distribution_id: str,
    s3: S3Client,
    cloudfront: CloudFrontClient,
    out: TextIO | None = None,
    allow_dirty: bool = False,
) -> PublishReport:
    out = out or sys.stdout
    files = console_files(source, allow_dirty)
    report = PublishReport()
    for file in files:
        s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=file.path.read_bytes(),
            ContentType=file.content_type,
            CacheControl=CONSOLE_CACHE_CONTROL,
        )
        report.uploaded.append(file.key)
        print(f"uploaded  s3://{bucket}/{file.key} ({file.content_type})", file=out)

    published = {file.key for file in files}
    stale = sorted(key for key in _bucket_keys(s3, bucket) if key not in published)
    for start in range(0, len(stale), _DELETE_BATCH):
        batch = stale[start : start + _DELETE_BATCH]
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
        if answer.get("Errors"):
            raise RuntimeError(f"s3://{bucket} kept stale files: {answer['Errors']}")
        for key in batch:
            report.deleted.append(key)
            print(f"deleted   s3://{bucket}/{key}", file=out)

    invalidation = cloudfront.create_invalidation(
        DistributionId=distribution_id,
        InvalidationBatch={
            "Paths": {"Quantity": 1, "Items": ["/*"]},
            "CallerReference": f"publish-console-{int(time.time())}-{uuid.uuid4().hex[:8]}",
        },
    )
    report.invalidation_id = str(invalidation["Invalidation"]["Id"])
    print(
        f"invalidated /* on distribution {distribution_id} ({report.invalidation_id}); "
        f"{len(report.uploaded)} uploaded, {len(report.deleted)} deleted",
        file=out,
    )
    return report


def stack_targets(cloudformation: CloudFormationClient, stack_name: str) -> tuple[str, str]:
    """The console's bucket and distribution id, from the stack's outputs."""
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    missing = [name for name in (BUCKET_OUTPUT, DISTRIBUTION_OUTPUT) if not outputs.get(name)]
    if missing:
        raise PublishRefused(f"stack {stack_name} has no output {', '.join(missing)}: deploy the template first")
    return outputs[BUCKET_OUTPUT], outputs[DISTRIBUTION_OUTPUT]


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.publish_console",
        description="Publish the web console to the stack's bucket and invalidate its distribution.",
    )
    parser.add_argument("--source", type=Path, default=ROOT / "console", help="the console's directory (console/)")
    parser.add_argument("--stack-name", help="read the bucket and distribution from this stack's outputs")
    parser.add_argument("--bucket", help="the console bucket (with --distribution-id, instead of --stack-name)")
    parser.add_argument("--distribution-id", help="the CloudFront distribution to invalidate")
    parser.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    parser.add_argument(
        "--allow-dirty",
        action="store_true",
        help="publish the tracked files as they are, uncommitted changes included (never an untracked file)",
    )
    arguments = parser.parse_args(argv)
    explicit = arguments.bucket is not None or arguments.distribution_id is not None
    if explicit and (arguments.bucket is None or arguments.distribution_id is None):
        parser.error("--bucket and --distribution-id go together")
    if explicit == (arguments.stack_name is not None):
        parser.error("give either --stack-name or --bucket with --distribution-id")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _arguments(argv)
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = boto3.Session(region_name=arguments.region)
    try:
        # A wrong source, or one with uncommitted changes, stops here, before any AWS call.
        console_files(arguments.source, arguments.allow_dirty)
        if arguments.stack_name is not None:
            bucket, distribution_id = stack_targets(session.client("cloudformation"), arguments.stack_name)
        else:
            bucket, distribution_id = arguments.bucket, arguments.distribution_id
        publish(
            arguments.source,
            bucket,
            distribution_id,
            session.client("s3"),
            session.client("cloudfront"),
            allow_dirty=arguments.allow_dirty,
        )
    except PublishRefused as refused:
        print(f"publish-console: {refused}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as failed:  # no credentials, no such stack, access denied
        print(f"publish-console: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
