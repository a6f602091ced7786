"""The client's address (domain.client_address): the viewer's, when the console's CloudFront
vouches for it with the edge secret; API Gateway's source IP otherwise."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kuploy_access.domain.client_address import EDGE_HEADER, VIEWER_ADDRESS_HEADER, client_address, limit_key

SECRET = "Zq8mK2vN5xR7tW1yB4cF6hJ9pL3sD0gA8eU2iO5kM7nQ1rT4"
EDGE_SERVER = "130.176.88.14"  # what API Gateway sees behind CloudFront


def event(headers: dict[str, str] | None = None, source_ip: str = EDGE_SERVER) -> dict[str, Any]:
    found: dict[str, Any] = {"requestContext": {"http": {"sourceIp": source_ip}}}
    if headers is not None:
        found["headers"] = headers
    return found


def from_edge(viewer: str, secret: str = SECRET) -> dict[str, Any]:
    return event({EDGE_HEADER: secret, VIEWER_ADDRESS_HEADER: viewer})


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        ("198.51.100.23", "198.51.100.23"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),  # one viewer, one spelling
        (" 203.0.113.5 ", "203.0.113.5"),
        ("::ffff:198.51.100.23", "198.51.100.23"),
    ],
)
def test_the_edge_s_viewer_address_is_the_client(viewer, expected):
    assert client_address(from_edge(viewer), SECRET) == expected


def test_a_wrong_secret_leaves_the_source_ip():
    assert client_address(from_edge("198.51.100.23", secret=SECRET[:-1] + "x"), SECRET) == EDGE_SERVER
    assert client_address(from_edge("198.51.100.23", secret=SECRET + "x"), SECRET) == EDGE_SERVER
    assert client_address(from_edge("198.51.100.23", secret=""), SECRET) == EDGE_SERVER
    assert client_address(from_edge("198.51.100.23", secret=SECRET.lower()), SECRET) == EDGE_SERVER


def test_a_viewer_address_without_the_secret_is_ignored():
    """Straight to execute-api, a caller may send the viewer header with any value."""
    assert client_address(event({VIEWER_ADDRESS_HEADER: "198.51.100.23"}), SECRET) == EDGE_SERVER


def test_the_secret_without_a_viewer_address_leaves_the_source_ip():
    assert client_address(event({EDGE_HEADER: SECRET}), SECRET) == EDGE_SERVER


@pytest.mark.parametrize(
    "viewer",
    [
        "",
        "not an address",
        "198.51.100.23:443",  # the function writes no port
        "[2001:db8::1]:443",
        "198.51.100.23, 203.0.113.9",  # a repeated header, as API Gateway joins it
        "198.51.100.256",
        "fe80::1%eth0",
        "2001:db8::1/64",
    ],
)
def test_a_malformed_viewer_address_leaves_the_source_ip(viewer):
    assert client_address(from_edge(viewer), SECRET) == EDGE_SERVER


def test_with_no_secret_configured_the_headers_change_nothing():
    """The local server and the tests: no edge, whatever a request says."""
    assert client_address(from_edge("198.51.100.23", secret=""), "") == EDGE_SERVER
    assert client_address(from_edge("198.51.100.23"), "") == EDGE_SERVER


def test_an_event_without_headers_or_address_is_answered():
    assert client_address(event(), SECRET) == EDGE_SERVER
    assert client_address({}, SECRET) == ""
    assert client_address({"requestContext": {}}, "") == ""


@given(presented=st.text(max_size=60))
def test_only_the_exact_secret_opens_the_door(presented):
    answer = client_address(from_edge("198.51.100.23", secret=presented), SECRET)
    assert answer == ("198.51.100.23" if presented == SECRET else EDGE_SERVER)


# --- the key per-address limits count under ------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("198.51.100.23", "198.51.100.23"),
        ("2001:db8:4:2::b0b", "2001:db8:4:2::/64"),
        ("2001:db8:4:2:ffff:ffff:ffff:ffff", "2001:db8:4:2::/64"),  # the same /64
        ("2001:0DB8:0004:0002:0000:0000:0000:0001", "2001:db8:4:2::/64"),  # however written
        ("2001:db8:4:3::b0b", "2001:db8:4:3::/64"),  # the next /64 is another client
        ("::1", "::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:198.51.100.23", "198.51.100.23"),  # an IPv4 viewer, however it is written
    ],
)
def test_an_ipv6_client_is_counted_by_its_64_network_an_ipv4_one_by_its_address(ip, expected):
    assert limit_key(ip) == expected


@pytest.mark.parametrize("ip", ["", "unknown", "testclient", "198.51.100.256", " 198.51.100.23", "2001:db8::1/64"])
def test_what_is_no_address_is_its_own_key(ip):
    """No request from API Gateway lacks an address, but a key must never fail to form:
    the string then counts as it is."""
    assert limit_key(ip) == ip


@given(interface=st.integers(min_value=0, max_value=2**64 - 1))
def test_every_address_of_one_64_shares_one_key(interface):
    network = 0x2001_0DB8_0004_0002 << 64
    assert limit_key(str(ipaddress.IPv6Address(network | interface))) == "2001:db8:4:2::/64"
