"""The pages behind emailed links (verify email, reset password, unlock, invitation)
look like the web console: its stylesheet, its layout and class names, no inline style
or script, and a policy that allows styles from this origin only. After success they
lead into the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response

from kuploy_access.domain.errors import InvalidToken, InvitationUsed, NotFound, PasswordTooShort
from kuploy_access.domain.invitations import Invitation
from kuploy_access.http import account_pages, html_pages, invitation_html
from kuploy_access.http.problems import TRANSPORT_HEADERS
from kuploy_access.services.invitation_page import PageAnswer, PageOutcome

SECRET = "Zm9vYmFyYmF6cXV4cXV1eA-_tok"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _invitation(org_name: str = "Difference Engines", email: str = "grace@example.com") -> Invitation:
    return Invitation(
        id="inv_01",
        org_id="org_01acme",
        org_name=org_name,
        email=email,
        role="member",
        invited_by="usr_01ada",
        inviter_name="Ada",
        status="pending",
        token_hash="hash",
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )


def _answered(outcome: PageOutcome, problem: str = "") -> Response[Any]:
    return invitation_html.answered(SECRET, PageAnswer(_invitation(), outcome, problem))


EVERY_PAGE = {
    "confirm email": lambda: account_pages.confirm_email("tok", None),
    "confirm email, back to an invitation": lambda: account_pages.confirm_email("tok", f"/invitations/{SECRET}"),
    "confirm email, no token": lambda: account_pages.confirm_email("", None),
    "email confirmed": lambda: account_pages.email_confirmed(True, None),
    "email confirmed, no password": lambda: account_pages.email_confirmed(False, None),
    "email confirmed, back to an invitation": lambda: account_pages.email_confirmed(True, f"/invitations/{SECRET}"),
    "confirm refused": lambda: account_pages.refused(account_pages.CONFIRM_TITLE, InvalidToken()),
    "choose password": lambda: account_pages.choose_password("tok"),
    "choose password, no token": lambda: account_pages.choose_password(""),
    "reset refused, try again": lambda: account_pages.reset_refused("tok", PasswordTooShort()),
    "reset refused": lambda: account_pages.reset_refused("tok", InvalidToken()),
    "password changed": account_pages.password_changed,
    "unlock": lambda: account_pages.unlock("tok"),
    "unlocked": account_pages.unlocked,
    "invitation": lambda: invitation_html.invitation_page(SECRET, _invitation()),
    "invitation unusable": lambda: invitation_html.unusable(InvitationUsed()),
    "invitation unknown": lambda: invitation_html.unusable(NotFound("No such invitation")),
    "invitation signed up": lambda: _answered(PageOutcome.SIGNED_UP),
    "invitation accepted": lambda: _answered(PageOutcome.ACCEPTED),
    "invitation declined": lambda: _answered(PageOutcome.DECLINED),
    "invitation refused": lambda: _answered(PageOutcome.REFUSED, "Wrong email or password."),
}


class _Page(HTMLParser):
    """Every element as (tag, attributes), in document order, and the path of tags to each."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self._open: list[str] = []
        self.feed(document)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes, tuple(self._open)))
        if tag not in ("meta", "link", "input", "br", "hr"):
            self._open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attributes for name, attributes, _ in self.elements if name == tag]

    def classes(self, tag: str) -> list[str]:
        return [attributes.get("class", "") for attributes in self.all(tag)]

    def links(self) -> dict[str, str]:
        return {attributes["href"]: attributes.get("class", "") for attributes in self.all("a")}


def _page(name: str) -> tuple[Response[Any], _Page]:
    response = EVERY_PAGE[name]()
    assert isinstance(response.body, str)
    return response, _Page(response.body)


@pytest.mark.parametrize("name", sorted(EVERY_PAGE))
def test_every_page_links_the_console_stylesheet_and_has_no_inline_style_or_script(name: str) -> None:
    response, page = _page(name)
    body = response.body
    assert isinstance(body, str)
    assert page.all("link") == [
        {"rel": "icon", "href": "/assets/favicon.svg", "type": "image/svg+xml"},
        {"rel": "stylesheet", "href": "/assets/console.css"},
    ]
    assert "<style" not in body.lower()
    assert "<script" not in body.lower()
    for tag, attributes, _ in page.elements:
        assert "style" not in attributes, (tag, attributes)
        assert not any(attribute.startswith("on") for attribute in attributes), (tag, attributes)


