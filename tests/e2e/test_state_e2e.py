"""`--state FILE`: accounts and the signing key survive a restart."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.helpers import DevServer, bearer, log_in, signed_up_and_verified

pytestmark = pytest.mark.e2e


def test_state_file_keeps_accounts_and_tokens_across_a_restart(tmp_path: Path, start_server: Callable[..., DevServer]):
    state = tmp_path / "state.json"

    first = start_server(state=state)
    with first.client() as client:
        email, password = signed_up_and_verified(client, name="Persistent")
        answer = log_in(client, email, password)
        assert answer.status_code == 200, answer.text
        access_token = answer.json()["access_token"]
        me_before = client.get("/me", headers=bearer(access_token)).json()

    assert first.stop() == 0, first.log_text()
    log = first.log_text()
    assert "stopped" in log.splitlines(), log
    assert f"state: written to {state}" in log, log
    assert state.exists(), log
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["items"] and saved["signing_key"]

    second = start_server(state=state)
    assert f"state: {len(saved['items'])} items read from {state}" in second.log_text()
    with second.client() as client:
        me_after = client.get("/me", headers=bearer(access_token))
        assert me_after.status_code == 200, me_after.text
        assert me_after.json() == me_before
        assert log_in(client, email.upper(), password).status_code == 200
        # No email was sent by this run: the account did not have to be created again.
        assert client.get("/_dev/emails").json() == []
