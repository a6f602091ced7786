"""Look-alike addresses over HTTP: a sign-up with an address that differs from an
existing account's only by confusables gets the usual 202, no account, and an email
to that address saying it cannot be registered."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.helpers import DevServer, emails_to, log_in, sign_up, token_of, verification_link, wait_for_emails

pytestmark = pytest.mark.e2e


def test_a_look_alike_of_an_existing_address_gets_202_and_no_account(server: DevServer):
    # Its own address: the refused login below counts against the per-IP budget.
    with server.client(source_ip="127.0.0.61") as client:
        tag = uuid.uuid4().hex[:10]
        owner = f"paypal.{tag}@example.com"
        look_alike = f"p\u0430ypal.{tag}@example.com"  # Cyrillic а
        sign_up(client, owner, "Quiet-Harbour-owner-1")
        wait_for_emails(client, owner, 1)

        sign_up(client, look_alike, "Quiet-Harbour-other-2")

        (notice,) = wait_for_emails(client, look_alike, 1)
        assert "cannot be registered" in notice["subject"]
        assert "/verify-email" not in notice["text"]
        assert owner not in notice["text"]
        assert log_in(client, look_alike, "Quiet-Harbour-other-2").status_code == 401
        # The owner's sign-up is untouched: its link still verifies it.
        token = token_of(verification_link(emails_to(client, owner)[-1]))
        verified = client.post("/auth/verify-email", json={"token": token})
        assert verified.status_code == 200, verified.text
        assert log_in(client, owner, "Quiet-Harbour-owner-1").status_code == 200
