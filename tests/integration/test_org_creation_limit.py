"""At most 10 organizations a day per account (issue 11: the service must not be a
phishing relay; each organization may send 100 invitation emails an hour), on moto
through the local gateway."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kuploy_access.adapters.dynamodb.keys import ORG_SK
from kuploy_access.domain.rate_limits import ORGS_CREATED_PER_ACCOUNT
from tests.integration import support
from tests.integration.org_support import create_org, new_user
from tests.integration.shared_world import aws, client, gateway, world  # noqa: F401 - fixtures
from tests.integration.support import assert_problem

pytestmark = pytest.mark.usefixtures("cheap_password_hashing")

DAY = int(ORGS_CREATED_PER_ACCOUNT.window.total_seconds())


@pytest.fixture
def clock_clear_of_midnight(service_clock):
    """The day's window must not end in the middle of the test."""
    left = DAY - service_clock.now().timestamp() % DAY
    if left < 600:
        service_clock.advance(timedelta(seconds=left + 1))
    return service_clock


def test_the_eleventh_organization_of_the_day_answers_429(client, clock_clear_of_midnight):
    _, token = new_user(client, "prolific@example.com", "Pat Prolific")
    for index in range(10):
        create_org(client, token, f"Org {index}")

    answer = client.request("POST", "/orgs", {"name": "One too many"}, token=token)

    assert_problem(answer, 429, "rate_limited")
    retry_after = int(answer.headers["retry-after"])
    assert 0 < retry_after <= DAY
    listed = client.request("GET", "/orgs?limit=200", token=token).json()["items"]
    assert len(listed) == 10 and "One too many" not in {org["name"] for org in listed}
    assert len([item for item in support.scan() if item["sk"] == ORG_SK]) == 10

    # Someone else still creates theirs; the next day, so does Pat.
    _, other = new_user(client, "other@example.com", "Olga Other")
    create_org(client, other, "Unaffected")
    clock_clear_of_midnight.advance(timedelta(seconds=retry_after + 1))
    create_org(client, token, "Tomorrow's")
