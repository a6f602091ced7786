"""Properties of the canonical address and of its confusable skeleton (Hypothesis).

The canonical form merges only what is the same address (case, and spellings Unicode
calls canonically equivalent); the skeleton brings together what only looks the same,
so that sign-up can refuse it instead of merging it.
"""

from __future__ import annotations

import unicodedata

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from kuploy_access.domain.emails import canonical_email, email_skeleton
from kuploy_access.domain.errors import InvalidCredentials, InvalidEmail
from kuploy_access.services.sessions import ClientInfo
from tests.unit.support import World, verification_secret

ASCII_LOCAL = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", min_size=1, max_size=30
)
DOMAINS = st.sampled_from(
    ["example.com", "Example.COM", "mail.example.org", "bücher.de", "BÜCHER.de", "xn--bcher-kva.de", "пример.рф"]
)
# Letters people have in addresses, and the ones that casefold() or NFC treat specially.
UNICODE_LETTERS = "aAzZ09éÉèñÑøØåÅüÜçÇßẞſµςσΣﬁﬀİıKÅΩ\u0301\u0308аАеЕоОрРсСхХ"
UNICODE_LOCAL = st.text(alphabet=UNICODE_LETTERS + "abcdefxyz.", min_size=1, max_size=20)

# Characters whose casefold() differs from their lower case: casefold would merge an
# address with one of these into another person's address.
CASEFOLD_ONLY = ["ß", "ẞ", "ſ", "ﬁ", "ﬀ", "µ", "ς"]


def canonical_or_none(raw: str) -> str | None:
    try:
        return canonical_email(raw)
    except InvalidEmail:
        return None


def mixed_case(text: str, flips: list[bool]) -> str:
    padded = flips + [False] * len(text)
    return "".join(ch.upper() if flip else ch.lower() for ch, flip in zip(text, padded[: len(text)], strict=True))


@settings(max_examples=150, deadline=None)
@given(local=st.one_of(ASCII_LOCAL, UNICODE_LOCAL), domain=DOMAINS)
@example(local="K", domain="example.com")
@example(local="İstanbul", domain="example.com")
@example(local="straẞe", domain="BÜCHER.de")
def test_canonicalisation_is_idempotent(local, domain):
    once = canonical_or_none(f"{local}@{domain}")
    assume(once is not None)
    assert canonical_email(once) == once
    assert unicodedata.is_normalized("NFC", once)


@settings(max_examples=150, deadline=None)
@given(local=ASCII_LOCAL, domain=st.sampled_from(["example.com", "mail.example.org"]), flips=st.lists(st.booleans()))
def test_ascii_addresses_are_case_insensitive(local, domain, flips):
    plain = canonical_or_none(f"{local}@{domain}")
    assume(plain is not None)
    assert canonical_email(f"{mixed_case(local, flips)}@{mixed_case(domain, flips[::-1])}") == plain
    assert canonical_email(f"{local.upper()}@{domain.upper()}") == plain
    assert plain == plain.lower()


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet="abcxyz", max_size=5),
    after=st.text(alphabet="abcxyz", max_size=5),
    special=st.sampled_from(CASEFOLD_ONLY),
    domain=DOMAINS,
)
def test_what_only_casefold_would_merge_stays_distinct(before, after, special, domain):
    """ß and ss (and ſ and s, ﬁ and fi, µ and μ, ς and σ) are different mailboxes."""
    with_special = canonical_or_none(f"{before}{special}{after}@{domain}")
    folded = canonical_or_none(f"{before}{special.casefold()}{after}@{domain}")
    assume(with_special is not None and folded is not None)
    assert with_special != folded


@settings(max_examples=100, deadline=None)
@given(before=st.text(alphabet="abcxyz", max_size=5), after=st.text(alphabet="abcxyz", max_size=5))
def test_sharp_s_and_ss_are_two_addresses_with_two_skeletons(before, after):
    sharp = canonical_email(f"{before}ß{after}@example.com")
    double = canonical_email(f"{before}ss{after}@example.com")
    assert sharp != double
    # They do not look alike either: both can have an account.
    assert email_skeleton(sharp) != email_skeleton(double)


@settings(max_examples=100, deadline=None)
@given(before=st.text(alphabet="abcxyz", max_size=5), after=st.text(alphabet="abcxyz", max_size=5))
def test_the_kelvin_sign_is_k_by_canonical_equivalence_not_by_case_folding(before, after):
    """U+212A decomposes to U+004B (NFC), so it is the letter K: the same address as k,
    exactly as it is to a mail system that normalises. What casefold() alone would have
    merged (ß into ss above) is not."""
    kelvin = f"{before}\u212a{after}"
    assert unicodedata.normalize("NFC", kelvin) == f"{before}K{after}"
    assert canonical_email(f"{kelvin}@example.com") == canonical_email(f"{before}k{after}@example.com")


