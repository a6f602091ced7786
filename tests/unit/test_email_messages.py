"""The emails: text and HTML parts, the link in both, what it does and when it expires."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

import pytest

from kuploy_access.domain.email_messages import (
    account_exists_email,
    browser_of,
    password_changed_email,
    resent_verification_email,
    security_notice_email,
    verification_email,
)
from kuploy_access.domain.one_time_tokens import RequestOrigin

EXPIRES = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BASE = "https://console.kuploy.example"
ORIGIN = RequestOrigin(
    at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC),
    ip="198.51.100.20",
    user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
)


def test_verification_email_has_both_parts_and_the_link_in_each():
    message = verification_email("ada@example.com", BASE, "tok_SECRET-123", EXPIRES, ORIGIN)
    link = f"{BASE}/verify-email?token=tok_SECRET-123"
    assert message.to == "ada@example.com"
    assert message.text.strip()
    assert message.html.strip()
    assert link in message.text
    assert f'href="{html.escape(link, quote=True)}"' in message.html


def test_verification_link_is_built_from_the_base_url_without_doubled_slashes():
    message = verification_email("ada@example.com", BASE + "/", "abc", EXPIRES, ORIGIN)
    assert f"{BASE}/verify-email?token=abc" in message.text
    assert "//verify-email" not in message.text
    assert "//verify-email" not in message.html


def test_verification_token_is_url_encoded_in_the_link():
    message = verification_email("ada@example.com", BASE, "a+b/c=&d", EXPIRES, ORIGIN)
    assert "token=a%2Bb%2Fc%3D%26d" in message.text
    assert "a+b/c=&d" not in message.text


def test_verification_email_says_what_the_link_does():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    assert "confirm" in message.subject.lower()
    for part in (message.text, message.html):
        assert re.search(r"confirm", part, re.IGNORECASE)
        assert "ada@example.com" in part


def test_verification_email_says_when_the_link_expires():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    for part in (message.text, message.html):
        assert "2026-11-29 12:00 UTC" in part
        assert "24 hours" in part
        assert "once" in part


def test_verification_email_text_part_is_plain_text():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    assert "<" not in message.text
    assert "<a " in message.html


def test_html_escapes_the_address():
    hostile = '"<script>alert(1)</script>"@example.com'
    for message in (
        verification_email(hostile, BASE, "abc", EXPIRES, ORIGIN),
        account_exists_email(hostile, BASE),
    ):
        assert "<script>" not in message.html
        assert "&lt;script&gt;" in message.html
        assert message.to == hostile


def test_html_escapes_the_link():
    message = verification_email("ada@example.com", 'https://x.example/"><b>', "abc", EXPIRES, ORIGIN)
    assert '"><b>' not in message.html


def test_account_exists_email_has_both_parts_and_no_token():
    message = account_exists_email("ada@example.com", BASE)
    assert message.to == "ada@example.com"
    assert message.text.strip()
    assert message.html.strip()
    for part in (message.text, message.html):
        assert "ada@example.com" in part
        assert "token=" not in part
        assert "already" in part
        assert "sign in" in part.lower()


SIGN_IN = f"{BASE}/#/sign-in"
FORGOT_PASSWORD = f"{BASE}/#/forgot-password"


def _links(message_html: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(r'<a href="([^"]+)"', message_html)]


@pytest.mark.parametrize(
    ("message", "addresses"),
    [
        (account_exists_email("ada@example.com", BASE + "/"), [SIGN_IN, FORGOT_PASSWORD]),
        (password_changed_email("ada@example.com", BASE, EXPIRES), [SIGN_IN, FORGOT_PASSWORD]),
        (
            security_notice_email("ada@example.com", BASE, "Two-factor authentication was turned off", EXPIRES, "x"),
            [SIGN_IN, FORGOT_PASSWORD],
        ),
        (resent_verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN), [FORGOT_PASSWORD]),
    ],
)
def test_emails_that_send_people_to_sign_in_link_the_consoles_pages(message, addresses):
    for address in addresses:
        assert f": {address}" in message.text, message.text  # on a line of its own, after its name
        assert address in _links(message.html), message.html
    # Only the console's routes (and the emailed link itself): no bare base URL left.
    for link in re.findall(r"https?://[^\s\"'<>]+", message.text):
        assert link.startswith((SIGN_IN, FORGOT_PASSWORD, f"{BASE}/verify-email?")), link


def test_account_exists_email_has_a_sign_in_button():
    message = account_exists_email("ada@example.com", BASE)
    assert f"Sign in: {SIGN_IN}" in message.text
    assert f'<a href="{SIGN_IN}" style=' in message.html
    assert ">Sign in</a>" in message.html


def test_account_exists_email_is_distinguishable_from_verification():
    exists = account_exists_email("ada@example.com", BASE)
    verify = verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    assert exists.subject != verify.subject


def test_verification_email_names_the_sign_up_and_says_to_ignore_it_otherwise():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    for part in (message.text, html.unescape(message.html)):
        assert "2026-11-28 12:00 UTC" in part
        assert "198.51.100.20" in part
        assert "Chrome/131.0.0.0 Safari/537.36" in part
        assert "If that was not you, ignore this email" in part
        assert "password chosen at that sign-up" in part


def test_resent_verification_email_says_it_was_requested_and_sets_no_password():
    message = resent_verification_email("ada@example.com", BASE, "abc", EXPIRES, ORIGIN)
    assert f"{BASE}/verify-email?token=abc" in message.text
    for part in (message.text, html.unescape(message.html)):
        assert "requested at 2026-11-28 12:00 UTC" in part
        assert "198.51.100.20" in part
        assert "sets no password" in part
        assert "Forgot password" in part
        assert "2026-11-29 12:00 UTC" in part


@pytest.mark.parametrize(
    ("user_agent", "shown"),
    [
        ("curl/8.4.0", "curl/8.4.0"),
        ("", "unknown"),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +",
        ),
        ("Go to evil.example/login NOW", "Go to NOW"),
        ("Call\x00 me\r\n\x1b[2J maybe \u202e", "Call me [2J maybe"),
        ("mailto:x@y.example javascript:alert(1) ok", "ok"),
        ("Firefox/133.0 www.evil.example", "Firefox/133.0"),
    ],
)
def test_browser_of_keeps_visible_text_without_links(user_agent, shown):
    assert browser_of(user_agent) == shown


def test_browser_of_cuts_long_user_agents():
    shown = browser_of("A" * 600)
    assert len(shown) == 120
    assert shown.endswith("…")
