"""The emails: text and HTML parts, the link in both, what it does and when it expires."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from kuploy_access.domain.email_messages import account_exists_email, verification_email

EXPIRES = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
BASE = "https://console.kuploy.example"


def test_verification_email_has_both_parts_and_the_link_in_each():
    message = verification_email("ada@example.com", BASE, "tok_SECRET-123", EXPIRES)
    link = f"{BASE}/verify-email?token=tok_SECRET-123"
    assert message.to == "ada@example.com"
    assert message.text.strip()
    assert message.html.strip()
    assert link in message.text
    assert f'href="{html.escape(link, quote=True)}"' in message.html


def test_verification_link_is_built_from_the_base_url_without_doubled_slashes():
    message = verification_email("ada@example.com", BASE + "/", "abc", EXPIRES)
    assert f"{BASE}/verify-email?token=abc" in message.text
    assert "//verify-email" not in message.text
    assert "//verify-email" not in message.html


def test_verification_token_is_url_encoded_in_the_link():
    message = verification_email("ada@example.com", BASE, "a+b/c=&d", EXPIRES)
    assert "token=a%2Bb%2Fc%3D%26d" in message.text
    assert "a+b/c=&d" not in message.text


def test_verification_email_says_what_the_link_does():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES)
    assert "confirm" in message.subject.lower()
    for part in (message.text, message.html):
        assert re.search(r"confirm", part, re.IGNORECASE)
        assert "ada@example.com" in part


def test_verification_email_says_when_the_link_expires():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES)
    for part in (message.text, message.html):
        assert "2026-11-29 12:00 UTC" in part
        assert "24 hours" in part
        assert "once" in part


def test_verification_email_text_part_is_plain_text():
    message = verification_email("ada@example.com", BASE, "abc", EXPIRES)
    assert "<" not in message.text
    assert "<a " in message.html


def test_html_escapes_the_address():
    hostile = '"<script>alert(1)</script>"@example.com'
    for message in (
        verification_email(hostile, BASE, "abc", EXPIRES),
        account_exists_email(hostile, BASE),
    ):
        assert "<script>" not in message.html
        assert "&lt;script&gt;" in message.html
        assert message.to == hostile


def test_html_escapes_the_link():
    message = verification_email("ada@example.com", 'https://x.example/"><b>', "abc", EXPIRES)
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


def test_account_exists_email_is_distinguishable_from_verification():
    exists = account_exists_email("ada@example.com", BASE)
    verify = verification_email("ada@example.com", BASE, "abc", EXPIRES)
    assert exists.subject != verify.subject