# Latin letters and a look-alike from another script (TR39's confusables).
LOOK_ALIKES = {
    "a": "\u0430",  # Cyrillic а
    "c": "\u0441",  # Cyrillic с
    "e": "\u0435",  # Cyrillic е
    "o": "\u043e",  # Cyrillic о
    "p": "\u0440",  # Cyrillic р
    "x": "\u0445",  # Cyrillic х
    "y": "\u0443",  # Cyrillic у
    "i": "\u0456",  # Cyrillic і
    "j": "\u0458",  # Cyrillic ј
    "s": "\u0455",  # Cyrillic ѕ
    "v": "\u03bd",  # Greek ν
}


@settings(max_examples=150, deadline=None)
@given(
    local=st.text(alphabet="acdeijopsvxy0123456789", min_size=1, max_size=20),
    swaps=st.lists(st.booleans(), min_size=1),
    domain=st.sampled_from(["example.com", "mail.example.org", "bücher.de"]),
)
def test_an_address_and_its_confusable_variant_share_a_skeleton(local, swaps, domain):
    variant = "".join(
        LOOK_ALIKES[ch] if ch in LOOK_ALIKES and swap else ch
        for ch, swap in zip(local, (swaps + [False] * len(local))[: len(local)], strict=True)
    )
    original = canonical_or_none(f"{local}@{domain}")
    look_alike = canonical_or_none(f"{variant}@{domain}")
    assume(original is not None and look_alike is not None)
    assert email_skeleton(original) == email_skeleton(look_alike)
    if variant != local:
        assert original != look_alike  # distinct addresses: refused at sign-up, never merged


@settings(max_examples=200, deadline=None)
@given(local=st.one_of(ASCII_LOCAL, UNICODE_LOCAL), domain=DOMAINS)
def test_the_skeleton_is_a_function_of_the_canonical_address(local, domain):
    canonical = canonical_or_none(f"{local}@{domain}")
    assume(canonical is not None)
    skeleton = email_skeleton(canonical)
    assert skeleton == email_skeleton(canonical_email(canonical))
    assert len(skeleton) == 64 and int(skeleton, 16) >= 0


# --- generated addresses: any script, combining marks, IDN domains ------------------------------

# Letters, combining marks and digits of every script (the astral planes included), and
# the punctuation that addresses carry.
_LETTERS = st.characters(categories=("Ll", "Lu", "Lt", "Lo", "Mn", "Nd"), max_codepoint=0x2FFFF)
ANY_LOCAL = st.text(_LETTERS | st.sampled_from("._+-"), min_size=1, max_size=15)
_LABEL = st.text(_LETTERS | st.just("-"), min_size=1, max_size=12)
ANY_DOMAIN = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(_LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "de", "org", "рф", "中国"]),
)


@settings(max_examples=150, deadline=None)
@given(local=ANY_LOCAL, domain=ANY_DOMAIN)
@example(local="cafe\u0301", domain="bu\u0308cher.de")  # NFD in both parts
@example(local="\u212aelvin", domain="example.com")
def test_nfd_and_nfc_spellings_are_one_address(local, domain):
    """Canonically equivalent spellings (what a Mac keyboard and a Windows one send for
    `é`) are one account, whether the address is valid or refused."""
    raw = f"{local}@{domain}"
    composed = canonical_or_none(unicodedata.normalize("NFC", raw))
    assert canonical_or_none(unicodedata.normalize("NFD", raw)) == composed
    assert canonical_or_none(raw) == composed


@settings(max_examples=150, deadline=None)
@given(local=ANY_LOCAL, domain=ANY_DOMAIN)
@example(local="ada", domain="bücher.de")
@example(local="ada", domain="пример.рф")
def test_the_a_label_and_the_unicode_domain_are_one_account(local, domain):
    """`xn--bcher-kva.de` and `bücher.de` (in any case) are the same domain: one account."""
    import idna

    canonical = canonical_or_none(f"{local}@{domain}")
    assume(canonical is not None)
    local_part, _, unicode_domain = canonical.rpartition("@")
    a_label = idna.encode(unicode_domain, uts46=True).decode("ascii")
    assert canonical_email(f"{local_part}@{a_label}") == canonical
    assert canonical_email(f"{local_part}@{a_label.upper()}") == canonical
    # The canonical form holds the Unicode domain, never the A-label.
    assert unicode_domain == idna.decode(a_label)


