"""An organization's or a resource's name has one maximum, the domain's, and the request
schemas publish it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.organizations import MAX_RESOURCE_NAME_LENGTH, resource_name
from kuploy_access.http.schemas.organizations import CreateOrgRequest, UpdateOrgRequest
from kuploy_access.http.schemas.resources import ChannelRequest, DatabaseRequest, NameRequest


def test_the_schema_accepts_exactly_what_the_domain_accepts() -> None:
    longest = "a" * MAX_RESOURCE_NAME_LENGTH
    assert resource_name(longest) == longest
    assert CreateOrgRequest(name=longest).name == longest
    assert UpdateOrgRequest(name=longest).name == longest


@pytest.mark.parametrize("model", [CreateOrgRequest, UpdateOrgRequest, NameRequest])
def test_one_character_more_is_refused_by_the_schema_as_by_the_domain(model: type) -> None:
    too_long = "a" * (MAX_RESOURCE_NAME_LENGTH + 1)
    with pytest.raises(ValidationFailed):
        resource_name(too_long)
    with pytest.raises(ValidationError):
        model(name=too_long)


@pytest.mark.parametrize(
    ("model", "other_fields"),
    [
        (NameRequest, {}),
        (DatabaseRequest, {"engine": "postgres"}),
        (ChannelRequest, {"kind": "email", "target": "ops@example.com"}),
    ],
)
def test_resource_names_have_the_same_limit(model: type, other_fields: dict[str, str]) -> None:
    assert model(name="a" * MAX_RESOURCE_NAME_LENGTH, **other_fields).name == "a" * MAX_RESOURCE_NAME_LENGTH
    with pytest.raises(ValidationError):
        model(name="a" * (MAX_RESOURCE_NAME_LENGTH + 1), **other_fields)
