"""The resources the roles guard: projects, applications, deployments, databases,
notification channels. Small on purpose: a name, a few fields, who made them, when."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from kuploy_access.domain.errors import ValidationFailed


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


# --- webhook targets ---------------------------------------------------------------------

MAX_WEBHOOK_LENGTH = 2048

# Names that never lead to the public internet: RFC 6761 (localhost), RFC 6762 (.local,
# mDNS), RFC 8375 (.home.arpa and all of .arpa), ICANN's private-use .internal (which
# holds metadata.google.internal), and the usual /etc/hosts alias.
_PRIVATE_NAMES = ("localhost", "localdomain", "local", "internal", "arpa")

# IPv6 ranges that carry an IPv4 address inside (mapped, compatible, NAT64, 6to4, Teredo):
# refused whole, because what they reach is the IPv4 address, whatever it is.
_IPV6_EMBEDDING_IPV4 = tuple(
    ipaddress.IPv6Network(network)
    for network in ("::ffff:0:0/96", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32")
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def webhook_target(raw: str) -> str:
    """Answer the URL to store for a webhook, or raise ValidationFailed.

    The target is fetched by our servers, so it must not reach our own network: only
    `https://`, no user name or password, and a host that is a public name or a public
    IP address. IP literals count in every spelling a client might accept: decimal
    (`2130706433`), octal or hex parts (`0177.1`), full-width digits, IPv4 inside IPv6
    (`[::ffff:127.0.0.1]`); of those only the plain dotted quad and plain IPv6 are
    taken at all, so a delivery client cannot read a target differently from this check.

    A name is taken as it is: whether it resolves to a private address can only be
    answered when the webhook is delivered (and must be, at every delivery, against
    the address actually connected to, or DNS rebinding defeats it). There is no
    delivery code yet; this check is the creation-time half.
    """
    target = raw.strip()
    if not target or len(target) > MAX_WEBHOOK_LENGTH:
        raise ValidationFailed(f"A webhook target is an https:// URL of at most {MAX_WEBHOOK_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in target):
        raise ValidationFailed("A webhook target must not contain spaces, control characters or backslashes")
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise ValidationFailed("A webhook target must be a valid https:// URL") from None
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise ValidationFailed("A webhook target must be an https:// URL")
    if "@" in parts.netloc:
        raise ValidationFailed("A webhook target must not carry a user name or password")
    if port == 0:
        raise ValidationFailed("A webhook target's port must be 1-65535")
    host = _public_host(
        parts.netloc.rsplit(":", 1)[0] if port is not None or parts.netloc.endswith(":") else parts.netloc
    )
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit(("https", netloc, parts.path, parts.query, parts.fragment))


def _public_host(authority_host: str) -> str:
    """The host in the form to store (ASCII, lower case), if it is public."""
    if authority_host.startswith("["):
        try:
            address = ipaddress.IPv6Address(authority_host.removeprefix("[").removesuffix("]"))
        except ValueError:
            raise ValidationFailed("A webhook target's IPv6 address is not valid") from None
        if address.scope_id is not None or not _public_ipv6(address):
            raise ValidationFailed("A webhook target must not be a private, loopback or link-local address")
        return f"[{address.compressed}]"
    if "%" in authority_host:
        # Clients percent-decode hosts (`%6c%6f%63%61%6c%68%6f%73%74` is localhost).
        raise ValidationFailed("A webhook target's host must be written out, not percent-encoded")
    host = _ascii_host(authority_host)
    labels = host.split(".")
    if _is_number(labels[-1]):
        # A host ending in a number is an IPv4 address to a URL parser (WHATWG), in
        # whatever notation; only the plain dotted quad is taken.
        try:
            address4 = ipaddress.IPv4Address(host)
        except ValueError:
            raise ValidationFailed("Write a webhook target's IPv4 address as four decimal numbers") from None
        if not _public_ipv4(address4):
            raise ValidationFailed("A webhook target must not be a private, loopback or link-local address")
        return host
    if len(labels) < 2:
        # A single label resolves through the server's search domains: an internal name.
        raise ValidationFailed("A webhook target's host must be a full domain name")
    if labels[-1] in _PRIVATE_NAMES or ".".join(labels[-2:]) == "home.arpa":
        raise ValidationFailed("A webhook target must not be a local or internal host name")
    return host


def _ascii_host(host: str) -> str:
    """IDNA (UTS #46) to ASCII, as a client resolving the name would: full-width letters
    and digits, ideographic full stops and case all fold (`ｌｏｃａｌｈｏｓｔ` is localhost)."""
    import idna

    name = host[:-1] if host.endswith(".") else host
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise ValidationFailed("A webhook target's host is not a valid domain name") from None
    if not ascii_name or len(ascii_name) > 253:
        raise ValidationFailed("A webhook target's host is not a valid domain name")
    return ascii_name.lower()


def _is_number(label: str) -> bool:
    """WHATWG's "ends in a number": decimal digits, or 0x and hex digits (or nothing)."""
    if label.isascii() and label.isdigit():
        return True
    return label[:2] in ("0x", "0X") and all(ch in "0123456789abcdefABCDEF" for ch in label[2:])


def _public_ipv4(address: ipaddress.IPv4Address) -> bool:
    # is_global alone lets multicast through; the others are named for the reader.
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
    )


def _public_ipv6(address: ipaddress.IPv6Address) -> bool:
    if any(address in network for network in _IPV6_EMBEDDING_IPV4):
        return False
    return (
        address in _GLOBAL_UNICAST  # global unicast: everything else is special
        and address.is_global
        and not (address.is_multicast or address.is_private or address.is_site_local or address.is_reserved)
    )
