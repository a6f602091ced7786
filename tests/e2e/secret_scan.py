"""No secret in the functions' logs of the whole end-to-end run.

Two nets, both cast over every function log the suite's local servers wrote
(`DevServer.function_log_path`, under test-artifacts/e2e-logs/):

- the values: every secret the tests saw pass, recorded as they passed
  (`SecretRegistry`, on every client `DevServer.client()` makes): passwords, codes and
  tokens the tests sent; tokens, keys, TOTP secrets, recovery codes and cookies the
  service answered; the tokens in the links of the emails read at /_dev/emails. Short
  values (a 6-digit code) must stand alone to count, so a timestamp holding the same
  digits is not a finding.
- the shapes (`PATTERNS`): any JWT, API key, Bearer credential, link with a token,
  refresh cookie, TOTP secret or recovery code, and any 43-character base64url string
  (what `secrets.token_urlsafe(32)` makes: refresh tokens, emailed tokens, login
  codes), whether or not a test saw it.

A finding names the file, the line and the kind, and shows only a secret's first
characters.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

# Fields of a request body (JSON or form) that carry a secret, and its kind.
REQUEST_FIELDS = {
    "password": "password",
    "new_password": "password",
    "current_password": "password",
    "code": "TOTP or recovery code",
    "recovery_code": "recovery code",
    "token": "emailed token",
    "mfa_token": "MFA token",
    "refresh_token": "refresh token",
    "login_code": "login code",
}
# Fields of a JSON answer that carry a secret (a problem document's `code` is not one).
ANSWER_FIELDS = {
    "access_token": "access token",
    "refresh_token": "refresh token",
    "mfa_token": "MFA token",
    "secret": "TOTP secret",
    "recovery_codes": "recovery code",
    "login_code": "login code",
    "key": "API key",
}
# Query parameters of a URL (sent, answered, or in an email's link) that carry one.
LINK_PARAMETERS = {
    "token": "emailed token",
    "login_code": "login code",
    "code": "provider code",
    "state": "OAuth state",
    "secret": "TOTP secret",
}
COOKIE_MARK = "kuploy_"
DEV_EMAILS_PATH = "/_dev/emails"
MIN_LENGTH = 6
# Below this, a value must stand alone (not inside a longer run of letters, digits and _).
WHOLE_WORD_BELOW = 16

_URL = re.compile(r"(?:https?|otpauth)://[^\s\"'<>\\]+")
_INVITATION_PATH = re.compile(r"^/invitations/([A-Za-z0-9_-]{20,})")
_TOKEN_CHARS = "A-Za-z0-9_-"

PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("JWT", re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*")),
    ("API key", re.compile(r"kpy_[0-9A-Za-z]{36}")),
    ("Bearer credential", re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]{16,}")),
    ("link with a token", re.compile(r"[?&](?:token|login_code)=[A-Za-z0-9_%.~-]{16,}")),
    ("invitation link", re.compile(r"/invitations/[A-Za-z0-9_-]{40,}")),
    ("session cookie", re.compile(r"kuploy_(?:refresh|csrf)=[^;\s\"']{16,}")),
    ("otpauth URI", re.compile(r"otpauth://")),
    ("TOTP secret", re.compile(r"(?<![A-Z2-7])[A-Z2-7]{32}(?![A-Z2-7])")),
    ("recovery code", re.compile(r"(?<![0-9a-z-])[0-9a-hjkmnp-tv-z]{4}(?:-[0-9a-hjkmnp-tv-z]{4}){3}(?![0-9a-z-])")),
    (
        "43-character base64url secret",
        re.compile(
            rf"(?<![{_TOKEN_CHARS}])(?=[{_TOKEN_CHARS}]*[0-9])(?=[{_TOKEN_CHARS}]*[A-Z])(?=[{_TOKEN_CHARS}]*[a-z])"
            rf"[{_TOKEN_CHARS}]{{43}}(?![{_TOKEN_CHARS}])"
        ),
    ),
)


def preview(value: str) -> str:
    """Enough to recognise a secret in a report, never enough to use it."""
    return f"{value[:4]}… ({len(value)} characters)"


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    kind: str
    preview: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind} {self.preview}"


class SecretRegistry:
    """Every secret value the tests saw, by kind. Clients of several threads add to it."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}
        self._emailed: set[str] = set()
        self._lock = threading.Lock()

    def add(self, kind: str, value: object, emailed: bool = False) -> None:
        if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
            return
        with self._lock:
            self._values.setdefault(value.strip(), kind)
            if emailed:
                self._emailed.add(value.strip())

    def emailed(self) -> set[str]:
        """The tokens read in emails at /_dev/emails (for the scan's control)."""
        with self._lock:
            return set(self._emailed)

    def values(self) -> dict[str, str]:
        """value → kind."""
        with self._lock:
            return dict(self._values)

    def __len__(self) -> int:
        return len(self._values)

    # --- what passes through an httpx client ----------------------------------------

    def saw_request(self, request: httpx.Request) -> None:
        """An httpx request hook: the credentials and body fields it sends."""
        self._from_headers(request.headers.get_list("authorization"), request.headers.get_list("cookie"))
        self.add("CSRF token", request.headers.get("x-csrf-token"))
        self._from_url(str(request.url))
        try:
            body = request.content
        except httpx.RequestNotRead:
            return
        self._from_body(body, request.headers.get("content-type", ""), REQUEST_FIELDS)

    def saw_response(self, response: httpx.Response) -> None:
        """An httpx response hook: the secrets it answers (and the /_dev/emails links)."""
        for cookie in response.headers.get_list("set-cookie"):
            self._from_cookie_pairs(cookie.split(";", 1)[0])
        self._from_url(response.headers.get("location", ""))
        response.read()
        emailed = response.request.url.path == DEV_EMAILS_PATH
        self._from_body(response.content, response.headers.get("content-type", ""), ANSWER_FIELDS, emailed)

    def _from_headers(self, authorizations: list[str], cookies: list[str]) -> None:
        for value in authorizations:
            scheme, _, credential = value.partition(" ")
            if scheme.lower() == "bearer":
                credential = credential.strip()
                self.add("API key" if credential.startswith("kpy_") else "access token", credential)
        for header in cookies:
            self._from_cookie_pairs(header)

    def _from_cookie_pairs(self, header: str) -> None:
        for pair in header.split(";"):
            name, _, value = pair.strip().partition("=")
            if COOKIE_MARK in name:
                self.add(f"cookie {name}", value)

    def _from_url(self, url: str, emailed: bool = False) -> None:
        if not url:
            return
        parts = urlsplit(url)
        for name, value in parse_qsl(parts.query):
            if name in LINK_PARAMETERS:
                self.add(LINK_PARAMETERS[name], value, emailed)
        invitation = _INVITATION_PATH.match(parts.path)
        if invitation:
            self.add("invitation token", invitation.group(1), emailed)

    def _from_body(self, body: bytes, content_type: str, fields: dict[str, str], emailed: bool = False) -> None:
        if not body:
            return
        text = body.decode("utf-8", errors="replace")
        if "x-www-form-urlencoded" in content_type:
            for name, value in parse_qsl(text):
                if name in REQUEST_FIELDS:
                    self.add(REQUEST_FIELDS[name], value)
            return
        for url in _URL.findall(text):
            self._from_url(url.replace("&amp;", "&"), emailed)
        if "json" not in content_type:
            return
        try:
            document = json.loads(text)
        except ValueError:
            return
        for kind, value in _fields(document, fields):
            self.add(kind, value)


