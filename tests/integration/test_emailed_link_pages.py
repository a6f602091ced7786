"""The pages behind emailed links, from their real handlers through the local gateway:
each answers with the console's stylesheet and a policy that lets it load (styles from
this origin, no inline style, no hashes), GET and form POST alike."""

from __future__ import annotations

import re

import pytest

from kuploy_access.http.html_pages import PAGE_CSP, PAGE_HEADERS
from tests.integration.gateway_client import Answer, GatewayClient

FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}

PAGES = [
    ("GET", "/verify-email?token=nope", b""),
    ("GET", "/verify-email", b""),
    ("POST", "/verify-email", b"token=nope"),
    ("GET", "/reset-password?token=nope", b""),
    ("POST", "/reset-password", b"token=nope&password=a+sturdy+passphrase"),
    ("GET", "/unlock?token=nope", b""),
    ("POST", "/unlock", b"token=nope"),
    ("GET", "/invitations/nope", b""),
    ("POST", "/invitations/nope", b"email=ada%40example.com&password=a+sturdy+passphrase&action=accept"),
]


def _assert_console_look(answer: Answer) -> None:
    assert answer.headers["content-type"] == "text/html; charset=utf-8", answer.headers
    for name, value in PAGE_HEADERS.items():
        assert answer.headers[name.lower()] == value, name
    policy = answer.headers["content-security-policy"]
    assert policy == PAGE_CSP
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "sha256-" not in policy
    assert re.findall(r"<link\b[^>]*>", answer.text) == [
        '<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">',
        '<link rel="stylesheet" href="/assets/console.css">',
    ]
    assert "<style" not in answer.text and "style=" not in answer.text and "<script" not in answer.text
    assert '<header class="topbar"><a class="brand" href="/">Kuploy</a></header>' in answer.text
    assert '<main class="narrow"><section class="card"><h1>' in answer.text


@pytest.mark.parametrize(("method", "path", "form"), PAGES)
def test_every_emailed_link_page_has_the_console_look_and_its_policy(aws, method: str, path: str, form: bytes) -> None:
    answer = GatewayClient(aws).request(method, path, raw=form, headers=FORM if form else {"Accept": "text/html"})
    assert answer.status < 500, answer.text
    _assert_console_look(answer)


def test_a_confirmed_email_leads_to_the_consoles_sign_in(aws) -> None:
    client = GatewayClient(aws)
    sent = client.request("POST", "/auth/signup", {"email": "ada@example.com", "password": "a sturdy passphrase"})
    assert sent.status == 202, sent.text
    token = client.last_link("ada@example.com", "/verify-email")
    answer = client.request("POST", "/verify-email", raw=f"token={token}".encode(), headers=FORM)
    assert answer.status == 200, answer.text
    _assert_console_look(answer)
    assert '<p class="notice">' in answer.text
    assert '<a class="button primary" href="/#/sign-in">Sign in</a>' in answer.text
