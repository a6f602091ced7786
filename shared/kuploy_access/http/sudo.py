"""The sudo-mode guard of sensitive routes (README, "Sudo mode")."""

from __future__ import annotations

from typing import Any

from kuploy_access.domain.principal import Principal
from kuploy_access.http.guard import require_user
from kuploy_access.wiring import sudo_service


def require_sudo(event: Any) -> Principal:
    """The signed-in user, if their session is live (one read: 401 `invalid_token`
    otherwise) and they proved a factor within the sudo window (403
    `reauthentication_required` otherwise). API keys: 403 `api_key_not_allowed`."""
    caller = require_user(event)
    sudo_service().require(caller)
    return caller
