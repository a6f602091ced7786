"""The audit log: who changed what in an organization, from where, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kuploy_access.domain.ids import new_id

DEFAULT_AUDIT_RETENTION = timedelta(days=400)


@dataclass(frozen=True)
class Actor:
    type: str  # "user" | "api_key"
    id: str
    email: str = ""


@dataclass(frozen=True)
class AuditEvent:
    id: str
    org_id: str
    at: datetime
    actor: Actor
    action: str
    target: str
    ip: str
    user_agent: str
    details: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        actor: dict[str, str] = {"type": self.actor.type, "id": self.actor.id}
        if self.actor.email:
            actor["email"] = self.actor.email
        return {
            "id": self.id,
            "at": self.at,
            "actor": actor,
            "action": self.action,
            "target": self.target,
            "ip": self.ip,
            "user_agent": self.user_agent,
            "details": dict(self.details),
        }


def account_event(
    user_id: str, email: str, at: datetime, action: str, ip: str, user_agent: str, /, **details: str
) -> AuditEvent:
    """An event of an account's own trail (`GET /me/audit-log`): the person acting on
    their own account."""
    return audit_event(user_id, at, Actor("user", user_id, email), action, user_id, ip, user_agent, **details)


def audit_event(
    org_id: str,
    at: datetime,
    actor: Actor,
    action: str,
    target: str,
    ip: str,
    user_agent: str,
    /,
    **details: str,
) -> AuditEvent:
    # The id starts with the event's millisecond, so the log sorts by time.
    return AuditEvent(
        id=new_id("evt", int(at.timestamp() * 1000)),
        org_id=org_id,
        at=at,
        actor=actor,
        action=action,
        target=target,
        ip=ip[:64],
        user_agent=user_agent[:512],
        details={k: v for k, v in details.items() if v is not None},
    )


@dataclass(frozen=True)
class AuditFilter:
    """Which events of a log to read (`GET /orgs/{org_id}/audit-log?actor=&action=`).

    `actor` is an actor's id (`usr_…`, `key_…`) or a member's email (any case);
    `action` is an action (`api_key.created`) or the group before its dot (`api_key`,
    every `api_key.…`). Empty: any."""

    actor: str = ""
    action: str = ""

    def __post_init__(self) -> None:
        # Emails are stored canonical (lower-cased); ids are lower case too.
        object.__setattr__(self, "actor", self.actor.strip().lower())
        object.__setattr__(self, "action", self.action.strip())

    @property
    def is_empty(self) -> bool:
        return not self.actor and not self.action

    @property
    def action_group(self) -> str:
        """The prefix every action of the group starts with: "api_key." for "api_key"."""
        return f"{self.action}."

    def matches(self, event: AuditEvent) -> bool:
        if self.actor and self.actor not in (event.actor.id, event.actor.email):
            return False
        return not self.action or event.action == self.action or event.action.startswith(self.action_group)


ANY_EVENT = AuditFilter()

# The events one filtered page reads at most. A filter is checked after the events are
# read, and a log keeps 400 days of them: without a bound, a filter that matches nothing
# (`?action=zz`) would read the whole log in one request, Query after Query, costing
# reads at will and running into the Lambda's timeout (a 5xx). Past it the page ends
# with the matches so far, even none, and a cursor from where the reading stopped.
FILTER_READ_BUDGET = 1_000
