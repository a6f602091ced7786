"""Who is calling: what the authorizer hands the routes.

The authorizer never refuses a request itself (API Gateway would answer its refusal
with a fixed 403 that clients cannot act on). It answers a principal instead; a
refused token becomes an anonymous principal carrying the reason, and the route
guard turns that into the 401 problem document of API.md.
"""

from __future__ import annotations

from dataclasses import dataclass

USER = "user"
API_KEY = "api_key"
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Principal:
    type: str
    id: str = ""
    session_id: str = ""
    org_id: str = ""
    scopes: tuple[str, ...] = ()
    auth_error: str = ""
    # When the person last proved a factor (seconds since the epoch); 0 when the token
    # does not say (API keys, tokens from before the claim), which sudo mode refuses.
    auth_time: int = 0

    def to_context(self) -> dict[str, str]:
        """Authorizer context values must be strings, numbers or booleans."""
        return {
            "principal_type": self.type,
            "principal_id": self.id,
            "session_id": self.session_id,
            "org_id": self.org_id,
            "scopes": " ".join(self.scopes),
            "auth_error": self.auth_error,
            "auth_time": str(self.auth_time),
        }

    @classmethod
    def from_context(cls, context: dict[str, object] | None) -> Principal:
        if not context:
            return cls(type=ANONYMOUS, auth_error="unauthorized")
        scopes = str(context.get("scopes") or "")
        return cls(
            type=str(context.get("principal_type") or ANONYMOUS),
            id=str(context.get("principal_id") or ""),
            session_id=str(context.get("session_id") or ""),
            org_id=str(context.get("org_id") or ""),
            scopes=tuple(scopes.split()) if scopes else (),
            auth_error=str(context.get("auth_error") or ""),
            auth_time=_seconds(context.get("auth_time")),
        )

    @classmethod
    def anonymous(cls, reason: str) -> Principal:
        return cls(type=ANONYMOUS, auth_error=reason)


def _seconds(value: object) -> int:
    try:
        return max(int(str(value or 0)), 0)
    except ValueError:
        return 0
