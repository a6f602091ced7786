"""Look-alike addresses over HTTP: a sign-up with an address that differs from an
existing account's only by confusables gets the usual 202, no account, and an email
to that address saying it cannot be registered."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.helpers import DevServer, log_in, sign_up, token_of, verification_link, wait_for_emails

pytestmark = pytest.mark.e2e


def test_a_look_alike_of_a_verified_address_gets_202_and_no_account_and_blocks_nobody(server: DevServer):
    # Its own address: the refused login below counts against the per-IP budget.
    with server.client(source_ip="127.0.0.61") as client:
        tag = uuid.uuid4().hex[:10]
        owner = f"paypal.{tag}@example.com"
        look_alike = f"p\u0430ypal.{tag}@example.com"  # Cyrillic а
        # A squatter signs up the look-alike first, without its inbox: it blocks nobody.
        sign_up(client, look_alike, "Quiet-Harbour-squat-0")
        squatter = token_of(verification_link(wait_for_emails(client, look_alike, 1)[-1]))
        sign_up(client, owner, "Quiet-Harbour-owner-1")
        token = token_of(verification_link(wait_for_emails(client, owner, 1)[-1]))
        verified = client.post("/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert log_in(client, owner, "Quiet-Harbour-owner-1").status_code == 200
        refused = client.post("/auth/verify-email", json={"token": squatter})
        assert refused.status_code == 400 and "looks like" in refused.json()["detail"], refused.text

        # A sign-up with another look-alike of the now verified address: 202, no account.
        look_alike = f"payp\u0430l.{tag}@example.com"
        sign_up(client, look_alike, "Quiet-Harbour-other-2")

        (notice,) = wait_for_emails(client, look_alike, 1)
        assert "cannot be registered" in notice["subject"]
        assert "/verify-email" not in notice["text"]
        assert owner not in notice["text"]
        assert log_in(client, look_alike, "Quiet-Harbour-other-2").status_code == 401
        assert log_in(client, owner, "Quiet-Harbour-owner-1").status_code == 200
