"""The resources the roles guard: projects, applications, deployments, databases,
notification channels. Small on purpose: a name, a few fields, who made them, when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ResourceKind(StrEnum):
    PROJECT = "project"
    APPLICATION = "application"
    DEPLOYMENT = "deployment"
    DATABASE = "database"
    NOTIFICATION_CHANNEL = "notification_channel"


ID_PREFIXES = {
    ResourceKind.PROJECT: "prj",
    ResourceKind.APPLICATION: "app",
    ResourceKind.DEPLOYMENT: "dep",
    ResourceKind.DATABASE: "db",
    ResourceKind.NOTIFICATION_CHANNEL: "nch",
}


class DatabaseEngine(StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    MARIADB = "mariadb"
    MONGO = "mongo"
    REDIS = "redis"


class ChannelKind(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class Resource:
    """One resource of an organization. `parent_id` nests applications in a project
    and deployments in an application; `fields` holds the kind's own fields."""

    kind: ResourceKind
    id: str
    org_id: str
    name: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    parent_id: str = ""
    fields: dict[str, str] = field(default_factory=dict)