@pytest.mark.parametrize("name", sorted(EVERY_PAGE))
def test_every_page_answers_the_page_headers_with_a_policy_without_inline_or_hashes(name: str) -> None:
    response, _ = _page(name)
    assert response.headers == {**html_pages.PAGE_HEADERS, "Content-Type": "text/html; charset=utf-8"}
    policy = response.headers["Content-Security-Policy"]
    assert policy == (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert "unsafe-inline" not in policy and "sha256-" not in policy and "nonce-" not in policy
    assert "script-src" not in policy  # no scripts at all: default-src 'none'
    for name_, value in {
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        **TRANSPORT_HEADERS,
    }.items():
        assert response.headers[name_] == value, name_


@pytest.mark.parametrize("name", sorted(EVERY_PAGE))
def test_every_page_has_the_console_layout(name: str) -> None:
    _, page = _page(name)
    tags = [(tag, attributes, path) for tag, attributes, path in page.elements]
    header = [(a, p) for t, a, p in tags if t == "header"]
    assert header == [({"class": "topbar"}, ("html", "body"))]
    assert ("a", {"class": "brand", "href": "/"}, ("html", "body", "header")) in tags
    assert [(a, p) for t, a, p in tags if t == "main"] == [({"class": "narrow"}, ("html", "body"))]
    assert [(a, p) for t, a, p in tags if t == "section"] == [({"class": "card"}, ("html", "body", "main"))]
    assert [p for t, _, p in tags if t == "h1"] == [("html", "body", "main", "section")]
    # Everything else on the page is inside the card.
    for tag, _, path in tags:
        if tag not in ("html", "head", "meta", "title", "link", "body", "header", "main", "section") and not (
            tag == "a" and path[-1:] == ("header",)
        ):
            assert path[:4] == ("html", "body", "main", "section"), (tag, path)


@pytest.mark.parametrize("name", sorted(EVERY_PAGE))
def test_buttons_forms_and_errors_carry_the_console_classes(name: str) -> None:
    response, page = _page(name)
    for css in page.classes("button"):
        assert css in ("button primary", "button"), css
    if page.all("button"):
        assert page.classes("button").count("button primary") == len(page.all("form"))
    for form in page.all("form"):
        assert form["class"] == "stack" and form["method"] == "post", form
    inputs = [i for i in page.all("input") if i.get("type") != "hidden"]
    labelled = {label["for"] for label in page.all("label")}
    assert all(i["id"] in labelled for i in inputs), inputs
    paragraphs = page.all("p")
    errors = [p for p in paragraphs if p.get("class") == "error"]
    assert all(p == {"class": "error", "role": "alert"} for p in errors), errors
    assert bool(errors) == (response.status_code >= 400), (response.status_code, errors)


def test_the_invitation_page_has_a_main_and_a_secondary_button() -> None:
    _, page = _page("invitation")
    buttons = {(b.get("value"), b["class"]) for b in page.all("button")}
    assert buttons == {("accept", "button primary"), ("decline", "button"), (None, "button primary")}


@pytest.mark.parametrize(
    ("name", "href", "text"),
    [
        ("email confirmed", "/#/sign-in", "Sign in"),
        ("email confirmed, no password", "/#/forgot-password", "Choose a password"),
        ("password changed", "/#/sign-in", "Sign in"),
        ("unlocked", "/#/sign-in", "Sign in"),
        ("invitation accepted", "/#/orgs/org_01acme/general", "Open Kuploy"),
    ],
)
def test_after_success_the_page_leads_into_the_console(name: str, href: str, text: str) -> None:
    response, page = _page(name)
    assert page.links()[href] == "button primary", page.links()
    assert f'href="{href}">{text}</a>' in str(response.body)
    notices = [p for p in page.all("p") if p.get("class") == "notice"]
    assert len(notices) == 1


def test_a_confirmation_on_the_way_to_an_invitation_leads_back_to_it() -> None:
    _, page = _page("email confirmed, back to an invitation")
    assert f"/invitations/{SECRET}" in page.links()
    assert "/#/sign-in" not in page.links()


def test_the_invitation_page_offers_the_console_to_someone_signed_in_as_another_account() -> None:
    response, page = _page("invitation")
    body = str(response.body)
    assert page.links() == {"/": "brand", f"/#/invitations/{SECRET}": ""}
    assert "Signed in to Kuploy with another account? This invitation is for grace@example.com" in body


def test_the_invitation_page_escapes_what_others_chose() -> None:
    hostile = '"><script>alert(1)</script>'
    response = invitation_html.invitation_page('a"b<c', _invitation(org_name=hostile, email=f"x{hostile}@e.test"))
    body = str(response.body)
    assert "<script>" not in body
    assert 'href="/#/invitations/a%22b%3Cc"' in body


def test_the_accepted_page_quotes_the_organization_id() -> None:
    assert invitation_html.console_org_path("org_01/../x") == "/#/orgs/org_01%2F..%2Fx/general"
