"""The service is no phishing relay (issue 11, "Smaller holes"): names other people chose
reach invitation emails without anything a mail client could link, and without control
or format characters; an account creates at most 10 organizations a day."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta

import pytest

from kuploy_access.domain.email_messages import (
    NAMELESS_INVITER,
    NAMELESS_ORGANIZATION,
    inert_name,
    invitation_email,
)
from kuploy_access.domain.permissions import rule_for
from kuploy_access.domain.principal import Principal
from kuploy_access.domain.rate_limits import ORGS_CREATED_PER_ACCOUNT, RateLimited
from kuploy_access.domain.users import User
from kuploy_access.services.sessions import ClientInfo
from tests.unit.org_fakes import OrgWorld
from tests.unit.support import PUBLIC_BASE_URL

CLIENT = ClientInfo(ip="198.51.100.11", user_agent="pytest")
EXPIRES = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
BIDI_OVERRIDE = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: "moc.live" reads as "evil.com"
ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")

# What a link looks like to a mail client, once our own link and the recipient's address are out.
_URLISH = re.compile(r"[a-z][a-z0-9+.-]*://|www\.|[a-z0-9-]+\.(?:com|net|org|io|co|uk|ru)\b", re.IGNORECASE)


def _foreign_links(text: str) -> list[str]:
    return _URLISH.findall(text.replace(PUBLIC_BASE_URL, "").replace("grace@example.com", ""))


def _invisible(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n"]


@pytest.fixture
def world() -> OrgWorld:
    return OrgWorld()


MALICIOUS_ORG_NAMES = [
    "Kuploy Security: verify your account at https://evil.com/login",
    "Acme — sign in at evil.com/login now",
    "Acme www.evil.com",
    "Acme (login.evil.co.uk/reset?user=you)",
    "Acme HTTP://EVIL.COM",
    "Acme evil\u3002com/login",  # an ideographic full stop, which browsers read as a dot
    "Acme 203.0.113.9/login",
    "Acme mailto:help@evil.com",
    "Acme ev\u200bil.com/login",  # a zero-width space hiding the host name
]


@pytest.mark.parametrize("org_name", MALICIOUS_ORG_NAMES)
def test_an_invitation_email_carries_no_link_from_a_malicious_org_name(org_name: str) -> None:
    message = invitation_email(
        "grace@example.com", PUBLIC_BASE_URL, "s3cr3t-token", org_name, "Adam", "member", EXPIRES
    )

    for part in (message.subject, message.text, message.html):
        assert "evil" not in part.lower(), part
        assert "203.0.113.9" not in part, part
        assert _foreign_links(part) == [], part
    # What is left of the name still says who invites, and our own link is intact.
    assert "Acme" in message.text or "Kuploy Security" in message.text
    assert f"{PUBLIC_BASE_URL}/invitations/s3cr3t-token" in message.text


def test_a_malicious_inviter_name_loses_its_link_too() -> None:
    message = invitation_email(
        "grace@example.com", PUBLIC_BASE_URL, "tok", "Acme", "IT desk, reset at evil.com/reset", "admin", EXPIRES
    )
    for part in (message.subject, message.text, message.html):
        assert "evil" not in part.lower(), part
        assert "IT desk, reset at" in part


def test_bidi_overrides_and_zero_width_characters_are_removed_from_the_email() -> None:
    org_name = f"Acme {BIDI_OVERRIDE}nigol/moc.live{BIDI_OVERRIDE}" + "".join(ZERO_WIDTH) + " Ltd"
    inviter = f"Ad{BIDI_OVERRIDE}am\u2066\u2069\u00ad"

    message = invitation_email("grace@example.com", PUBLIC_BASE_URL, "tok", org_name, inviter, "member", EXPIRES)

    for part in (message.subject, message.text, message.html):
        assert BIDI_OVERRIDE not in part
        assert _invisible(part) == [], [hex(ord(ch)) for ch in _invisible(part)]
        assert "moc.live" not in part
    assert "Acme Ltd" in message.text
    assert "Adam invited grace@example.com" in message.text


def test_line_breaks_in_a_name_cannot_add_lines_to_the_subject() -> None:
    message = invitation_email(
        "grace@example.com", PUBLIC_BASE_URL, "tok", "Acme\r\nBcc: everyone@example.org", "Adam", "member", EXPIRES
    )
    assert "\n" not in message.subject and "\r" not in message.subject


def test_a_name_that_is_nothing_but_a_link_becomes_a_neutral_word() -> None:
    message = invitation_email(
        "grace@example.com", PUBLIC_BASE_URL, "tok", "https://evil.com", f"{BIDI_OVERRIDE}", "member", EXPIRES
    )
    assert f"{NAMELESS_INVITER} invited grace@example.com" in message.text
    assert NAMELESS_ORGANIZATION in message.text


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("Analytical Engines", "Analytical Engines"),
        ("Acme 2.0", "Acme 2.0"),
        ("Team v1.2", "Team v1.2"),
        ("O'Brien & Co.", "O'Brien & Co."),
        ("Straße Ops", "Straße Ops"),
        ("日本チーム", "日本チーム"),
        ("Data: platform team", "Data: platform team"),
        # An inviter without a display name is shown by their verified address.
        ("ada@example.com", "ada@example.com"),
    ],
)
def test_ordinary_names_pass_unchanged(name: str, kept: str) -> None:
    assert inert_name(name, "fallback") == kept


def test_an_invitation_sent_for_a_malicious_org_has_no_foreign_link(world: OrgWorld) -> None:
    """Through the service, as the route sends it: the org's name as it was stored."""
    owner = world.add_user("olive@example.com", name="Olive", user_id="usr_01olive")
    org = world.add_org(owner, "org_01phish", name="Kuploy billing: pay at https://evil.com/pay")
    caller = world.access().enter(
        Principal(type="user", id=owner.id, session_id="ses_01"),
        org.id,
        rule_for("POST /orgs/{org_id}/invitations"),
        CLIENT,
    )

    world.invitation_service().invite(caller, "grace@example.com", "member")

    message = world.mailer.sent[-1]
    for part in (message.subject, message.text, message.html):
        assert "evil" not in part.lower()
        assert _foreign_links(part) == []


