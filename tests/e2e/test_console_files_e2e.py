"""The web console's files on the local server, over real HTTP: `/` answers the
console's page with the console's headers, its stylesheet revalidates with an ETag,
nothing outside `console/` is reachable, and the console's address is on the local
OAuth allow-list (a provider sign-in may return to it)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from kuploy_access.http.console_headers import CONSOLE_CACHE_CONTROL, CONSOLE_HEADERS
from tests.e2e.helpers import DevServer

pytestmark = pytest.mark.e2e


def test_the_root_answers_the_console_page_with_the_console_headers(server: DevServer, client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    for name, value in CONSOLE_HEADERS.items():
        assert page.headers[name] == value, name
    assert page.headers["cache-control"] == CONSOLE_CACHE_CONTROL
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["etag"]

    # Revalidation: the same version answers 304, and HEAD only the headers.
    again = client.get("/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304 and again.content == b"", again.headers
    head = client.head("/index.html")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(page.content))
    assert head.headers["etag"] == page.headers["etag"]


def test_the_stylesheet_answers_as_css(client: httpx.Client) -> None:
    sheet = client.get("/assets/console.css")
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"] == "text/css; charset=utf-8"
    assert sheet.headers["x-content-type-options"] == "nosniff"
    assert client.get("/assets/console.css", headers={"If-None-Match": sheet.headers["etag"]}).status_code == 304


@pytest.mark.parametrize(
    "path",
    [
        "/assets/../README.md",
        "/assets/%2e%2e/template.yaml",
        "/assets/%2E%2E%2F%2E%2E%2Fpyproject.toml",
        "/assets/..%5c..%5cpyproject.toml",
        "/assets/missing.css",
        "/assets/console.css.map",
    ],
)
def test_nothing_outside_the_console_is_reachable(client: httpx.Client, path: str) -> None:
    # httpx would tidy `..` away: send the path exactly as written.
    request = client.build_request("GET", path)
    request.url = request.url.copy_with(raw_path=path.encode())
    answer = client.send(request)
    assert answer.status_code == 404, (path, answer.text)
    assert answer.json() == {"message": "Not Found"}


def test_other_methods_on_console_paths_answer_405_and_the_api_keeps_its_routes(client: httpx.Client) -> None:
    refused = client.post("/", content=b"x")
    assert refused.status_code == 405, refused.text
    assert refused.headers["allow"] == "GET, HEAD"
    assert refused.json()["code"] == "method_not_allowed"
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/no-such-route").json() == {"message": "Not Found"}


def test_a_provider_sign_in_may_return_to_the_console(server: DevServer) -> None:
    console = f"{server.public_base_url.rstrip('/')}/"
    # Its own address: sign-in flows are counted per client address.
    with server.client(source_ip="127.0.14.1") as client:
        started = client.get(f"/auth/oauth/github/start?{urlencode({'redirect_to': console})}")
        assert started.status_code == 302, started.text
        refused = client.get(f"/auth/oauth/github/start?{urlencode({'redirect_to': console + 'elsewhere'})}")
        assert refused.status_code == 422, refused.text
