"""Every function in template.yaml gets every setting kuploy_access.config requires:
without one, it would stop at cold start (config.MissingSetting)."""

from __future__ import annotations

from typing import Any

import pytest

from devserver.template import load_template
from kuploy_access.config import REGION_VARIABLES, REQUIRED_VARIABLES

pytestmark = pytest.mark.build


def _functions(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in document["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _variables(document: dict[str, Any], function: dict[str, Any]) -> dict[str, Any]:
    """What the function's environment holds: the Globals' variables, then its own."""
    shared = ((document.get("Globals") or {}).get("Function") or {}).get("Environment") or {}
    own = function["Properties"].get("Environment") or {}
    return {**(shared.get("Variables") or {}), **(own.get("Variables") or {})}


def test_every_function_gets_every_required_setting():
    document = load_template()
    functions = _functions(document)
    assert functions
    lacking = {
        logical_id: [name for name in REQUIRED_VARIABLES if _variables(document, function).get(name) in (None, "")]
        for logical_id, function in functions.items()
    }
    assert {logical_id: names for logical_id, names in lacking.items() if names} == {}


def test_the_region_is_left_to_lambda():
    """Lambda sets AWS_REGION itself (a reserved variable: a template that set it would not deploy)."""
    document = load_template()
    for logical_id, function in _functions(document).items():
        assert not set(REGION_VARIABLES) & set(_variables(document, function)), logical_id
