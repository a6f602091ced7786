"""The web console's static files on the local server, as CloudFront serves them when
deployed: `/` and `/index.html` answer `index.html`, `/assets/<path>` the files under
`assets/`, each with the console's headers (kuploy_access.http.console_headers), an
ETag and a 304 when the browser already has that version.

Only names made of plain characters, with a known extension, inside the console
directory are served; anything else (`..`, encoded or not, backslashes, absolute
paths, hidden files, a symlink that leads out) answers 404, as a missing file does.
Neither `/` nor `/assets/` is an API route (template.yaml), so nothing is shadowed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from devserver.responses import GatewayResponse, gateway_answer
from devserver.template import PROJECT_ROOT
from kuploy_access.http.console_headers import CONSOLE_CACHE_CONTROL, CONSOLE_CONTENT_TYPES, CONSOLE_HEADERS
from kuploy_access.http.problems import problem_body, problem_headers

CONSOLE_DIR = PROJECT_ROOT / "console"
INDEX_PATHS = ("/", "/index.html")
ASSETS_PREFIX = "/assets/"
ALLOWED_METHODS = ("GET", "HEAD")
# One path segment: letters, digits, dot, dash, underscore, and not starting with a
# dot (no `.`, `..`, nor hidden files such as `.DS_Store`).
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def console_root(public_base_url: str) -> str:
    """The console's address: where people open it, and where its provider sign-ins return."""
    return f"{public_base_url.rstrip('/')}/"


def is_console_path(raw_path: str) -> bool:
    return raw_path in INDEX_PATHS or raw_path.startswith(ASSETS_PREFIX)


def _relative_name(raw_path: str) -> str | None:
    """The file a console path names, relative to the console directory, or None when
    the path is not one a console file could have."""
    if raw_path in INDEX_PATHS:
        return "index.html"
    # Decoded once, then held to the allow-list: `%2e%2e`, `%2f` and `%5c` decode to
    # characters or segments it refuses.
    segments = unquote(raw_path.removeprefix(ASSETS_PREFIX), errors="replace").split("/")
    if not all(_SEGMENT.fullmatch(segment) for segment in segments):
        return None
    return "/".join(["assets", *segments])


def _etag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


def _matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 §13.1.2: `*`, or any listed tag equal under the weak comparison."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or etag in (tag.removeprefix("W/") for tag in tags)


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def _method_not_allowed() -> GatewayResponse:
    body = problem_body(405, "method_not_allowed", "Method Not Allowed", "The console's files answer GET and HEAD.")
    headers = [*problem_headers(405, "method_not_allowed").items(), ("Allow", ", ".join(ALLOWED_METHODS))]
    return GatewayResponse(405, headers, json.dumps(body).encode())


@dataclass(frozen=True)
class ConsoleFiles:
    """The console served from `directory` (the repository's `console/`; tests pass their own)."""

    directory: Path = CONSOLE_DIR
    # The server's public address (PUBLIC_BASE_URL). The console reached under another
    # name (`localhost` for `127.0.0.1`) is sent there: provider sign-ins return to the
    # allow-listed public address, and their flow cookie belongs to the host that
    # started them, so a console on another name could never finish one.
    public_base_url: str | None = None

    def answer(self, method: str, raw_path: str, headers: Iterable[tuple[str, str]] = ()) -> GatewayResponse | None:
        """The answer for a console path, or None for a request the gateway answers."""
        if not is_console_path(raw_path):
            return None
        if method not in ALLOWED_METHODS:
            return _method_not_allowed()
        if raw_path in INDEX_PATHS and self.public_base_url:
            public = urlsplit(self.public_base_url)
            host = _header(headers, "Host")
            if host is not None and host.lower() != public.netloc.lower():
                return GatewayResponse(
                    302, [("Location", console_root(self.public_base_url)), ("Cache-Control", "no-store")], b""
                )
        found = self._file(raw_path)
        if found is None:
            return gateway_answer(404, "Not Found")
        content_type, content = found
        etag = _etag(content)
        common = [*CONSOLE_HEADERS.items(), ("Cache-Control", CONSOLE_CACHE_CONTROL), ("ETag", etag)]
        if_none_match = _header(headers, "If-None-Match")
        if if_none_match is not None and _matches(if_none_match, etag):
            return GatewayResponse(304, common, b"")
        # HEAD gets the body too: the server sends only its length (devserver.server).
        return GatewayResponse(200, [*common, ("Content-Type", content_type)], content)

    def _file(self, raw_path: str) -> tuple[str, bytes] | None:
        name = _relative_name(raw_path)
        if name is None:
            return None
        content_type = CONSOLE_CONTENT_TYPES.get(Path(name).suffix)
        if content_type is None:
            return None
        root = self.directory.resolve()
        try:
            target = (root / name).resolve(strict=True)
        except (OSError, RuntimeError):  # missing, a file used as a folder, a symlink loop
            return None
        if not target.is_relative_to(root) or not target.is_file():
            return None
        return content_type, target.read_bytes()
