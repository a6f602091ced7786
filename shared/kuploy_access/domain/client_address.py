"""Whose address a request comes from: the client IP that sessions, audit events and API
keys' last use record, and the key per-address limits count it under (`limit_key`).

Deployed, the HTTP API is reached two ways, and both must give the caller's own address:

- through the console's CloudFront distribution (template.yaml, ConsoleDistribution).
  There API Gateway's `requestContext.http.sourceIp` is the edge server's address,
  shared by everyone that edge serves: one person's failed logins would lock them all
  out, and every session would record CloudFront. So the distribution tells the API
  who the viewer is, in two headers no viewer can set: `X-Kuploy-Viewer-Address`,
  which a CloudFront Function writes on every API request from the address the viewer
  connected from (replacing any the viewer sent), and `X-Kuploy-Edge`, a generated
  secret that the API origin adds (template.yaml, EdgeOriginSecret; it replaces a
  viewer's header of that name too);
- directly on its execute-api address, where `sourceIp` is the caller's address, and
  a caller may send both headers with any value it likes.

So the viewer's address counts only on a request that carries the secret, compared in
constant time; anything else (no secret, a wrong one, a missing or malformed address)
is `sourceIp`, which API Gateway takes from the connection. Where no secret is
configured (the local server, the tests), it is always `sourceIp`.

Per-address limits count an IPv6 client by its /64, not its full address: a /64 is
the smallest network a provider hands one customer (RFC 6177), and its holder may
send from any of its 2^64 addresses, so a budget per address would be a new budget
per request. Sessions, audit events and keys' last use keep the full address.

The authorizer imports this: standard library only (README, "Cold starts").
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

# As API Gateway hands headers to a function (payload 2.0): lower case.
EDGE_HEADER = "x-kuploy-edge"
VIEWER_ADDRESS_HEADER = "x-kuploy-viewer-address"


def client_address(event: Mapping[str, Any], edge_secret: str) -> str:
    """The client IP of an HTTP API request (payload 2.0), given the edge's secret
    (empty where there is no edge)."""
    source_ip = str(((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or "")
    if not edge_secret:
        return source_ip
    headers = event.get("headers") or {}
    if not _sent_by_the_edge(headers.get(EDGE_HEADER), edge_secret):
        return source_ip
    return _ip(headers.get(VIEWER_ADDRESS_HEADER)) or source_ip


def _sent_by_the_edge(presented: object, edge_secret: str) -> bool:
    if not isinstance(presented, str):
        return False
    return hmac.compare_digest(presented.encode(), edge_secret.encode())


def _ip(value: object) -> str | None:
    """The address, written the one way Python writes it (so a limit keyed on it does
    not count one viewer twice); None unless `value` is exactly one IP. API Gateway
    joins a repeated header's values with commas, which is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.scope_id:
            return None  # a link-local zone (`fe80::1%eth0`) is no public viewer's address
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)  # the IPv4 viewer it is
    return str(parsed)


# An IPv6 client is counted by its network of this many bits (module docstring).
IPV6_LIMIT_PREFIX = 64


def limit_key(ip: str) -> str:
    """The key a per-address limit counts `ip` under: an IPv4 address as it is, an
    IPv4-mapped IPv6 address as the IPv4 address it is, any other IPv6 address as its
    /64 (`2001:db8:4:2::/64`). A string that is no address is its own key."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(parsed, ipaddress.IPv4Address):
        return ip
    if parsed.ipv4_mapped:
        return str(parsed.ipv4_mapped)
    # From the integer: a zone (`fe80::1%eth0`) names the interface, not the network.
    return str(ipaddress.IPv6Network((int(parsed), IPV6_LIMIT_PREFIX), strict=False))
