"""Two-factor building blocks (issue 5): TOTP exactly as RFC 6238 (SHA-1, 6 digits, 30 s),
the drift window, secrets, the otpauth:// URI and its QR code, recovery codes, and the
AES-GCM box that keeps TOTP secrets sealed in the table."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from kuploy_access.adapters import secret_box
from kuploy_access.adapters.secret_box import AesGcmSecretBox, SealedValueInvalid
from kuploy_access.domain import two_factor
from kuploy_access.domain.two_factor import (
    code_for_step,
    hash_recovery_code,
    matching_step,
    new_recovery_codes,
    new_totp_secret,
    normalize_recovery_code,
    provisioning_uri,
    qr_svg,
    step_at,
)

# --- RFC 6238 Appendix B ---------------------------------------------------------------------

# The SHA-1 seed of Appendix B: the 20 ASCII bytes "12345678901234567890".
RFC_SEED = b"12345678901234567890"
RFC_SECRET = base64.b32encode(RFC_SEED).decode("ascii")
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


def test_the_rfc_secret_is_the_base32_of_the_ascii_seed():
    assert RFC_SECRET == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.mark.parametrize(("unix_time", "eight_digits"), RFC_VECTORS)
def test_pyotp_with_eight_digits_matches_the_rfc_vectors_exactly(unix_time, eight_digits):
    """The library under our codes computes RFC 6238 itself (SHA-1, 30 s, T0 = 0)."""
    assert pyotp.TOTP(RFC_SECRET, digits=8, interval=30).at(unix_time) == eight_digits


@pytest.mark.parametrize(("unix_time", "eight_digits"), RFC_VECTORS)
def test_our_six_digit_codes_are_the_last_six_digits_of_the_rfc_vectors(unix_time, eight_digits):
    step = unix_time // 30
    assert code_for_step(RFC_SECRET, step) == eight_digits[-6:]
    assert step_at(datetime.fromtimestamp(unix_time, UTC)) == step


@pytest.mark.parametrize(("unix_time", "eight_digits"), RFC_VECTORS)
def test_matching_step_finds_the_step_of_an_rfc_vector(unix_time, eight_digits):
    assert matching_step(RFC_SECRET, eight_digits[-6:], datetime.fromtimestamp(unix_time, UTC)) == unix_time // 30


def test_the_parameters_are_those_of_the_authenticator_apps():
    assert two_factor.STEP_SECONDS == 30
    assert two_factor.DIGITS == 6
    assert two_factor.DRIFT_STEPS == 1


# --- the drift window ------------------------------------------------------------------------

NOW = datetime.fromtimestamp(1111111109, UTC)
CURRENT = 1111111109 // 30


def _code(offset: int) -> str:
    return code_for_step(RFC_SECRET, CURRENT + offset)


def test_the_codes_near_now_are_all_different():
    """Precondition of the window tests: a refused code is not refused by coincidence."""
    codes = [_code(offset) for offset in range(-3, 4)]
    assert len(set(codes)) == len(codes), codes


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_of_one_step_either_side_is_accepted_and_its_step_named(offset):
    assert matching_step(RFC_SECRET, _code(offset), NOW) == CURRENT + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_a_code_two_or_more_steps_away_is_refused(offset):
    assert matching_step(RFC_SECRET, _code(offset), NOW) is None


def test_the_window_follows_the_clock_not_the_code():
    """The code of step +2 is refused now and accepted one step later (as +1)."""
    later = _code(2)
    assert matching_step(RFC_SECRET, later, NOW) is None
    assert matching_step(RFC_SECRET, later, NOW + timedelta(seconds=30)) == CURRENT + 2


def test_a_wrong_code_is_refused():
    window = {_code(offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    assert matching_step(RFC_SECRET, wrong, NOW) is None


def test_a_code_of_another_secret_is_refused():
    window = {_code(offset) for offset in (-1, 0, 1)}
    # Another secret whose current code differs from ours (a clash is about 3 in a million).
    code = next(c for c in (code_for_step(new_totp_secret(), CURRENT) for _ in range(100)) if c not in window)
    assert matching_step(RFC_SECRET, code, NOW) is None


@pytest.mark.parametrize(
    "text",
    [
        "",
        "12345",
        "1234567",
        "0" * 7,
        "abcdef",
        "12345a",
        "+12345",
        "-12345",
        "12.345",
        "123456\n7",
    ],
)
def test_input_that_is_not_six_ascii_digits_is_refused(text):
    assert matching_step(RFC_SECRET, text, NOW) is None


def test_a_right_code_with_a_digit_more_or_less_is_refused():
    code = _code(0)
    assert matching_step(RFC_SECRET, code + "0", NOW) is None
    assert matching_step(RFC_SECRET, code[:-1], NOW) is None
    assert matching_step(RFC_SECRET, "0" + code, NOW) is None


@pytest.mark.parametrize("text", ["١٢٣٤٥٦", "１２３４５６", "۱۲۳۴۵۶"])
def test_non_ascii_digits_are_refused_not_crashed_on(text):
    assert matching_step(RFC_SECRET, text, NOW) is None


def test_leading_zeros_are_part_of_the_code():
    """Vector 1111111109 is 07081804: its 6-digit code starts with 0 and must keep it."""
    assert _code(0) == "081804"
    assert matching_step(RFC_SECRET, "081804", NOW) == CURRENT
    assert matching_step(RFC_SECRET, "81804", NOW) is None


# --- secrets and the otpauth:// URI ------------------------------------------------------------


def _b32decode(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def test_a_new_secret_is_160_bits_of_base32():
    secret = new_totp_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    assert len(_b32decode(secret)) == 20


def test_a_new_secret_is_different_every_time():
    secrets_made = {new_totp_secret() for _ in range(200)}
    assert len(secrets_made) == 200


def test_a_new_secret_works_with_pyotp_and_our_codes():
    secret = new_totp_secret()
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert code_for_step(secret, step_at(moment)) == pyotp.TOTP(secret).at(moment)


def _parts(uri: str) -> tuple[str, str, str, dict[str, list[str]]]:
    split = urlsplit(uri)
    return split.scheme, split.netloc, unquote(split.path), parse_qs(split.query)


def test_the_provisioning_uri_names_the_issuer_the_account_and_the_secret():
    secret = new_totp_secret()
    scheme, kind, label, query = _parts(provisioning_uri(secret, "ada@example.com"))
    assert (scheme, kind) == ("otpauth", "totp")
    assert label == "/Kuploy:ada@example.com"
    assert query["secret"] == [secret]
    assert query["issuer"] == ["Kuploy"]
    # RFC 6238's defaults, which every authenticator app assumes when they are left out.
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]


def test_the_provisioning_uri_escapes_the_email():
    _, _, label, _ = _parts(provisioning_uri(new_totp_secret(), "ada+2fa@example.com"))
    assert label == "/Kuploy:ada+2fa@example.com"
    assert "+" not in urlsplit(provisioning_uri(new_totp_secret(), "ada+2fa@example.com")).path


def test_pyotp_reads_the_uri_back_with_the_same_parameters():
    secret = new_totp_secret()
    parsed = pyotp.parse_uri(provisioning_uri(secret, "ada@example.com"))
    assert isinstance(parsed, pyotp.TOTP)
    assert parsed.secret == secret
    assert parsed.digits == 6
    assert parsed.interval == 30
    assert parsed.digest().name == "sha1"
    assert parsed.issuer == "Kuploy"
    assert parsed.name == "ada@example.com"


def test_the_qr_code_is_an_svg_document():
    svg = qr_svg(provisioning_uri(new_totp_secret(), "ada@example.com"))
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    assert root.tag.rsplit("}", 1)[-1] == "svg"
    assert int(root.attrib["width"]) > 0 and root.attrib["width"] == root.attrib["height"]
    assert [element for element in root.iter() if element.tag.rsplit("}", 1)[-1] == "path"]


def test_the_qr_code_changes_with_the_uri():
    assert qr_svg("otpauth://totp/a") != qr_svg("otpauth://totp/b")


# --- recovery codes ----------------------------------------------------------------------------

RECOVERY_FORMAT = re.compile(r"[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}")


def keyed(value: str) -> str:
    """A stand-in for the box's keyed hash: any function of the code and a key."""
    return hashlib.sha256(b"test key|" + value.encode()).hexdigest()