@settings(max_examples=150, deadline=None)
@given(local=ANY_LOCAL, domain=ANY_DOMAIN)
@example(local="İstanbul", domain="example.com")
def test_generated_addresses_canonicalise_idempotently_to_nfc_lower_case(local, domain):
    canonical = canonical_or_none(f"{local}@{domain}")
    assume(canonical is not None)
    assert canonical_email(canonical) == canonical
    assert canonical_email(f"  {canonical}\t") == canonical
    assert unicodedata.is_normalized("NFC", canonical)
    assert canonical == unicodedata.normalize("NFC", canonical.lower())
    # Lower-casing what was typed first changes nothing.
    assert canonical_or_none(f"{local.lower()}@{domain.lower()}") == canonical


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(
        st.text(max_size=300),
        st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=40), st.text(max_size=40)),
        st.builds(lambda a, b: f"{a}@{b}", ANY_LOCAL, st.text(max_size=40)),
    )
)
@example(raw="\ud800@example.com")  # a lone surrogate: JSON can spell one
@example(raw="ada@\ud800.com")
@example(raw="ada@xn--.com")
@example(raw="ada@xn--zz.com")  # an A-label that is no valid punycode
@example(raw="a" * 255)
@example(raw="ada@" + "b" * 64 + ".com")
@example(raw="\x00@example.com")
def test_arbitrary_text_is_an_address_or_invalid_email_and_nothing_else(raw):
    """Whatever a client sends, the answer is a canonical address or the 422 invalid_email."""
    try:
        canonical = canonical_email(raw)
    except InvalidEmail as refused:
        assert refused.status == 422 and refused.code == "invalid_email"
        return
    assert canonical_email(canonical) == canonical
    assert len(canonical) <= 254


# --- sign-up: one look, one account ----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    local=st.text(alphabet="acdeijopsvxy", min_size=2, max_size=12),
    swaps=st.lists(st.booleans(), min_size=1),
    shout=st.booleans(),
)
@example(local="paypal", swaps=[False, True], shout=False)
def test_a_confusable_or_differently_cased_sign_up_never_adds_a_second_account(local, swaps, shout):
    """After `local@example.com` is verified, a sign-up with any look-alike of it (some
    letters swapped for Cyrillic or Greek ones, in any case) answers as every sign-up
    does and creates no account."""
    world = World()
    client = ClientInfo(ip="198.51.100.31", user_agent="pytest")
    world.signup().sign_up(f"{local}@example.com", "Analytical-Engine-1843", client)
    world.signup().verify_email(verification_secret(world.mailer.sent[0]))
    variant = "".join(
        LOOK_ALIKES[ch] if ch in LOOK_ALIKES and swap else ch
        for ch, swap in zip(local, (swaps + [False] * len(local))[: len(local)], strict=True)
    )
    address = f"{variant}@example.com"
    assert world.signup().sign_up(address.upper() if shout else address, "Difference-Engine-1822", client) is None
    assert [user.email for user in world.users.by_id.values()] == [f"{local}@example.com"]


@settings(max_examples=100, deadline=None)
@given(
    raw=st.one_of(
        st.text(max_size=60),
        st.builds(lambda a, b: f"{a}@{b}", ANY_LOCAL, ANY_DOMAIN),
        st.builds(lambda a, b: f"{a}@{b}", st.text(max_size=20), st.text(max_size=20)),
    )
)
@example(raw="\ud800@example.com")
@example(raw="ADA@EXAMPLE.COM")
def test_every_route_that_takes_an_address_answers_arbitrary_text_as_a_valid_address_or_invalid_email(raw):
    """Sign-up, "forgot password" and sign-in, with whatever a client sends as the address:
    the usual answer, invalid_email (422), or for sign-in wrong credentials (401)."""
    world = World()
    world.add_user(email="ada@example.com")
    client = ClientInfo(ip="198.51.100.32", user_agent="pytest")
    valid = canonical_or_none(raw) is not None
    for attempt in (
        lambda: world.signup().sign_up(raw, "Difference-Engine-1822", client),
        lambda: world.passwords().forgot(raw),
    ):
        try:
            assert attempt() is None
        except InvalidEmail:
            assert not valid
    try:
        world.login().log_in(raw, "a wrong password, surely", client)
    except InvalidCredentials:
        pass
    except InvalidEmail:
        assert not valid
