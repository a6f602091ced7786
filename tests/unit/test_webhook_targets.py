"""Webhook targets: https only, never our own network, in any spelling of an address."""

from __future__ import annotations

import pytest

from kuploy_access.domain.errors import ValidationFailed
from kuploy_access.domain.resources import webhook_target

GOOD = [
    ("https://hooks.example.com/k/1?x=y", "https://hooks.example.com/k/1?x=y"),
    ("  https://hooks.example.com  ", "https://hooks.example.com"),
    ("https://hooks.example.com:8443/", "https://hooks.example.com:8443/"),
    ("HTTPS://Hooks.Example.COM/Path", "https://hooks.example.com/Path"),
    ("https://hooks.example.com./x", "https://hooks.example.com/x"),
    ("https://bücher.example/hook", "https://xn--bcher-kva.example/hook"),
    ("https://93.184.215.14/hook", "https://93.184.215.14/hook"),
    ("https://[2606:4700:4700::1111]/hook", "https://[2606:4700:4700::1111]/hook"),
    ("https://[2606:4700:4700:0:0:0:0:1111]:8443/", "https://[2606:4700:4700::1111]:8443/"),
    ("https://hooks.example.com/a@b", "https://hooks.example.com/a@b"),
    # Names are taken as they are: what they resolve to is the delivery's to check.
    ("https://127.0.0.1.nip.io/hook", "https://127.0.0.1.nip.io/hook"),
]

BAD = {
    # not https
    "http": "http://hooks.example.com/k",
    "ftp": "ftp://hooks.example.com",
    "no scheme": "hooks.example.com",
    "javascript": "javascript:alert(1)",
    "no host": "https://",
    "no host, a path": "https:///path",
    "opaque": "https:hooks.example.com",
    "empty": "",
    "too long": "https://h.example.com/" + "x" * 2048,
    "space": "https://hooks.example.com/a b",
    "backslash": "https://hooks.example.com\\@127.0.0.1/",
    "control character": "https://hooks.example.com/\x00",
    # userinfo
    "user and password": "https://user:pw@hooks.example.com/",
    "user": "https://user@hooks.example.com/",
    "userinfo that looks like a host": "https://hooks.example.com@127.0.0.1/",
    # ports
    "port 0": "https://hooks.example.com:0/",
    "port out of range": "https://hooks.example.com:65536/",
    "port not a number": "https://hooks.example.com:https/",
    # loopback
    "loopback": "https://127.0.0.1/",
    "loopback elsewhere in 127/8": "https://127.255.0.9/",
    "IPv6 loopback": "https://[::1]/",
    "localhost": "https://localhost/",
    "localhost with a dot": "https://localhost./",
    "LOCALHOST": "https://LOCALHOST:8443/",
    "a .localhost name": "https://api.localhost/",
    "full-width localhost": "https://ｌｏｃａｌｈｏｓｔ/",
    "circled localhost": "https://ⓛⓞⓒⓐⓛⓗⓞⓢⓣ/",
    # private and special ranges
    "10/8": "https://10.0.0.1/",
    "172.16/12": "https://172.31.255.254/",
    "192.168/16": "https://192.168.1.1/",
    "CGNAT 100.64/10": "https://100.64.0.1/",
    "this network 0/8": "https://0.0.0.0/",
    "0.1.2.3": "https://0.1.2.3/",
    "link-local": "https://169.254.0.1/",
    "instance metadata": "https://169.254.169.254/latest/meta-data/",
    "multicast": "https://224.0.0.1/",
    "reserved 240/4": "https://240.0.0.1/",
    "broadcast": "https://255.255.255.255/",
    "benchmarking 198.18/15": "https://198.18.0.1/",
    "documentation": "https://192.0.2.1/",
    "unique local fc00::/7": "https://[fd00::1]/",
    "IPv6 link-local": "https://[fe80::1]/",
    "IPv6 link-local with a zone": "https://[fe80::1%25eth0]/",
    "IPv6 site-local": "https://[fec0::1]/",
    "IPv6 multicast": "https://[ff02::1]/",
    "IPv6 unspecified": "https://[::]/",
    "IPv6 documentation": "https://[2001:db8::1]/",
    "IPv6 not valid": "https://[::1/",
    "IPv6 bad literal": "https://[12345::]/",
    # IPv4 in other spellings
    "decimal": "https://2130706433/",
    "decimal metadata": "https://2852039166/",
    "octal": "https://0177.0.0.1/",
    "octal parts": "https://0177.0000.0000.0001/",
    "hex": "https://0x7f000001/",
    "hex parts": "https://0x7f.0x0.0x0.0x1/",
    "short form": "https://127.1/",
    "short form of 10/8": "https://10.1/",
    "public address in decimal": "https://1572395042/",
    "leading zero": "https://010.0.0.1/",
    "five parts": "https://1.2.3.4.5/",
    "ends in hex": "https://hooks.example.0x10/",
    "full-width digits": "https://１２７.０.０.１/",
    "ideographic full stops": "https://127。0。0。1/",
    "IPv4-mapped IPv6": "https://[::ffff:127.0.0.1]/",
    "IPv4-mapped IPv6 in hex": "https://[::ffff:7f00:1]/",
    "IPv4-mapped metadata": "https://[::ffff:169.254.169.254]/",
    "IPv4-mapped public": "https://[::ffff:93.184.215.14]/",
    "IPv4-compatible IPv6": "https://[::127.0.0.1]/",
    "NAT64": "https://[64:ff9b::a9fe:a9fe]/",
    "6to4": "https://[2002:7f00:1::1]/",
    "Teredo": "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
    "percent-encoded host": "https://%6c%6f%63%61%6c%68%6f%73%74/",
    # internal names
    "metadata.google.internal": "https://metadata.google.internal/computeMetadata/v1/",
    "an .internal name": "https://api.corp.internal/",
    "mDNS": "https://printer.local/",
    "home.arpa": "https://router.home.arpa/",
    "arpa": "https://1.0.0.127.in-addr.arpa/",
    "localdomain": "https://box.localdomain/",
    "single label": "https://metadata/computeMetadata/v1/",
    "single label instance-data": "https://instance-data/latest/",
    "empty label": "https://hooks..example.com/",
    "underscore": "https://hooks_1.example.com/",
}


@pytest.mark.parametrize(("target", "stored"), GOOD)
def test_a_public_https_target_is_taken_in_its_ascii_form(target, stored):
    assert webhook_target(target) == stored


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_target_that_could_reach_our_network_or_is_not_https_is_refused(name):
    with pytest.raises(ValidationFailed) as refused:
        webhook_target(BAD[name])
    assert refused.value.status == 422
    assert refused.value.code == "validation_error"


def test_what_is_stored_passes_the_check_again():
    for target, stored in GOOD:
        assert webhook_target(stored) == stored, target