def test_ten_recovery_codes_grouped_for_reading():
    codes = new_recovery_codes()
    assert len(codes) == 10
    for code in codes:
        assert RECOVERY_FORMAT.fullmatch(code), code


def test_recovery_codes_are_unique_within_and_across_batches():
    batches = [new_recovery_codes() for _ in range(50)]
    every = [code for batch in batches for code in batch]
    assert all(len(set(batch)) == 10 for batch in batches)
    assert len(set(every)) == len(every)


def test_recovery_codes_carry_80_bits():
    """16 characters drawn from 32 letters (Crockford-like: no i, l, o, u): 16 × 5 bits."""
    letters = "".join(code.replace("-", "") for _ in range(100) for code in new_recovery_codes())
    alphabet = set(letters)
    assert len(alphabet) == 32, sorted(alphabet)
    assert not alphabet & set("ilou")
    assert all(len(code.replace("-", "")) == 16 for code in new_recovery_codes())
    assert two_factor.RECOVERY_CODE_BITS == 16 * 5 >= 80


def test_normalization_forgives_case_spaces_and_hyphens():
    code = new_recovery_codes()[0]
    bare = code.replace("-", "")
    for typed in (
        code,
        code.upper(),
        bare,
        bare.upper(),
        f"  {code}  ",
        f"{bare[:8]} {bare[8:]}",
        f"{bare[:3]}-{bare[3:]}",
        code.replace("-", " "),
    ):
        assert normalize_recovery_code(typed) == bare, typed
        assert hash_recovery_code(typed, keyed) == hash_recovery_code(code, keyed), typed


