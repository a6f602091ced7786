"""A whole account lifecycle over real HTTP: sign up, sessions, refresh-token rotation
and reuse detection, several devices, a forgotten password reset from the email, a
password change, and logout."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.e2e.helpers import (
    DevServer,
    assert_problem,
    bearer,
    emails_to,
    log_in,
    logged_in,
    reset_emails_to,
    reset_link,
    signed_up_and_verified,
    strong_password,
    token_of,
    tokens_of,
    wait_for_emails,
)

pytestmark = pytest.mark.e2e

SESSION_FIELDS = {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}
FORM = re.compile(r"<form[^>]*\bmethod=\"post\"[^>]*\baction=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S | re.I)
HIDDEN_TOKEN = re.compile(r"<input[^>]*\bname=\"token\"[^>]*\bvalue=\"([^\"]*)\"", re.I)
PASSWORD_INPUT = re.compile(r"<input[^>]*\btype=\"password\"[^>]*\bname=\"password\"", re.I)
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) KuployLifecycle/1.0 laptop"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) KuployLifecycle/1.0 phone"


def _refresh(client: httpx.Client, refresh_token: str, **kwargs: Any) -> httpx.Response:
    return client.post("/auth/refresh", json={"refresh_token": refresh_token}, **kwargs)


def _log_in_from(client: httpx.Client, email: str, password: str, user_agent: str) -> dict[str, Any]:
    answer = client.post("/auth/login", json={"email": email, "password": password}, headers={"User-Agent": user_agent})
    return tokens_of(answer)


def _sessions(client: httpx.Client, access_token: str) -> list[dict[str, Any]]:
    answer = client.get("/me/sessions", headers=bearer(access_token))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"items", "next_cursor"}, body
    assert body["next_cursor"] is None
    for item in body["items"]:
        assert set(item) == SESSION_FIELDS, item
        assert item["id"].startswith("ses_")
        created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        used = datetime.fromisoformat(item["last_used_at"].replace("Z", "+00:00"))
        assert created.tzinfo is not None
        assert used >= created
    items: list[dict[str, Any]] = body["items"]
    return items


def _current_session_id(client: httpx.Client, access_token: str) -> str:
    current = [s for s in _sessions(client, access_token) if s["current"]]
    assert len(current) == 1, current
    return str(current[0]["id"])


def _reset_form(page: str) -> tuple[str, str]:
    """The reset page's form action and hidden token, as a browser reads them."""
    form = FORM.search(page)
    assert form is not None, page
    token = HIDDEN_TOKEN.search(form.group(2))
    assert token is not None, page
    assert PASSWORD_INPUT.search(form.group(2)), page
    return html.unescape(form.group(1)), html.unescape(token.group(1))


def test_refresh_rotates_and_reusing_a_rotated_token_revokes_the_whole_session(client: httpx.Client):
    email, password = signed_up_and_verified(client)
    first = _log_in_from(client, email, password, LAPTOP)

    second = tokens_of(_refresh(client, first["refresh_token"]))
    third = tokens_of(_refresh(client, second["refresh_token"]))
    refresh_tokens = [first["refresh_token"], second["refresh_token"], third["refresh_token"]]
    access_tokens = [first["access_token"], second["access_token"], third["access_token"]]
    assert len(set(refresh_tokens)) == 3, "every refresh answers a new refresh token"
    assert len(set(access_tokens)) == 3, "every refresh answers a new access token"
    assert second["expires_in"] == third["expires_in"] == 900
    # The refreshed tokens work, and the rotation kept one session (not three).
    assert client.get("/me", headers=bearer(third["access_token"])).status_code == 200
    sessions = _sessions(client, third["access_token"])
    assert len(sessions) == 1, sessions
    assert sessions[0]["current"] is True

    # Someone presents the FIRST refresh token again (a stolen copy, or a client bug):
    # 401 token_reused, and the whole session is revoked, the latest tokens with it.
    assert_problem(_refresh(client, first["refresh_token"]), 401, "token_reused")
    assert_problem(_refresh(client, third["refresh_token"]), 401, "invalid_token")
    assert_problem(client.get("/me/sessions", headers=bearer(third["access_token"])), 401, "invalid_token")
    # A rotated token stays refused (and stays a reuse).
    assert_problem(_refresh(client, second["refresh_token"]), 401, "token_reused")

    # The account itself is fine: a new login is a new, live session, listed alone.
    fresh = _log_in_from(client, email, password, LAPTOP)
    listed = _sessions(client, fresh["access_token"])
    assert [s["current"] for s in listed] == [True], listed


def test_a_refresh_token_that_was_never_issued_is_invalid(client: httpx.Client):
    assert_problem(_refresh(client, "x" * 43), 401, "invalid_token")
    assert_problem(_refresh(client, ""), 401, "invalid_token")
    assert_problem(client.post("/auth/refresh", json={}), 422, "validation_error")
    # Logging out an unknown token is a no-op: already signed out.
    assert client.post("/auth/logout", json={"refresh_token": "x" * 43}).status_code == 204


