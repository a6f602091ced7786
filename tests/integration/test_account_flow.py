"""Sign up, verify, log in and read /me through the handlers on moto."""

from __future__ import annotations

from tests.integration.gateway_client import GatewayClient


def test_sign_up_verify_log_in_and_read_me(aws):
    client = GatewayClient(aws)
    client.sign_up_and_verify("Grace@Example.com", name="Grace")
    tokens = client.log_in("grace@example.COM")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900

    me = client.request("GET", "/me", token=tokens["access_token"])
    assert me.status == 200, me.text
    body = me.json()
    assert body["email"] == "grace@example.com"
    assert body["name"] == "Grace"
    assert body["email_verified"] is True
    assert body["two_factor_enabled"] is False
    assert body["organizations"] == []
    assert body["id"].startswith("usr_")

    renamed = client.request("PATCH", "/me", {"name": "Grace Hopper"}, token=tokens["access_token"])
    assert renamed.status == 200
    assert renamed.json()["name"] == "Grace Hopper"
    assert client.request("GET", "/me", token=tokens["access_token"]).json()["name"] == "Grace Hopper"