def test_normalization_reads_i_l_o_as_the_digits_people_meant():
    assert normalize_recovery_code("OoIL-1ab0-cdef-ghjk") == "00111ab0cdefghjk"
    assert hash_recovery_code("oo1l-1ab0-cdef-ghjk", keyed) == hash_recovery_code("0011-1ab0-cdef-ghjk", keyed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "abcde",
        "abcde-fghj",
        "abcde-fghjkm",
        "abcd-efgh-jkmn-pqr",
        "abcd-efgh-jkmn-pqrst",
        "abcd-efgh-jkmn-pqru",
        "abcd_efgh_jkmn_pqrs",
        "ábcd-efgh-jkmn-pqrs",
    ],
)
def test_what_cannot_be_a_recovery_code_is_refused(typed):
    assert normalize_recovery_code(typed) is None
    assert hash_recovery_code(typed, keyed) is None


def test_a_new_code_is_stored_under_the_keyed_hash_only():
    """`k1:` and the keyed hash of the normalized code: never its plain SHA-256, which a
    copy of the table would let anyone test guesses against."""
    code = new_recovery_codes()[0]
    bare = code.replace("-", "")
    stored = hash_recovery_code(code, keyed)
    assert stored == "k1:" + keyed(bare)
    assert hashlib.sha256(bare.encode()).hexdigest() not in (stored or "")


def test_a_code_of_the_old_format_matches_the_plain_sha256_it_was_stored_under():
    """Codes handed out before were 10 characters kept as SHA-256: still accepted."""
    assert hash_recovery_code("abcde-fghjk", keyed) == hashlib.sha256(b"abcdefghjk").hexdigest()
    assert hash_recovery_code("ABCDE FGHJK", keyed) == hash_recovery_code("abcde-fghjk", keyed)
    assert hash_recovery_code("abcdefghjk", keyed) == hashlib.sha256(b"abcdefghjk").hexdigest()


def test_the_keyed_form_is_stable():
    code = new_recovery_codes()[0]
    assert hash_recovery_code(code, keyed) == hash_recovery_code(code, keyed)
    assert re.fullmatch(r"k1:[0-9a-f]{64}", hash_recovery_code(code, keyed) or "")


def test_different_codes_hash_differently():
    codes = new_recovery_codes()
    assert len({hash_recovery_code(code, keyed) for code in codes}) == 10


# --- the secret box ------------------------------------------------------------------------------

KEYS = {"key-a": b"a" * 64, "key-b": b"b" * 64}


@pytest.fixture
def fixed_keys(monkeypatch):
    monkeypatch.setattr(secret_box, "signing_key", lambda secret_id: KEYS[secret_id])


@pytest.fixture
def box(fixed_keys) -> AesGcmSecretBox:
    return AesGcmSecretBox("key-a")


def test_sealed_values_open_for_their_owner(box):
    secret = new_totp_secret()
    sealed = box.seal(secret, "usr_1")
    assert sealed.startswith("v1.")
    assert secret not in sealed
    assert box.open(sealed, "usr_1") == secret