def test_sessions_on_two_devices_list_and_revoke(server: DevServer, client: httpx.Client):
    email, password = signed_up_and_verified(client)
    # Each device connects from its own address; the phone also sends a forged
    # X-Forwarded-For, which must not become the session's IP.
    with server.client(source_ip="127.0.0.31") as laptop_http, server.client(source_ip="127.0.0.32") as phone_http:
        laptop = _log_in_from(laptop_http, email, password, LAPTOP)
        phone = tokens_of(
            phone_http.post(
                "/auth/login",
                json={"email": email, "password": password},
                headers={"User-Agent": PHONE, "X-Forwarded-For": "198.51.100.7"},
            )
        )

        seen_by_laptop = {s["user_agent"]: s for s in _sessions(laptop_http, laptop["access_token"])}
        assert set(seen_by_laptop) == {LAPTOP, PHONE}, seen_by_laptop
        assert seen_by_laptop[LAPTOP]["current"] is True
        assert seen_by_laptop[PHONE]["current"] is False
        assert seen_by_laptop[LAPTOP]["ip"] == "127.0.0.31"
        assert seen_by_laptop[PHONE]["ip"] == "127.0.0.32"
        seen_by_phone = {s["user_agent"]: s for s in _sessions(phone_http, phone["access_token"])}
        assert seen_by_phone[PHONE]["current"] is True
        assert seen_by_phone[LAPTOP]["current"] is False
        assert {s["id"] for s in seen_by_phone.values()} == {s["id"] for s in seen_by_laptop.values()}
        phone_session = seen_by_laptop[PHONE]["id"]

        # Another person cannot see or end these sessions: their id is unknown to them.
        _, stranger = logged_in(client)
        assert phone_session not in {s["id"] for s in _sessions(client, stranger["access_token"])}
        assert_problem(
            client.delete(f"/me/sessions/{phone_session}", headers=bearer(stranger["access_token"])), 404, "not_found"
        )
        phone = tokens_of(_refresh(phone_http, phone["refresh_token"], headers={"User-Agent": PHONE}))

        # The laptop signs the phone out.
        ended = laptop_http.delete(f"/me/sessions/{phone_session}", headers=bearer(laptop["access_token"]))
        assert ended.status_code == 204, ended.text
        assert_problem(_refresh(phone_http, phone["refresh_token"]), 401, "invalid_token")
        assert_problem(phone_http.get("/me/sessions", headers=bearer(phone["access_token"])), 401, "invalid_token")
        remaining = _sessions(laptop_http, laptop["access_token"])
        assert [(s["user_agent"], s["current"]) for s in remaining] == [(LAPTOP, True)], remaining
        assert_problem(
            laptop_http.delete(f"/me/sessions/{phone_session}", headers=bearer(laptop["access_token"])),
            404,
            "not_found",
        )
        # The laptop's session is untouched.
        tokens_of(_refresh(laptop_http, laptop["refresh_token"], headers={"User-Agent": LAPTOP}))


