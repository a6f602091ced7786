"""The console's API keys, audit log, access review and billing pages in Chromium.

An owner makes a key in the browser and the test uses it from an HTTP client: within
its scopes, refused outside them; rotated with a grace period (both keys work), then
without (the old one is refused), then revoked (refused within the README's 5-second
bound). The secret is on the page once: after "Done" and a reload it is nowhere. The
audit log narrows by action and actor; the access review flags a key and draws one
bar per live key; only the owner is offered a change of plan, and the API refuses an
admin's change anyway.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.console import flows
from tests.e2e.console.conftest import assert_accessible, shoot
from tests.e2e.helpers import assert_problem, bearer, emails_to

pytestmark = pytest.mark.e2e

KEY = re.compile(r"kpy_[0-9A-Za-z]{36}")
INVITATION_LINK = re.compile(r"https?://[^\s\"'<>]+/invitations/([A-Za-z0-9_-]+)")
# README, "Revocation bound": a revoked key passes for at most 5 s; polled a little longer.
REFUSAL_WATCH_S = 6.0
POLL_EVERY_S = 0.1


# --- steps ----------------------------------------------------------------------------------


def owner_with_org(
    console_api: httpx.Client, verified_account: Callable[[str], tuple[str, str]], name: str
) -> tuple[str, str, str, str]:
    """(email, password, access token, org id) of a new owner of a new organization."""
    email, password = verified_account("Olive")
    token = flows.access_token(console_api, email, password)
    org_id = flows.create_org(console_api, token, name)
    return email, password, token, org_id


def open_signed_in(open_console: Callable[..., Any], email: str, password: str, path: str) -> Any:
    page = open_console()
    flows.sign_in(page, email, password)
    page.goto(f"/#{path}")
    return page


def status_with(api: httpx.Client, key: str, method: str, path: str) -> int:
    return api.request(method, path, headers=bearer(key), json={} if method != "GET" else None).status_code


def refused_within_bound(api: httpx.Client, key: str, org_id: str) -> None:
    """The key is refused (401 invalid_token) within REFUSAL_WATCH_S, polled every 100 ms."""
    deadline = time.monotonic() + REFUSAL_WATCH_S
    while True:
        answer = api.get(f"/orgs/{org_id}/members", headers=bearer(key))
        if answer.status_code == 401:
            assert_problem(answer, 401, "invalid_token")
            return
        assert answer.status_code == 200, answer.text
        assert time.monotonic() < deadline, f"the key still works {REFUSAL_WATCH_S} s later"
        time.sleep(POLL_EVERY_S)


def shown_key(page: Any) -> str:
    secret = page.locator(".secret-box")
    expect(secret).to_have_text(KEY)
    text: str = secret.inner_text().strip()
    return text


def key_row(page: Any, text: str) -> Any:
    return page.get_by_role("row").filter(has_text=text)


def listed_keys(api: httpx.Client, token: str, org_id: str) -> list[dict[str, Any]]:
    answer = api.get(f"/orgs/{org_id}/api-keys?limit=200", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def create_over_http(api: httpx.Client, token: str, org_id: str, description: str, preset: str) -> dict[str, Any]:
    answer = api.post(
        f"/orgs/{org_id}/api-keys", json={"description": description, "preset": preset}, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


def join_as(api: httpx.Client, owner_token: str, org_id: str, email: str, password: str, role: str) -> str:
    """Invite `email` with `role` and accept over HTTP; answers their access token."""
    token = flows.access_token(api, email, password)
    invited = api.post(f"/orgs/{org_id}/invitations", json={"email": email, "role": role}, headers=bearer(owner_token))
    assert invited.status_code == 201, invited.text
    links = [INVITATION_LINK.findall(m["text"]) for m in emails_to(api, email)]
    link_token = [found for found in links if found][-1][0]
    accepted = api.post(f"/invitations/{link_token}/accept", headers=bearer(token))
    assert accepted.status_code == 200, accepted.text
    return token


# --- API keys ---------------------------------------------------------------------------------


def test_a_key_is_shown_once_works_within_its_scopes_rotates_and_is_revoked(
    open_console: Callable[..., Any],
    console_api: httpx.Client,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password, token, org_id = owner_with_org(console_api, verified_account, "Keys Inc")
    page = open_signed_in(open_console, email, password, f"/orgs/{org_id}/api-keys")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()
    expect(page.get_by_text("No API keys yet.")).to_be_visible()
    shoot(page, "keys-api-keys-empty")
    assert_accessible(page)

    # Create: the deploy preset (its scopes are spelled out), 30 days.
    page.get_by_label("Description").fill("Deploy from CI")
    deploy = page.get_by_label("Deploy", exact=True)
    expect(deploy).to_be_checked()  # the default
    expect(page.locator(".choice").filter(has=deploy)).to_contain_text("apps:deploy")
    page.get_by_label("Expires").select_option("30")
    page.get_by_role("button", name="Create key").click()

    expect(page.get_by_role("heading", name="Your new key")).to_be_focused()
    expect(page.get_by_text("Copy this key now. It won't be shown again.")).to_be_visible()
    first = shown_key(page)
    snippets = page.locator("pre.snippet")
    expect(snippets.nth(0)).to_contain_text(first)
    expect(snippets.nth(0)).to_contain_text(
        f'curl -H "Authorization: Bearer $KUPLOY_API_KEY" {page.evaluate("location.origin")}/orgs/{org_id}/members'
    )
    expect(snippets.nth(1)).to_contain_text("- name: ")
    expect(snippets.nth(1)).to_contain_text("KUPLOY_API_KEY: ${{ secrets.KUPLOY_API_KEY }}")
    expect(snippets.nth(1)).to_contain_text('curl --fail -H "Authorization: Bearer $KUPLOY_API_KEY"')
    assert first not in snippets.nth(1).inner_text()  # the workflow reads the repository secret
    page.get_by_role("button", name="Copy key").click()
    expect(page.get_by_text("Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first
    shoot(page, "keys-api-keys-shown-once")
    assert_accessible(page)

    page.get_by_role("button", name="Done").click()
    expect(page.get_by_role("heading", name="Create key")).to_be_focused()
    assert first not in page.content()
    page.reload()
    row = key_row(page, "Deploy from CI")
    expect(row).to_contain_text("Deploy preset")
    expect(row).to_contain_text(first[:10])
    expect(row).to_contain_text("never")  # not used yet
    expect(row).to_contain_text("active")
    assert first not in page.content()
    shoot(page, "keys-api-keys-list")
    assert_accessible(page)

    (made,) = listed_keys(console_api, token, org_id)
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(made["created_at"])
    assert abs(lifetime - timedelta(days=30)) < timedelta(seconds=5), made
    assert made["preset"] == "deploy" and "apps:deploy" in made["scopes"], made

    # The key works from an HTTP client within its scopes, and only there.
    assert status_with(console_api, first, "GET", f"/orgs/{org_id}/members") == 200
    outside = console_api.post(f"/orgs/{org_id}/projects", json={"name": "web"}, headers=bearer(first))
    assert_problem(outside, 403, "forbidden")
    page.reload()
    expect(key_row(page, "Deploy from CI").locator("time")).to_have_count(3)  # created, last used, expires

    # Rotate with one hour of grace: both keys work.
    page.get_by_role("button", name="Rotate Deploy from CI").click()
    dialog = page.get_by_role("dialog", name="Rotate “Deploy from CI”")
    dialog.get_by_label("Keep the old key working for").select_option(label="1 hour")
    dialog.get_by_role("button", name="Rotate key").click()
    expect(page.get_by_role("heading", name="Your rotated key")).to_be_focused()
    second = shown_key(page)
    assert second != first
    expect(page.locator("pre.snippet").nth(0)).to_contain_text(second)
    assert status_with(console_api, first, "GET", f"/orgs/{org_id}/members") == 200
    assert status_with(console_api, second, "GET", f"/orgs/{org_id}/members") == 200
    page.get_by_role("button", name="Done").click()
    expect(key_row(page, first[:10])).to_contain_text(re.compile(r"replaced: stops in (60 minutes|1 hour)"))
    expect(key_row(page, second[:10])).to_contain_text("active")

    # Rotate the new key without grace: it is refused, its successor works.
    key_row(page, second[:10]).get_by_role("button", name="Rotate Deploy from CI").click()
    dialog = page.get_by_role("dialog", name="Rotate “Deploy from CI”")
    expect(dialog.get_by_label("Keep the old key working for")).to_have_value("none")
    dialog.get_by_role("button", name="Rotate key").click()
    third = shown_key(page)
    assert third not in (first, second)
    page.get_by_role("button", name="Done").click()
    refused_within_bound(console_api, second, org_id)
    assert status_with(console_api, third, "GET", f"/orgs/{org_id}/members") == 200
    assert status_with(console_api, first, "GET", f"/orgs/{org_id}/members") == 200  # still in its grace hour
    expect(key_row(page, second[:10])).to_contain_text("revoked")

    # Revoke the newest: a confirmation, then the key is refused within the bound.
    key_row(page, third[:10]).get_by_role("button", name="Revoke Deploy from CI").click()
    confirm = page.get_by_role("dialog", name="Revoke “Deploy from CI”?")
    expect(confirm).to_contain_text(third[:10])
    confirm.get_by_role("button", name="Revoke key").click()
    expect(key_row(page, third[:10])).to_contain_text("revoked")
    expect(key_row(page, third[:10]).get_by_role("button")).to_have_count(0)
    refused_within_bound(console_api, third, org_id)
    for secret in (first, second, third):
        assert secret not in page.content()


def test_a_key_with_individual_scopes(
    open_console: Callable[..., Any],
    console_api: httpx.Client,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password, token, org_id = owner_with_org(console_api, verified_account, "Scoped Ltd")
    page = open_signed_in(open_console, email, password, f"/orgs/{org_id}/api-keys")
    page.get_by_label("Description").fill("Project reader")
    expect(page.get_by_label("projects:read")).to_be_hidden()
    page.get_by_label("Choose individual scopes").check()

    # None ticked: the message is next to the scopes, and nothing is made.
    page.get_by_role("button", name="Create key").click()
    expect(page.get_by_text("Choose at least one scope.")).to_be_visible()
    expect(page.get_by_label("org:read")).to_be_focused()
    assert listed_keys(console_api, token, org_id) == []

    page.get_by_label("projects:read").check()
    page.get_by_label("members:read").check()
    page.get_by_label("Expires").select_option("never")
    page.get_by_role("button", name="Create key").click()
    secret = shown_key(page)
    page.get_by_role("button", name="Done").click()

    (made,) = listed_keys(console_api, token, org_id)
    assert sorted(made["scopes"]) == ["members:read", "projects:read"] and made["preset"] is None, made
    assert made["expires_at"] is None, made
    row = key_row(page, "Project reader")
    expect(row).to_contain_text("2 scopes")
    expect(row.get_by_role("cell").nth(5)).to_have_text("never")  # expires
    row.get_by_text("2 scopes").click()
    expect(row.get_by_role("listitem")).to_have_text(["members:read", "projects:read"])

    assert status_with(console_api, secret, "GET", f"/orgs/{org_id}/projects") == 200
    assert_problem(console_api.get(f"/orgs/{org_id}/audit-log", headers=bearer(secret)), 403, "forbidden")


# --- audit log ----------------------------------------------------------------------------------


def test_the_audit_log_shows_key_events_and_its_filters_narrow_it(
    open_console: Callable[..., Any],
    console_api: httpx.Client,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password, token, org_id = owner_with_org(console_api, verified_account, "Audit Co")
    kept = create_over_http(console_api, token, org_id, "Kept key", "read-only")
    gone = create_over_http(console_api, token, org_id, "Gone key", "deploy")
    assert console_api.delete(f"/orgs/{org_id}/api-keys/{gone['id']}", headers=bearer(token)).status_code == 204
    assert (
        console_api.patch(f"/orgs/{org_id}", json={"name": "Audit Company"}, headers=bearer(token)).status_code == 200
    )

    page = open_signed_in(open_console, email, password, f"/orgs/{org_id}/audit-log")
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()
    rows = page.locator("table.data tbody tr")
    expect(rows.filter(has_text="api_key.created")).to_have_count(2)
    expect(rows.filter(has_text="api_key.revoked")).to_have_count(1)
    expect(rows.filter(has_text="org.updated")).to_have_count(1)
    created_row = rows.filter(has_text="api_key.created").filter(has_text="Kept key")
    expect(created_row).to_contain_text(email.lower())  # the actor
    expect(created_row).to_contain_text(kept["id"])  # the target
    expect(created_row).to_contain_text("description: Kept key")
    shoot(page, "keys-audit-log")
    assert_accessible(page)

    page.get_by_label("Action").fill("api_key.revoked")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(gone["id"])
    assert "action=api_key.revoked" in page.url

    # A group, and an actor in another case, together; the filter survives a reload.
    page.get_by_label("Action").fill("api_key")
    page.get_by_label("Actor").fill(email.upper())
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="org.updated")).to_have_count(0)
    page.reload()
    expect(page.get_by_label("Action")).to_have_value("api_key")
    expect(rows).to_have_count(3)

    page.get_by_label("Actor").fill("nobody@example.com")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page.get_by_text("No events match these filters.")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(rows.filter(has_text="org.created")).to_have_count(1)


# --- access review -------------------------------------------------------------------------------


def test_the_access_review_flags_a_key_never_used_and_charts_every_live_key(
    open_console: Callable[..., Any],
    console_api: httpx.Client,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password, token, org_id = owner_with_org(console_api, verified_account, "Review Co")
    create_over_http(console_api, token, org_id, "Everything key", "full")  # never used
    used = create_over_http(console_api, token, org_id, "Deploy key", "deploy")
    assert status_with(console_api, used["key"], "GET", f"/orgs/{org_id}/members") == 200
    revoked = create_over_http(console_api, token, org_id, "Revoked key", "read-only")
    assert console_api.delete(f"/orgs/{org_id}/api-keys/{revoked['id']}", headers=bearer(token)).status_code == 204
    review = console_api.get(f"/orgs/{org_id}/access-review", headers=bearer(token)).json()
    assert len(review["api_keys"]) == 2, review

    page = open_signed_in(open_console, email, password, f"/orgs/{org_id}/access-review")
    expect(page.get_by_role("heading", name="Access review", level=1)).to_be_visible()

    # The never-used key holding every scope is a medium finding, fixed on the API keys page.
    medium = page.locator(".finding[data-code=key_full_scope]")
    expect(medium).to_contain_text("Everything key")
    expect(medium.get_by_role("link", name="Fix in API keys")).to_have_attribute("href", f"#/orgs/{org_id}/api-keys")
    # The owner has no 2FA: a high finding, fixed on the Team page.
    high = page.locator(".finding[data-code=admin_without_2fa]")
    expect(high).to_contain_text(email.lower())
    expect(high.get_by_role("link", name="Fix in Team")).to_have_attribute("href", f"#/orgs/{org_id}/team")
    expect(page.get_by_role("heading", name="High (1)")).to_be_visible()

    # One bar per live key (the revoked one is not drawn), labelled, with a summary.
    chart = page.locator("svg.chart")
    expect(chart.locator("rect.bar")).to_have_count(len(review["api_keys"]))
    expect(chart.locator("rect.bar-fresh")).to_have_count(2)
    expect(chart).to_contain_text("Everything key")
    expect(chart).to_contain_text("never used")
    expect(
        page.get_by_role("img", name=re.compile(r"Age and last use of 2 live keys: 0 stale, 0 unused"))
    ).to_be_visible()
    keys_table = page.get_by_role("table", name="API keys")
    expect(keys_table.get_by_role("row")).to_have_count(3)  # a header and two keys
    expect(keys_table.get_by_role("row").filter(has_text="Everything key")).to_contain_text("never")
    expect(page.get_by_role("table", name="Members").get_by_role("row").filter(has_text=email.lower())).to_contain_text(
        "no 2FA"
    )
    shoot(page, "keys-access-review")
    assert_accessible(page)

    medium.get_by_role("link", name="Fix in API keys").click()
    expect(page.get_by_role("heading", name="API keys", level=1)).to_be_visible()


# --- billing -----------------------------------------------------------------------------------


def test_only_the_owner_changes_the_plan(
    open_console: Callable[..., Any],
    console_api: httpx.Client,
    verified_account: Callable[[str], tuple[str, str]],
) -> None:
    email, password, token, org_id = owner_with_org(console_api, verified_account, "Billing Co")
    admin_email, admin_password = verified_account("Adam")
    admin_token = join_as(console_api, token, org_id, admin_email, admin_password, "admin")

    page = open_signed_in(open_console, email, password, f"/orgs/{org_id}/billing")
    expect(page.get_by_role("heading", name="Billing", level=1)).to_be_visible()
    nav = page.get_by_role("navigation", name="Organization settings")
    expect(nav.get_by_role("link", name="Billing")).to_be_visible()
    expect(page.get_by_text("This organization is on the Free plan.")).to_be_visible()
    expect(page.get_by_label("Free", exact=True)).to_be_checked()
    shoot(page, "keys-billing")
    assert_accessible(page)
    page.get_by_label("Pro", exact=True).check()
    page.get_by_role("button", name="Change plan").click()
    expect(page.get_by_role("status").filter(has_text="Plan changed to Pro.")).to_be_visible()
    expect(page.get_by_text("This organization is on the Pro plan.")).to_be_visible()
    assert console_api.get(f"/orgs/{org_id}/billing", headers=bearer(token)).json()["plan"] == "pro"

    # An admin reads the plan but is offered no change; the API refuses one anyway.
    admin_page = open_signed_in(open_console, admin_email, admin_password, f"/orgs/{org_id}/billing")
    expect(admin_page.get_by_text("This organization is on the Pro plan.")).to_be_visible()
    admin_nav = admin_page.get_by_role("navigation", name="Organization settings")
    expect(admin_nav.get_by_role("link", name="API keys")).to_be_visible()
    expect(admin_nav.get_by_role("link", name="Billing")).to_have_count(0)
    expect(admin_page.get_by_role("button", name="Change plan")).to_have_count(0)
    expect(admin_page.get_by_role("radio")).to_have_count(0)
    expect(admin_page.get_by_text("Only the organization's owner can change the plan.")).to_be_visible()
    assert_accessible(admin_page)
    refused = console_api.put(f"/orgs/{org_id}/billing", json={"plan": "team"}, headers=bearer(admin_token))
    assert_problem(refused, 403, "forbidden")
    assert console_api.get(f"/orgs/{org_id}/billing", headers=bearer(token)).json()["plan"] == "pro"
