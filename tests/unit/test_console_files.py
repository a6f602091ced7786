"""The local server's console files (devserver/console_files.py), from a console
directory of the test's own: what is served, with which headers, and everything a
path may try to reach outside it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from devserver.console_files import CONSOLE_DIR, ConsoleFiles, console_root, is_console_path
from devserver.template import PROJECT_ROOT
from kuploy_access.http.console_headers import CONSOLE_CACHE_CONTROL, CONSOLE_CONTENT_TYPES, CONSOLE_HEADERS

INDEX = b'<!doctype html><html lang="en"><head><link rel="stylesheet" href="/assets/console.css"></head></html>'
CSS = b"body{margin:0}"
SCRIPT = b"export const x = 1;\n"


@pytest.fixture
def console(tmp_path: Path) -> ConsoleFiles:
    root = tmp_path / "console"
    (root / "assets" / "lib").mkdir(parents=True)
    (root / "assets" / "pages").mkdir()
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "console.css").write_bytes(CSS)
    (root / "assets" / "app.js").write_bytes(SCRIPT)
    (root / "assets" / "lib" / "api.js").write_bytes(SCRIPT)
    (root / "assets" / "pages" / "team.js").write_bytes(SCRIPT)
    (root / "assets" / "notes.txt").write_bytes(b"not a console file type")
    (root / "assets" / ".hidden.css").write_bytes(CSS)
    # Beside the console, where no path may lead.
    (tmp_path / "secret.css").write_bytes(b"secret")
    (tmp_path / "secret.html").write_bytes(b"secret")
    return ConsoleFiles(root)


def _headers(answer_headers: list[tuple[str, str]]) -> dict[str, str]:
    return dict(answer_headers)


def _is_gateway_404(answer: object) -> bool:
    return (
        getattr(answer, "status", None) == 404
        and json.loads(getattr(answer, "body", b"{}")) == {"message": "Not Found"}
        and "secret" not in getattr(answer, "body", b"").decode()
    )


def test_the_console_directory_is_the_repositorys_console_folder() -> None:
    assert CONSOLE_DIR == PROJECT_ROOT / "console"
    assert ConsoleFiles().directory == CONSOLE_DIR


def test_the_console_root_is_the_public_base_url_with_one_slash() -> None:
    assert console_root("http://127.0.0.1:3000") == "http://127.0.0.1:3000/"
    assert console_root("http://127.0.0.1:3000/") == "http://127.0.0.1:3000/"


@pytest.mark.parametrize("path", ["/", "/index.html"])
def test_the_root_and_index_html_answer_the_shell_with_the_console_headers(console: ConsoleFiles, path: str) -> None:
    answer = console.answer("GET", path, [])
    assert answer is not None
    assert answer.status == 200
    assert answer.body == INDEX
    headers = _headers(answer.headers)
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cache-Control"] == CONSOLE_CACHE_CONTROL
    for name, value in CONSOLE_HEADERS.items():
        assert headers[name] == value, name
    assert headers["ETag"] == f'"{hashlib.sha256(INDEX).hexdigest()}"'


@pytest.mark.parametrize(
    ("path", "content_type", "content"),
    [
        ("/assets/console.css", CONSOLE_CONTENT_TYPES[".css"], CSS),
        ("/assets/app.js", CONSOLE_CONTENT_TYPES[".js"], SCRIPT),
        ("/assets/lib/api.js", CONSOLE_CONTENT_TYPES[".js"], SCRIPT),
        ("/assets/pages/team.js", CONSOLE_CONTENT_TYPES[".js"], SCRIPT),
    ],
)
def test_assets_answer_with_their_content_type(
    console: ConsoleFiles, path: str, content_type: str, content: bytes
) -> None:
    answer = console.answer("GET", path, [])
    assert answer is not None and answer.status == 200
    headers = _headers(answer.headers)
    assert headers["Content-Type"] == content_type
    assert headers["Content-Security-Policy"] == CONSOLE_HEADERS["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert answer.body == content


def test_every_listed_extension_is_served_with_its_type(console: ConsoleFiles) -> None:
    for extension, content_type in CONSOLE_CONTENT_TYPES.items():
        (console.directory / "assets" / f"file{extension}").write_bytes(b"x")
        answer = console.answer("GET", f"/assets/file{extension}", [])
        assert answer is not None and answer.status == 200, extension
        assert _headers(answer.headers)["Content-Type"] == content_type


def test_head_answers_the_headers_of_get(console: ConsoleFiles) -> None:
    get = console.answer("GET", "/assets/console.css", [])
    head = console.answer("HEAD", "/assets/console.css", [])
    assert get is not None and head is not None
    assert head.status == 200
    assert head.headers == get.headers
    # The body only sets Content-Length: the server writes none for HEAD.
    assert len(head.body) == len(CSS)


def test_the_etag_is_the_sha256_of_the_bytes_and_follows_changes(console: ConsoleFiles) -> None:
    first = console.answer("GET", "/assets/console.css", [])
    assert first is not None
    assert _headers(first.headers)["ETag"] == f'"{hashlib.sha256(CSS).hexdigest()}"'
    (console.directory / "assets" / "console.css").write_bytes(b"body{margin:1px}")
    second = console.answer("GET", "/assets/console.css", [])
    assert second is not None
    assert second.body == b"body{margin:1px}"
    assert _headers(second.headers)["ETag"] == f'"{hashlib.sha256(b"body{margin:1px}").hexdigest()}"'


@pytest.mark.parametrize(
    "if_none_match",
    [
        '"{etag}"',
        'W/"{etag}"',
        '"other", "{etag}"',
        "*",
    ],
)
def test_a_matching_if_none_match_answers_304_without_a_body(console: ConsoleFiles, if_none_match: str) -> None:
    etag = hashlib.sha256(CSS).hexdigest()
    for method in ("GET", "HEAD"):
        answer = console.answer(method, "/assets/console.css", [("if-none-match", if_none_match.format(etag=etag))])
        assert answer is not None
        assert answer.status == 304
        assert answer.body == b""
        headers = _headers(answer.headers)
        assert headers["ETag"] == f'"{etag}"'
        assert headers["Cache-Control"] == CONSOLE_CACHE_CONTROL
        assert "Content-Type" not in headers


def test_a_stale_if_none_match_answers_the_file(console: ConsoleFiles) -> None:
    stale = f'"{hashlib.sha256(b"old").hexdigest()}"'
    answer = console.answer("GET", "/assets/console.css", [("If-None-Match", stale)])
    assert answer is not None
    assert answer.status == 200
    assert answer.body == CSS


@pytest.mark.parametrize(
    "path",
    [
        "/assets/missing.css",
        "/assets/notes.txt",  # an extension the console does not serve
        "/assets/console",  # no extension
        "/assets/lib",  # a folder
        "/assets/lib/",
        "/assets/",
        "/assets/.hidden.css",
        "/assets/../secret.css",
        "/assets/../../secret.css",
        "/assets/lib/../../secret.css",
        "/assets/%2e%2e/secret.css",
        "/assets/%2E%2E/secret.css",
        "/assets/%2e%2e%2fsecret.css",
        "/assets/..%2fsecret.css",
        "/assets/%252e%252e/secret.css",  # encoded twice: decoded once, a name with % is refused
        "/assets/..\\secret.css",
        "/assets/%5c..%5csecret.css",
        "/assets/lib%5c..%5c..%5csecret.css",
        "/assets//etc/passwd.css",
        "/assets/%2fetc%2fpasswd.css",
        "/assets/C:%5csecret.css",
        "/assets/console.css%00.js",
        "/assets/./console.css",
        "/assets/%ff.css",
    ],
)
def test_anything_but_a_plain_name_inside_the_console_answers_404(console: ConsoleFiles, path: str) -> None:
    answer = console.answer("GET", path, [])
    assert _is_gateway_404(answer), (path, answer)


def test_a_symlink_that_leaves_the_console_answers_404(console: ConsoleFiles, tmp_path: Path) -> None:
    (console.directory / "assets" / "escape.css").symlink_to(tmp_path / "secret.css")
    (console.directory / "assets" / "outside").symlink_to(tmp_path, target_is_directory=True)
    assert _is_gateway_404(console.answer("GET", "/assets/escape.css", []))
    assert _is_gateway_404(console.answer("GET", "/assets/outside/secret.css", []))


def test_a_symlink_inside_the_console_is_served(console: ConsoleFiles) -> None:
    (console.directory / "assets" / "alias.css").symlink_to(console.directory / "assets" / "console.css")
    answer = console.answer("GET", "/assets/alias.css", [])
    assert answer is not None and answer.status == 200 and answer.body == CSS


def test_a_missing_console_answers_404_where_the_gateway_would(tmp_path: Path) -> None:
    missing = ConsoleFiles(tmp_path / "nowhere")
    assert _is_gateway_404(missing.answer("GET", "/", []))
    assert _is_gateway_404(missing.answer("GET", "/assets/console.css", []))


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/index.html", "/assets/console.css", "/assets/missing.css"])
def test_other_methods_answer_405_with_a_problem_document(console: ConsoleFiles, method: str, path: str) -> None:
    answer = console.answer(method, path, [])
    assert answer is not None
    assert answer.status == 405
    headers = _headers(answer.headers)
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Allow"] == "GET, HEAD"
    problem = json.loads(answer.body)
    assert problem["status"] == 405 and problem["code"] == "method_not_allowed", problem


@pytest.mark.parametrize(
    "path",
    ["/openapi.json", "/me", "/verify-email", "/invitations/abc", "/assets", "/assetsx/a.css", "/index.htm", "//"],
)
def test_other_paths_are_left_to_the_gateway(console: ConsoleFiles, path: str) -> None:
    assert not is_console_path(path)
    assert console.answer("GET", path, []) is None
    assert console.answer("POST", path, []) is None


def test_no_api_route_is_a_console_path() -> None:
    from devserver.template import api_spec

    assert [route.path for route in api_spec().routes if is_console_path(route.path)] == []


def test_the_console_under_another_host_name_is_sent_to_the_public_address(tmp_path: Path) -> None:
    """`localhost:3000` for `127.0.0.1:3000`: a provider sign-in started there could not
    finish (it returns to the public address, without the flow's cookie)."""
    (tmp_path / "index.html").write_text("<!doctype html>", encoding="utf-8")
    console = ConsoleFiles(directory=tmp_path, public_base_url="http://127.0.0.1:3000")

    moved = console.answer("GET", "/", [("Host", "localhost:3000")])
    assert moved is not None
    assert moved.status == 302
    assert dict(moved.headers)["Location"] == "http://127.0.0.1:3000/"

    same = console.answer("GET", "/", [("Host", "127.0.0.1:3000")])
    assert same is not None
    assert same.status == 200
    # Without a configured address (tests, tools) nothing moves.
    assert ConsoleFiles(directory=tmp_path).answer("GET", "/", [("Host", "localhost:3000")]).status == 200  # type: ignore[union-attr]
