"""The local server's environment: the variables template.yaml gives every function,
with local values, set before any function is imported.

A deployed function reads its settings from the variables of template.yaml's Globals
(kuploy_access.config refuses to start without them). Locally:

- a literal value in the template is used as it is;
- `!Ref <Parameter>` is the parameter's Default (session lifetimes, sudo window, ...);
- everything else (`!Ref Table`, the secrets) and the sender come from
  devserver.embedded_aws.LOCAL_ENVIRONMENT: the embedded table, secrets and sender;
- PUBLIC_BASE_URL is this server's own address.

A variable already set in the shell wins, except the AWS_* credentials (always the
embedded AWS's), PUBLIC_BASE_URL (this server's address unless the shell sets one) and
EDGE_ORIGIN_SECRET (always empty: no CloudFront stands in front of this server).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from devserver.embedded_aws import LOCAL_ENVIRONMENT
from devserver.template import ApiSpec


class NoLocalValue(RuntimeError):
    """template.yaml gives functions a variable the local server has no value for."""


def template_values(variables: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, str]:
    """Literals, and parameters' defaults; other intrinsics are left out."""
    values: dict[str, str] = {}
    for name, value in variables.items():
        if isinstance(value, str):
            values[name] = value
            continue
        referenced = value.get("Ref") if isinstance(value, dict) else None
        default = (parameters.get(referenced) or {}).get("Default") if isinstance(referenced, str) else None
        if default is not None:
            values[name] = str(default)
    return values


def local_environment(api: ApiSpec, public_base_url: str) -> dict[str, str]:
    """Every variable of the template's Globals, with its local value."""
    environment = template_values(api.environment, api.parameters)
    environment.update(LOCAL_ENVIRONMENT)
    environment["PUBLIC_BASE_URL"] = public_base_url
    missing = sorted(set(api.environment) - set(environment))
    if missing:
        raise NoLocalValue(
            f"template.yaml gives every function {', '.join(missing)}, which the local server cannot "
            "resolve: add a local value to devserver.embedded_aws.LOCAL_ENVIRONMENT"
        )
    return environment


# Set over the shell's value: PUBLIC_BASE_URL (a shell value is already in what
# local_environment answers) and EDGE_ORIGIN_SECRET, always empty: nothing stands in
# front of this server, so the client is the TCP peer, never a header's address.
_ALWAYS_LOCAL = ("PUBLIC_BASE_URL", "EDGE_ORIGIN_SECRET")


def prepare_local_environment(api: ApiSpec, port: int, host: str) -> dict[str, str]:
    """Set the local environment in os.environ; answer the values now in effect."""
    public_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 # nosec B104 - a comparison, not a bind
    public_base_url = os.environ.get("PUBLIC_BASE_URL", f"http://{public_host}:{port}")
    environment = local_environment(api, public_base_url)
    for name, value in environment.items():
        if name in _ALWAYS_LOCAL or name not in os.environ or name.startswith("AWS_"):
            os.environ[name] = value
    return {name: os.environ[name] for name in environment}