def test_whole_lifecycle(server: DevServer, client: httpx.Client):
    # Sign up, verify, log in, refresh twice.
    email, password = signed_up_and_verified(client, name="Lifecycle")
    login = _log_in_from(client, email, password, LAPTOP)
    refreshed = tokens_of(_refresh(client, login["refresh_token"]))
    refreshed = tokens_of(_refresh(client, refreshed["refresh_token"]))
    assert client.get("/me", headers=bearer(refreshed["access_token"])).json()["email"] == email.lower()

    # Reuse of the first refresh token: the family dies.
    assert_problem(_refresh(client, login["refresh_token"]), 401, "token_reused")
    assert_problem(_refresh(client, refreshed["refresh_token"]), 401, "invalid_token")
    assert_problem(client.get("/me/sessions", headers=bearer(refreshed["access_token"])), 401, "invalid_token")

    # Two devices.
    laptop = _log_in_from(client, email, password, LAPTOP)
    phone = _log_in_from(client, email, password, PHONE)
    listed = {s["user_agent"]: s["current"] for s in _sessions(client, laptop["access_token"])}
    assert listed == {LAPTOP: True, PHONE: False}

    # Forgot password: always 202, and an email with the link.
    before = len(emails_to(client, email))
    forgot = client.post("/auth/password/forgot", json={"email": email.upper()})
    assert forgot.status_code == 202, forgot.text
    message = wait_for_emails(client, email, before + 1)[-1]
    assert "reset" in message["subject"].lower(), message["subject"]
    link = reset_link(message)
    assert link.startswith(f"{server.public_base_url}/reset-password?token="), link
    token = token_of(link)
    assert len(token) >= 22  # at least 128 bits, URL-safe base64

    # A mail scanner fetches the link: HEAD and GET show the page and change nothing.
    assert client.head(link).status_code < 500
    page = client.get(link)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    action, form_token = _reset_form(page.text)
    assert (action, form_token) == ("/reset-password", token)
    laptop = tokens_of(_refresh(client, laptop["refresh_token"], headers={"User-Agent": LAPTOP}))
    assert client.get(link).status_code == 200

    # The browser posts the form. A password the policy refuses keeps the link usable.
    weak = client.post(action, data={"token": form_token, "password": "short"})
    assert weak.status_code == 422, weak.text
    assert weak.headers["content-type"].startswith("text/html")
    assert _reset_form(weak.text) == ("/reset-password", token)
    new_password = strong_password()
    done = client.post(action, data={"token": form_token, "password": new_password})
    assert done.status_code == 200, done.text
    assert done.headers["content-type"].startswith("text/html")
    assert "Password changed" in done.text

    # Every old session is dead; the account is told; the new password works, the old not.
    assert_problem(_refresh(client, laptop["refresh_token"]), 401, "invalid_token")
    assert_problem(_refresh(client, phone["refresh_token"]), 401, "invalid_token")
    assert_problem(client.get("/me/sessions", headers=bearer(laptop["access_token"])), 401, "invalid_token")
    changed = wait_for_emails(client, email, before + 2)[-1]
    assert "password was changed" in changed["subject"].lower(), changed["subject"]
    assert token not in changed["text"]
    assert_problem(log_in(client, email, password), 401, "invalid_credentials")
    laptop = _log_in_from(client, email, new_password, LAPTOP)
    phone = _log_in_from(client, email, new_password, PHONE)

    # The link was used up, whichever way it comes back.
    again = client.post(action, data={"token": form_token, "password": strong_password()})
    assert again.status_code == 400, again.text
    assert_problem(
        client.post("/auth/password/reset", json={"token": token, "password": strong_password()}), 400, "invalid_token"
    )
    assert log_in(client, email, new_password).status_code == 200

    # Change the password while signed in: a wrong current password is 403, not 401.
    third_password = strong_password()
    headers = bearer(laptop["access_token"])
    assert_problem(
        client.post(
            "/me/password", json={"current_password": password, "new_password": third_password}, headers=headers
        ),
        403,
        "invalid_credentials",
    )
    assert_problem(
        client.post("/me/password", json={"current_password": new_password, "new_password": "short"}, headers=headers),
        422,
        "password_too_short",
    )
    emails_before_change = len(emails_to(client, email))
    change = client.post(
        "/me/password", json={"current_password": new_password, "new_password": third_password}, headers=headers
    )
    assert change.status_code == 204, change.text
    # The caller's session lives on; every other one ends.
    assert [s["user_agent"] for s in _sessions(client, laptop["access_token"])] == [LAPTOP]
    laptop = tokens_of(_refresh(client, laptop["refresh_token"], headers={"User-Agent": LAPTOP}))
    assert_problem(_refresh(client, phone["refresh_token"]), 401, "invalid_token")
    changed = wait_for_emails(client, email, emails_before_change + 1)[-1]
    assert "password was changed" in changed["subject"].lower(), changed["subject"]
    assert_problem(log_in(client, email, new_password), 401, "invalid_credentials")
    assert log_in(client, email, third_password).status_code == 200

    # Logout: 204, the refresh token dies, and logging out again is still 204.
    session_id = _current_session_id(client, laptop["access_token"])
    out = client.post("/auth/logout", json={"refresh_token": laptop["refresh_token"]})
    assert out.status_code == 204, out.text
    assert out.content == b""
    assert_problem(_refresh(client, laptop["refresh_token"]), 401, "invalid_token")
    assert_problem(client.get("/me/sessions", headers=bearer(laptop["access_token"])), 401, "invalid_token")
    assert client.post("/auth/logout", json={"refresh_token": laptop["refresh_token"]}).status_code == 204
    survivor = _log_in_from(client, email, third_password, PHONE)
    assert session_id not in {s["id"] for s in _sessions(client, survivor["access_token"])}


def test_reset_by_json_and_for_an_unknown_address(client: httpx.Client):
    unknown = "nobody.lifecycle@example.com"
    answer = client.post("/auth/password/forgot", json={"email": unknown})
    assert answer.status_code == 202, answer.text
    assert emails_to(client, unknown) == []

    email, password = signed_up_and_verified(client)
    session = tokens_of(log_in(client, email, password))
    known = client.post("/auth/password/forgot", json={"email": email})
    assert (known.status_code, known.json()) == (answer.status_code, answer.json()), "no enumeration"
    token = token_of(reset_link(reset_emails_to(client, email)[-1]))

    assert_problem(
        client.post("/auth/password/reset", json={"token": token, "password": "short"}), 422, "password_too_short"
    )
    assert_problem(
        client.post("/auth/password/reset", json={"token": "x" * 43, "password": strong_password()}),
        400,
        "invalid_token",
    )
    new_password = strong_password()
    done = client.post("/auth/password/reset", json={"token": token, "password": new_password})
    assert done.status_code == 204, done.text
    assert_problem(_refresh(client, session["refresh_token"]), 401, "invalid_token")
    assert log_in(client, email, new_password).status_code == 200
    assert_problem(
        client.post("/auth/password/reset", json={"token": token, "password": new_password}), 400, "invalid_token"
    )
