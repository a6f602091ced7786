"""Sessions through the handlers on moto: refresh-token rotation and reuse, logout,
listing and revoking sessions (issue 3, "Sessions")."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from kuploy_access.adapters.dynamodb.keys import (
    REFRESH_TOKEN_PK_PREFIX,
    REFRESH_TOKEN_SK,
    refresh_token_pk,
    session_sk,
    user_pk,
)
from kuploy_access.adapters.dynamodb.sessions import DynamoSessionRepository
from kuploy_access.domain.one_time_tokens import hash_secret
from tests.integration import support
from tests.integration.gateway_client import GatewayClient
from tests.integration.support import assert_problem, meet_before, run_together

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")


@pytest.fixture(scope="module")
def world() -> Iterator[Any]:
    """One moto world for the module (creating one costs more than most tests here)."""
    with support.moto_world() as outbox:
        yield outbox


@pytest.fixture
def aws(world) -> Any:
    """Overrides conftest's: the shared world, emptied, with an outbox of this test's emails."""
    support.wipe_table()
    return support.OutboxSince(world)


@pytest.fixture
def client(aws):
    return GatewayClient(aws)


TOKEN_FIELDS = {"access_token", "refresh_token", "token_type", "expires_in"}
SESSION_FIELDS = {"id", "created_at", "last_used_at", "ip", "user_agent", "current"}


def refresh(client: GatewayClient, token: str, **kwargs: Any):
    return client.request("POST", "/auth/refresh", {"refresh_token": token}, **kwargs)


def log_out(client: GatewayClient, token: str):
    return client.request("POST", "/auth/logout", {"refresh_token": token})


def list_sessions(client: GatewayClient, access_token: str, query: str = ""):
    return client.request("GET", f"/me/sessions{query}", token=access_token)


def session_id_of(tokens: dict[str, Any]) -> str:
    sid: str = support.jwt_parts(tokens["access_token"])[1]["sid"]
    return sid


def session_item(user_id: str, session_id: str) -> dict[str, Any]:
    item = support.raw_item(user_pk(user_id), session_sk(session_id))
    assert item is not None
    return item


def user_id_of(email: str) -> str:
    return next(user["user_id"] for user in support.users() if user["email"] == email)


def assert_dead(client: GatewayClient, tokens: dict[str, Any]) -> None:
    """Neither the refresh token nor (on the routes that check the session) the access token works."""
    assert_problem(refresh(client, tokens["refresh_token"]), 401, "invalid_token")
    assert_problem(list_sessions(client, tokens["access_token"]), 401, "invalid_token")


# --- refresh -----------------------------------------------------------------------------


def test_refresh_answers_a_new_pair_for_the_same_session(client):
    client.sign_up_and_verify("ada@example.com")
    first = client.log_in("ada@example.com")
    user_id = user_id_of("ada@example.com")

    answer = refresh(client, first["refresh_token"])

    assert answer.status == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    second = answer.json()
    assert set(second) == TOKEN_FIELDS
    assert second["token_type"] == "Bearer"
    assert second["expires_in"] == 900
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    claims = support.jwt_parts(second["access_token"])[1]
    assert claims["sub"] == user_id
    assert claims["sid"] == session_id_of(first)
    # The new token is stored hashed, never in the clear; the session now points at it.
    assert support.raw_item(refresh_token_pk(hash_secret(second["refresh_token"])), REFRESH_TOKEN_SK) is not None
    assert second["refresh_token"] not in repr(support.scan())
    assert session_item(user_id, claims["sid"])["refresh_token_hash"] == hash_secret(second["refresh_token"])
    # And it works in turn; the new access token passes the authorizer.
    assert refresh(client, second["refresh_token"]).status == 200
    assert list_sessions(client, second["access_token"]).status == 200


def test_reusing_a_rotated_refresh_token_is_token_reused_and_revokes_the_session(client):
    client.sign_up_and_verify("ada@example.com")
    first = client.log_in("ada@example.com")
    other_session = client.log_in("ada@example.com")
    second = refresh(client, first["refresh_token"]).json()
    third = refresh(client, second["refresh_token"]).json()

    reused = refresh(client, first["refresh_token"])

    assert_problem(reused, 401, "token_reused")
    # Every token descended from that login is dead, the newest one too...
    assert_dead(client, third)
    assert_problem(refresh(client, second["refresh_token"]), 401, "token_reused")
    item = session_item(user_id_of("ada@example.com"), session_id_of(first))
    assert item.get("revoked_at"), item
    # ...while the same person's other session lives on.
    assert refresh(client, other_session["refresh_token"]).status == 200


def test_reusing_the_token_of_the_latest_rotation_also_revokes(client):
    client.sign_up_and_verify("ada@example.com")
    first = client.log_in("ada@example.com")
    second = refresh(client, first["refresh_token"]).json()

    assert_problem(refresh(client, first["refresh_token"]), 401, "token_reused")

    assert_dead(client, second)


@pytest.mark.parametrize("token", ["", "x", "not-a-refresh-token", "A" * 43, "a" * 512])
def test_an_unknown_refresh_token_is_401_invalid_token(client, token):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")

    assert_problem(refresh(client, token), 401, "invalid_token")
    assert_problem(refresh(client, tokens["access_token"]), 401, "invalid_token")
    # Nothing was revoked by the guesses.
    assert refresh(client, tokens["refresh_token"]).status == 200


@pytest.mark.parametrize(
    "body", [{}, {"refresh_token": 5}, {"refresh_token": None}, {"refresh_token": "x" * 513}, {"token": "x"}]
)
def test_a_malformed_refresh_body_is_422(client, body):
    assert_problem(client.request("POST", "/auth/refresh", body), 422, "validation_error")
    if body == {}:
        # A browser's sign-out, with nothing to sign out (tests/integration/test_refresh_cookie.py).
        assert client.request("POST", "/auth/logout", body).status == 204
    else:
        assert_problem(client.request("POST", "/auth/logout", body), 422, "validation_error")


def test_refresh_makes_at_most_two_dynamodb_requests(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    tokens = refresh(client, tokens["refresh_token"]).json()  # warm: the signing key is per container

    with support.count_dynamodb_requests() as requests:
        answer = refresh(client, tokens["refresh_token"])

    assert answer.status == 200, answer.text
    assert requests.by_hook == requests.by_moto, requests  # no client escaped the hooks
    assert 1 <= len(requests.by_hook) <= 2, requests.by_hook


def test_refresh_records_where_the_session_was_last_used(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    user_id = user_id_of("ada@example.com")
    before = session_item(user_id, session_id_of(tokens))
    service_clock.advance(timedelta(minutes=5))

    answer = refresh(
        client, tokens["refresh_token"], headers={"User-Agent": "kuploy-cli/2.0"}, source_ip="198.51.100.9"
    )

    assert answer.status == 200
    after = session_item(user_id, session_id_of(tokens))
    assert after["ip"] == "198.51.100.9"
    assert after["user_agent"] == "kuploy-cli/2.0"
    assert after["created_at"] == before["created_at"]
    assert after["last_used_at"] > before["last_used_at"]


def test_a_session_ends_after_seven_idle_days(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    service_clock.advance(timedelta(days=6, hours=23))
    tokens = refresh(client, tokens["refresh_token"]).json()  # used: the idle clock starts again

    service_clock.advance(timedelta(days=6, hours=23))
    tokens = refresh(client, tokens["refresh_token"]).json()
    service_clock.advance(timedelta(days=7, seconds=1))

    assert_problem(refresh(client, tokens["refresh_token"]), 401, "invalid_token")


def test_a_session_ends_thirty_days_after_login_however_active(client, service_clock):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    for _ in range(4):
        service_clock.advance(timedelta(days=6))
        answer = refresh(client, tokens["refresh_token"])
        assert answer.status == 200, answer.text
        tokens = answer.json()
    service_clock.advance(timedelta(days=5, hours=23))
    tokens = refresh(client, tokens["refresh_token"]).json()  # day 29 and 23 hours: still live

    service_clock.advance(timedelta(hours=1, seconds=1))

    assert_problem(refresh(client, tokens["refresh_token"]), 401, "invalid_token")


@pytest.mark.parametrize("threads", [2, 6])
def test_racing_refreshes_of_one_token_let_exactly_one_win(client, monkeypatch, threads):
    """Every thread has read the token (unused for all of them) before any exchanges it:
    only the conditional write can make the exchange single-use."""
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    client.gateway.load_all()
    rotate = DynamoSessionRepository.rotate
    meet_before(monkeypatch, DynamoSessionRepository, "rotate", threads)

    outcomes = run_together(threads, lambda i: refresh(client, tokens["refresh_token"]))
    monkeypatch.setattr(DynamoSessionRepository, "rotate", rotate)  # no more meeting

    answers = [value for kind, value in outcomes if kind == "ok"]
    assert len(answers) == threads, outcomes
    won = [answer for answer in answers if answer.status == 200]
    assert len(won) == 1, [(answer.status, answer.text) for answer in answers]
    for answer in answers:
        if answer.status != 200:
            assert_problem(answer, 401, "token_reused")
    # One new refresh token was issued; the losers' reuse revoked the session.
    refresh_items = support.items_with_prefix(REFRESH_TOKEN_PK_PREFIX)
    assert len(refresh_items) == 2, refresh_items
    assert_dead(client, won[0].json())


def test_logout_revokes_the_session(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    other = client.log_in("ada@example.com")

    answer = log_out(client, tokens["refresh_token"])

    assert answer.status == 204, answer.text
    assert answer.body == b""
    assert_dead(client, tokens)
    assert session_item(user_id_of("ada@example.com"), session_id_of(tokens)).get("revoked_at")
    # Only that session: the other login still works.
    assert refresh(client, other["refresh_token"]).status == 200


def test_logout_with_a_rotated_token_revokes_the_session_too(client):
    client.sign_up_and_verify("ada@example.com")
    first = client.log_in("ada@example.com")
    second = refresh(client, first["refresh_token"]).json()

    assert log_out(client, first["refresh_token"]).status == 204

    assert_dead(client, second)


@pytest.mark.parametrize("token", ["", "unknown", "A" * 43])
def test_logout_with_an_unknown_token_is_204(client, token):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")

    answer = log_out(client, token)

    assert answer.status == 204, answer.text
    assert refresh(client, tokens["refresh_token"]).status == 200


def test_logout_twice_is_204_both_times(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    assert log_out(client, tokens["refresh_token"]).status == 204
    assert log_out(client, tokens["refresh_token"]).status == 204


# --- the caller's sessions ------------------------------------------------------------------


def test_the_list_shows_each_live_session_with_its_fields(client):
    client.sign_up_and_verify("ada@example.com")
    laptop = client.log_in("ada@example.com")
    phone_answer = client.request(
        "POST",
        "/auth/login",
        {"email": "ada@example.com", "password": support.PASSWORD},
        headers={"User-Agent": "KuployPhone/3.1"},
        source_ip="198.51.100.20",
    )
    phone = phone_answer.json()

    answer = list_sessions(client, laptop["access_token"])

    assert answer.status == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert set(body) == {"items", "next_cursor"}
    assert body["next_cursor"] is None
    items = {item["id"]: item for item in body["items"]}
    assert set(items) == {session_id_of(laptop), session_id_of(phone)}
    for item in items.values():
        assert set(item) == SESSION_FIELDS, item
        assert item["id"].startswith("ses_")
        created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
        assert created.tzinfo is not None
        assert abs(created - datetime.now(UTC)) < timedelta(minutes=5)
        datetime.fromisoformat(item["last_used_at"].replace("Z", "+00:00"))
    assert items[session_id_of(laptop)] | {"created_at": None, "last_used_at": None} == {
        "id": session_id_of(laptop),
        "created_at": None,
        "last_used_at": None,
        "ip": "203.0.113.7",
        "user_agent": "pytest",
        "current": True,
    }
    assert items[session_id_of(phone)]["ip"] == "198.51.100.20"
    assert items[session_id_of(phone)]["user_agent"] == "KuployPhone/3.1"
    assert items[session_id_of(phone)]["current"] is False
    # Asked from the phone, the phone is the current one.
    from_phone = {item["id"]: item["current"] for item in list_sessions(client, phone["access_token"]).json()["items"]}
    assert from_phone == {session_id_of(laptop): False, session_id_of(phone): True}
    # No secret of a session is in the list.
    for secret in (laptop["refresh_token"], hash_secret(laptop["refresh_token"]), hash_secret(phone["refresh_token"])):
        assert secret not in answer.text


def test_the_list_leaves_out_revoked_and_expired_sessions_and_other_users(client):
    client.sign_up_and_verify("ada@example.com")
    client.sign_up_and_verify("bob@example.com")
    mine = client.log_in("ada@example.com")
    signed_out = client.log_in("ada@example.com")
    reused = client.log_in("ada@example.com")
    expired = client.log_in("ada@example.com")
    client.log_in("bob@example.com")
    assert log_out(client, signed_out["refresh_token"]).status == 204
    refresh(client, reused["refresh_token"])
    assert refresh(client, reused["refresh_token"]).status == 401
    past = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
    boto3.client("dynamodb", region_name=support.REGION).update_item(
        TableName=support.table_name(),
        Key={"pk": {"S": user_pk(user_id_of("ada@example.com"))}, "sk": {"S": session_sk(session_id_of(expired))}},
        UpdateExpression="SET idle_expires_at = :past",
        ExpressionAttributeValues={":past": {"S": past}},
    )

    answer = list_sessions(client, mine["access_token"])

    assert answer.status == 200, answer.text
    assert [item["id"] for item in answer.json()["items"]] == [session_id_of(mine)]


def test_the_list_pages_with_limit_and_cursor(client):
    client.sign_up_and_verify("ada@example.com")
    logins = [client.log_in("ada@example.com") for _ in range(5)]
    everyone = {session_id_of(tokens) for tokens in logins}
    access_token = logins[0]["access_token"]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        answer = list_sessions(client, access_token, query)
        assert answer.status == 200, answer.text
        body = answer.json()
        assert len(body["items"]) <= 2
        seen.extend(item["id"] for item in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
        assert pages < 10, "the cursor never ends"

    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert set(seen) == everyone
    assert len(list_sessions(client, access_token, "?limit=200").json()["items"]) == 5
    assert len(list_sessions(client, access_token).json()["items"]) == 5


@pytest.mark.parametrize("query", ["?limit=201", "?limit=0", "?limit=-1", "?limit=ten", "?limit=1000000"])
def test_a_limit_outside_1_to_200_is_422(client, query):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    assert_problem(list_sessions(client, tokens["access_token"], query), 422, "validation_error")


@pytest.mark.parametrize("cursor", ["garbage", "eyJvIjogLTF9", "eyJ4IjogMX0", "%00", "x" * 300])
def test_a_cursor_the_api_did_not_give_out_is_4xx(client, cursor):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    answer = list_sessions(client, tokens["access_token"], f"?cursor={cursor}")
    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert answer.json()["code"] == "validation_error"


def test_the_session_routes_need_a_token(client):
    assert_problem(
        client.request("GET", "/me/sessions", headers={"Authorization": "Bearer nope"}), 401, "invalid_token"
    )
    forged = support.forge_jwt(support.ACCESS_HEADER, support.access_claims("usr_x"), b"not the key")
    assert_problem(client.request("DELETE", "/me/sessions/ses_x", token=forged), 401, "invalid_token")


def test_deleting_another_session_of_mine_signs_it_out(client):
    client.sign_up_and_verify("ada@example.com")
    mine = client.log_in("ada@example.com")
    other = client.log_in("ada@example.com")

    answer = client.request("DELETE", f"/me/sessions/{session_id_of(other)}", token=mine["access_token"])

    assert answer.status == 204, answer.text
    assert_dead(client, other)
    remaining = [item["id"] for item in list_sessions(client, mine["access_token"]).json()["items"]]
    assert remaining == [session_id_of(mine)]
    # Deleting it again: there is no such live session any more.
    again = client.request("DELETE", f"/me/sessions/{session_id_of(other)}", token=mine["access_token"])
    assert_problem(again, 404, "not_found")


def test_deleting_the_current_session_signs_the_caller_out(client):
    client.sign_up_and_verify("ada@example.com")
    mine = client.log_in("ada@example.com")

    answer = client.request("DELETE", f"/me/sessions/{session_id_of(mine)}", token=mine["access_token"])

    assert answer.status == 204, answer.text
    assert_dead(client, mine)


def test_another_users_session_is_404_and_stays_live(client):
    client.sign_up_and_verify("ada@example.com")
    client.sign_up_and_verify("eve@example.com")
    ada = client.log_in("ada@example.com")
    eve = client.log_in("eve@example.com")

    answer = client.request("DELETE", f"/me/sessions/{session_id_of(ada)}", token=eve["access_token"])

    assert_problem(answer, 404, "not_found")
    assert not session_item(user_id_of("ada@example.com"), session_id_of(ada)).get("revoked_at")
    assert refresh(client, ada["refresh_token"]).status == 200
    # An id that never existed answers the same.
    unknown = client.request("DELETE", "/me/sessions/ses_00000000000000000000000000", token=eve["access_token"])
    assert_problem(unknown, 404, "not_found")
    assert unknown.body.replace(b"ses_00000000000000000000000000", b"") == answer.body.replace(
        session_id_of(ada).encode(), b""
    )


def test_after_a_logout_the_session_routes_refuse_its_unexpired_access_token(client):
    client.sign_up_and_verify("ada@example.com")
    tokens = client.log_in("ada@example.com")
    other = client.log_in("ada@example.com")
    assert list_sessions(client, tokens["access_token"]).status == 200

    assert log_out(client, tokens["refresh_token"]).status == 204

    claims = support.jwt_parts(tokens["access_token"])[1]
    assert claims["exp"] > datetime.now(UTC).timestamp() + 60  # not expired
    assert_problem(list_sessions(client, tokens["access_token"]), 401, "invalid_token")
    revoke = client.request("DELETE", f"/me/sessions/{session_id_of(other)}", token=tokens["access_token"])
    assert_problem(revoke, 401, "invalid_token")
    assert refresh(client, other["refresh_token"]).status == 200