# === organizations per account ==================================================================


def _founder(world: OrgWorld, email: str = "fay@example.com") -> User:
    return world.add_user(email, name="Fay", user_id=f"usr_{email.split('@')[0]}")


def _create(world: OrgWorld, user: User, name: str = "Org") -> str:
    org, _ = world.organization_service().create(Principal(type="user", id=user.id, session_id="ses_01"), name, CLIENT)
    return org.id


def test_an_account_creates_ten_organizations_a_day_and_the_eleventh_is_rate_limited(world: OrgWorld) -> None:
    assert ORGS_CREATED_PER_ACCOUNT.limit == 10
    assert ORGS_CREATED_PER_ACCOUNT.window == timedelta(days=1)
    fay = _founder(world)
    world.clock.current = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    for index in range(10):
        _create(world, fay, f"Org {index}")
    orgs_before = dict(world.store.orgs)

    with pytest.raises(RateLimited) as refused:
        _create(world, fay, "Org 11")

    assert refused.value.status == 429 and refused.value.code == "rate_limited"
    assert refused.value.retry_after == 12 * 3600  # the day's window ends at midnight UTC
    assert world.store.orgs == orgs_before
    assert [e.action for e in world.store.events].count("org.created") == 10
    # Another account is not affected, and the next day the founder may create again.
    _create(world, _founder(world, "gus@example.com"))
    world.clock.advance(timedelta(hours=12))
    _create(world, fay, "Org 11")


def test_a_refused_name_does_not_spend_the_day_s_budget(world: OrgWorld) -> None:
    fay = _founder(world)
    for _ in range(ORGS_CREATED_PER_ACCOUNT.limit):
        with pytest.raises(Exception, match="visible character"):
            _create(world, fay, "\u200b")
    _create(world, fay, "Finally")