def _fields(document: Any, fields: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(kind, value) of every secret field, at any depth; lists of codes included."""
    if isinstance(document, list):
        for item in document:
            yield from _fields(item, fields)
        return
    if not isinstance(document, dict):
        return
    for name, value in document.items():
        kind = fields.get(name)
        if kind == "API key" and not (isinstance(value, str) and value.startswith("kpy_")):
            kind = None  # `key` is also an ordinary field name
        if kind is not None and isinstance(value, str):
            yield kind, value
        elif kind is not None and isinstance(value, list):
            yield from ((kind, item) for item in value if isinstance(item, str))
        else:
            yield from _fields(value, fields)


_WORD = re.compile(r"[0-9A-Za-z_]+")
_TOKEN_RUN = re.compile(rf"[{_TOKEN_CHARS}]{{{WHOLE_WORD_BELOW},}}")


def _word_character(character: str) -> bool:
    return character.isalnum() or character == "_"


def _standing_alone(text: str, value: str) -> int:
    """Where `value` first occurs with no letter, digit or underscore right before or
    after it; -1 if nowhere."""
    position = text.find(value)
    while position >= 0:
        before = text[position - 1 : position]
        after = text[position + len(value) : position + len(value) + 1]
        if not _word_character(before) and not _word_character(after):
            return position
        position = text.find(value, position + 1)
    return -1


class _Text:
    """A log's text, with what makes looking for thousands of values in it cheap."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._words: set[str] | None = None
        self._runs: str | None = None

    @property
    def words(self) -> set[str]:
        if self._words is None:
            self._words = set(_WORD.findall(self.text))
        return self._words

    @property
    def runs(self) -> str:
        """Each distinct run of base64url characters once: a log repeats most of its
        text (keys, names, ARNs), so a token looked for in here is found as surely as in
        the whole text, in a fraction of the time."""
        if self._runs is None:
            self._runs = "\n".join(set(_TOKEN_RUN.findall(self.text)))
        return self._runs

    def position(self, value: str) -> int:
        """Where `value` first occurs (a short one standing alone); -1 if nowhere."""
        if len(value) < WHOLE_WORD_BELOW:
            if _WORD.fullmatch(value) and value not in self.words:
                return -1  # most short values are codes: one pass collected every word
            return _standing_alone(self.text, value)
        if _TOKEN_RUN.fullmatch(value) and value not in self.runs:
            return -1
        return self.text.find(value)


def scan_text(path: Path, text: str, registry: SecretRegistry) -> list[Finding]:
    def line_of(position: int) -> int:
        return text.count("\n", 0, position) + 1

    findings: list[Finding] = []
    indexed = _Text(text)
    for value, kind in registry.values().items():
        position = indexed.position(value)
        if position >= 0:
            findings.append(Finding(path, line_of(position), f"{kind} (seen by a test)", preview(value)))
    for kind, pattern in PATTERNS:
        for match in pattern.finditer(text):
            findings.append(Finding(path, line_of(match.start()), kind, preview(match.group(0))))
    return findings


def scan(paths: Iterable[Path], registry: SecretRegistry) -> list[Finding]:
    findings: list[Finding] = []
    for path in paths:
        if path.is_file():
            findings.extend(scan_text(path, path.read_text(encoding="utf-8", errors="replace"), registry))
    return findings


# The session's registry: every client DevServer.client() makes feeds it.
REGISTRY = SecretRegistry()