def test_a_new_box_with_the_same_key_opens_it(box):
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    assert AesGcmSecretBox("key-a").open(sealed, "usr_1") == "JBSWY3DPEHPK3PXP"


def test_another_owner_cannot_open_it(box):
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    with pytest.raises(SealedValueInvalid):
        box.open(sealed, "usr_2")


def test_another_key_cannot_open_it(box):
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    with pytest.raises(SealedValueInvalid):
        AesGcmSecretBox("key-b").open(sealed, "usr_1")


def _flip(sealed: str, index: int) -> str:
    version, _, body = sealed.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[index] ^= 0x01
    return f"{version}.{base64.urlsafe_b64encode(bytes(raw)).decode('ascii')}"


@pytest.mark.parametrize("index", [0, 11, 12, 20, -1])
def test_tampering_with_any_byte_is_refused(box, index):
    """Nonce (0, 11), ciphertext (12, 20) or tag (-1)."""
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    with pytest.raises(SealedValueInvalid):
        box.open(_flip(sealed, index), "usr_1")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: "v2." + s.partition(".")[2],
        lambda s: s.partition(".")[2],
        lambda s: s[:-8],
        lambda s: "v1.",
        lambda s: "v1.not base64!",
        lambda s: "",
    ],
)
def test_mangled_values_are_refused(box, mangle):
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    with pytest.raises(SealedValueInvalid):
        box.open(mangle(sealed), "usr_1")


def test_every_seal_has_a_fresh_nonce(box):
    sealed = [box.seal("JBSWY3DPEHPK3PXP", "usr_1") for _ in range(50)]
    assert len(set(sealed)) == 50
    nonces = {base64.urlsafe_b64decode(value.partition(".")[2])[:12] for value in sealed}
    assert len(nonces) == 50
    assert all(box.open(value, "usr_1") == "JBSWY3DPEHPK3PXP" for value in sealed)


def _reference_aead(key_material: bytes):  # type: ignore[no-untyped-def]
    """AES-256-GCM under HKDF-SHA256 (no salt, info "kuploy-access totp v1"), from another library."""
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kuploy-access totp v1").derive(key_material)
    return AESGCM(key)


def test_the_sealed_format_is_standard_aes_gcm_both_ways(box):
    """v1.base64url(nonce ‖ ciphertext ‖ tag), owner as associated data: values sealed by
    any conforming implementation (such as an earlier one on another library) still open."""
    reference = _reference_aead(KEYS["key-a"])
    sealed = box.seal("JBSWY3DPEHPK3PXP", "usr_1")
    raw = base64.urlsafe_b64decode(sealed.partition(".")[2])
    assert reference.decrypt(raw[:12], raw[12:], b"usr_1") == b"JBSWY3DPEHPK3PXP"

    nonce = bytes(range(12))
    theirs = "v1." + base64.urlsafe_b64encode(nonce + reference.encrypt(nonce, b"GEZDGNBVGY3TQOJQ", b"usr_9")).decode()
    assert box.open(theirs, "usr_9") == "GEZDGNBVGY3TQOJQ"
    with pytest.raises(SealedValueInvalid):
        box.open(theirs, "usr_1")


# --- the keyed hash of recovery codes ------------------------------------------------------------


def test_the_keyed_hash_is_hmac_sha256_under_its_own_hkdf_key(box):
    """HMAC-SHA256 under HKDF-SHA256(secret, info "kuploy-access recovery codes v1"):
    a key of its own, not the AES key, computed here with another library."""
    pytest.importorskip("cryptography")
    import hmac

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    def derive(info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(KEYS["key-a"])

    key = derive(b"kuploy-access recovery codes v1")
    assert key != derive(b"kuploy-access totp v1")
    expected = hmac.new(key, b"abcdefghjkmnpqrs", hashlib.sha256).hexdigest()
    assert box.keyed_hash("abcdefghjkmnpqrs") == expected


def test_the_keyed_hash_depends_on_the_secret(box):
    assert box.keyed_hash("abcdefghjkmnpqrs") == AesGcmSecretBox("key-a").keyed_hash("abcdefghjkmnpqrs")
    assert box.keyed_hash("abcdefghjkmnpqrs") != AesGcmSecretBox("key-b").keyed_hash("abcdefghjkmnpqrs")
    assert box.keyed_hash("abcdefghjkmnpqrs") != hashlib.sha256(b"abcdefghjkmnpqrs").hexdigest()
