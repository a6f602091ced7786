"""POST /orgs/{org_id}/notification-channels refuses webhook targets that are not public
https:// URLs: 422 validation_error and no channel is made."""

from __future__ import annotations

import pytest

from tests.integration import org_support, support
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

REFUSED = [
    "http://hooks.example.com/k",
    "https://user:pw@hooks.example.com/",
    "https://127.0.0.1/",
    "https://localhost/",
    "https://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://10.0.0.1/",
    "https://100.64.0.1/",
    "https://[::1]/",
    "https://[fe80::1]/",
    "https://[::ffff:127.0.0.1]/",
    "https://2130706433/",
    "https://0177.0.0.1/",
    "https://0x7f.1/",
    "https://api.localhost/",
]


@pytest.fixture
def owner(client):
    _, token = org_support.new_user(client, "hooks@example.com")
    return token, org_support.create_org(client, token)


def table() -> list[dict]:
    return sorted(support.scan(), key=lambda item: (item["pk"], item["sk"]))


def test_a_webhook_target_that_could_reach_our_network_is_refused(client, owner):
    token, org_id = owner
    before = table()
    for target in REFUSED:
        answer = client.request(
            "POST",
            f"/orgs/{org_id}/notification-channels",
            {"name": "Hook", "kind": "webhook", "target": target},
            token=token,
        )
        assert_problem(answer, 422, "validation_error")
    assert table() == before
    listed = client.request("GET", f"/orgs/{org_id}/notification-channels", token=token)
    assert listed.json()["items"] == []


def test_a_public_https_webhook_is_made_and_stored_in_its_ascii_form(client, owner):
    token, org_id = owner
    answer = client.request(
        "POST",
        f"/orgs/{org_id}/notification-channels",
        {"name": "Hook", "kind": "webhook", "target": "https://Hooks.Bücher.example/kuploy"},
        token=token,
    )
    assert answer.status == 201, answer.text
    listed = client.request("GET", f"/orgs/{org_id}/notification-channels", token=token).json()["items"]
    assert [item["target"] for item in listed] == ["https://hooks.xn--bcher-kva.example/kuploy"]
