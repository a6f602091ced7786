"""Signed JWTs: each kind its own typ and aud, HS256 pinned, expiry judged after the signature."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from kuploy_access.domain.access_tokens import (
    ALGORITHM,
    ISSUER,
    MIN_KEY_BYTES,
    JwtCodec,
    JwtKind,
    TokenRejected,
)
from tests.unit.jwt_helpers import (
    OTHER_KEY,
    TEST_KEY,
    b64url,
    claims_for,
    decode_segment,
    hmac_token,
    segment,
    unsigned_token,
)

# Well in the past of any machine running the tests (see the injected-clock test).
NOW = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
LIFETIME = timedelta(minutes=15)


@pytest.fixture
def codec() -> JwtCodec:
    return JwtCodec(TEST_KEY)


def issue(codec: JwtCodec, kind: JwtKind = JwtKind.ACCESS, **extra: object) -> str:
    return codec.issue(kind, "usr_01ada", NOW, LIFETIME, extra={"sid": "ses_01one", **extra})


def rejected(codec: JwtCodec, token: str, kind: JwtKind = JwtKind.ACCESS, now: datetime = NOW) -> TokenRejected:
    with pytest.raises(TokenRejected) as caught:
        codec.verify(kind, token, now)
    return caught.value


# --- the happy path ------------------------------------------------------------------


def test_round_trip(codec):
    token = issue(codec)
    verified = codec.verify(JwtKind.ACCESS, token, NOW + timedelta(minutes=1))
    assert verified.subject == "usr_01ada"
    assert verified.session_id == "ses_01one"
    assert verified.expires_at == int(NOW.timestamp()) + 900
    assert verified.token_id == verified.claims["jti"]
    assert verified.claims["sub"] == "usr_01ada"


def test_token_without_session_id(codec):
    token = codec.issue(JwtKind.ACCESS, "usr_01ada", NOW, LIFETIME)
    assert codec.verify(JwtKind.ACCESS, token, NOW).session_id is None


def test_mfa_challenge_round_trip(codec):
    token = codec.issue(JwtKind.MFA_CHALLENGE, "usr_01ada", NOW, timedelta(minutes=5))
    assert codec.verify(JwtKind.MFA_CHALLENGE, token, NOW).subject == "usr_01ada"


def test_required_claims_and_header(codec):
    token = issue(codec)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == ALGORITHM == "HS256"
    assert header["typ"] == JwtKind.ACCESS.typ
    claims = decode_segment(token, 1)
    for name in ("iss", "aud", "sub", "exp", "iat", "jti"):
        assert name in claims, name
    assert claims["iss"] == ISSUER
    assert claims["aud"] == JwtKind.ACCESS.audience
    assert claims["iat"] == int(NOW.timestamp())
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert len(claims["jti"]) >= 16


def test_every_token_has_its_own_jti(codec):
    jtis = {decode_segment(issue(codec), 1)["jti"] for _ in range(50)}
    assert len(jtis) == 50


def test_kinds_have_distinct_typ_and_audience():
    assert len({kind.typ for kind in JwtKind}) == len(JwtKind)
    assert len({kind.audience for kind in JwtKind}) == len(JwtKind)


# --- keys ----------------------------------------------------------------------------


def test_key_shorter_than_256_bits_is_rejected():
    assert MIN_KEY_BYTES == 32
    with pytest.raises(ValueError, match="256 bits"):
        JwtCodec(b"k" * 31)
    with pytest.raises(ValueError):
        JwtCodec(b"")


def test_key_of_exactly_256_bits_is_accepted():
    codec = JwtCodec(b"k" * 32)
    token = codec.issue(JwtKind.ACCESS, "usr_1", NOW, LIFETIME)
    assert codec.verify(JwtKind.ACCESS, token, NOW).subject == "usr_1"


def test_signed_with_another_key_is_invalid(codec):
    forged = JwtCodec(OTHER_KEY).issue(JwtKind.ACCESS, "usr_01ada", NOW, LIFETIME)
    error = rejected(codec, forged)
    assert error.code == "invalid_token"


# --- algorithm attacks ---------------------------------------------------------------


def test_alg_none_is_refused(codec):
    token = unsigned_token({"alg": "none", "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW))
    assert rejected(codec, token).code == "invalid_token"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_spellings_with_a_signature_are_refused(codec, alg):
    token = hmac_token({"alg": alg, "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW))
    assert rejected(codec, token).code == "invalid_token"


def test_hs512_with_the_right_key_is_refused(codec):
    token = jwt.encode(
        claims_for(JwtKind.ACCESS, NOW), TEST_KEY, algorithm="HS512", headers={"typ": JwtKind.ACCESS.typ}
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS512"
    assert rejected(codec, token).code == "invalid_token"


def test_hs384_header_with_right_key_is_refused(codec):
    token = hmac_token(
        {"alg": "HS384", "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW), digest=hashlib.sha384
    )
    assert rejected(codec, token).code == "invalid_token"


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
def test_asymmetric_alg_header_over_an_hmac_signature_is_refused(codec, alg):
    # The classic key-confusion attack: claim an asymmetric algorithm, sign with HMAC.
    token = hmac_token({"alg": alg, "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW))
    assert rejected(codec, token).code == "invalid_token"


def test_hand_made_hs256_with_the_right_key_is_accepted(codec):
    # Control for the attacks above: the helper produces tokens the codec accepts.
    token = hmac_token({"alg": "HS256", "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW))
    assert codec.verify(JwtKind.ACCESS, token, NOW).subject == "usr_someone"


# --- kind confusion ------------------------------------------------------------------


def test_mfa_challenge_token_is_not_an_access_token(codec):
    token = codec.issue(JwtKind.MFA_CHALLENGE, "usr_01ada", NOW, LIFETIME)
    assert rejected(codec, token, JwtKind.ACCESS).code == "invalid_token"


def test_access_token_is_not_an_mfa_challenge(codec):
    token = issue(codec)
    assert rejected(codec, token, JwtKind.MFA_CHALLENGE).code == "invalid_token"


def test_wrong_audience_with_the_right_typ_is_refused(codec):
    for audience in ("someone-else", JwtKind.MFA_CHALLENGE.audience):
        claims = claims_for(JwtKind.ACCESS, NOW, aud=audience)
        token = hmac_token({"alg": "HS256", "typ": JwtKind.ACCESS.typ}, claims)
        assert rejected(codec, token).code == "invalid_token"


def test_right_audience_with_the_wrong_typ_is_refused(codec):
    claims = claims_for(JwtKind.ACCESS, NOW)
    for typ in (JwtKind.MFA_CHALLENGE.typ, "JWT", None):
        header = {"alg": "HS256"} if typ is None else {"alg": "HS256", "typ": typ}
        assert rejected(codec, hmac_token(header, claims)).code == "invalid_token"


def test_wrong_issuer_is_refused(codec):
    token = hmac_token(
        {"alg": "HS256", "typ": JwtKind.ACCESS.typ}, claims_for(JwtKind.ACCESS, NOW, iss="https://evil.example")
    )
    assert rejected(codec, token).code == "invalid_token"


@pytest.mark.parametrize("missing", ["iss", "aud", "sub", "exp", "iat", "jti"])
def test_each_required_claim_must_be_present(codec, missing):
    claims = claims_for(JwtKind.ACCESS, NOW)
    del claims[missing]
    token = hmac_token({"alg": "HS256", "typ": JwtKind.ACCESS.typ}, claims)
    assert rejected(codec, token).code == "invalid_token"


# --- tampering -----------------------------------------------------------------------


def test_tampered_payload_is_invalid(codec):
    token = issue(codec)
    header, _payload, signature = token.split(".")
    claims = decode_segment(token, 1)
    claims["sub"] = "usr_01mallory"
    tampered = f"{header}.{segment(claims)}.{signature}"
    assert rejected(codec, tampered).code == "invalid_token"


def test_tampered_header_is_invalid(codec):
    token = issue(codec)
    _header, payload, signature = token.split(".")
    new_header = segment({"alg": "HS256", "typ": JwtKind.ACCESS.typ, "kid": "x"})
    assert rejected(codec, f"{new_header}.{payload}.{signature}").code == "invalid_token"


def test_stripped_signature_is_invalid(codec):
    header, payload, _signature = issue(codec).split(".")
    assert rejected(codec, f"{header}.{payload}.").code == "invalid_token"


def test_flipped_signature_bit_is_invalid(codec):
    header, payload, signature = issue(codec).split(".")
    raw = bytearray(jwt.utils.base64url_decode(signature))
    raw[0] ^= 1
    assert rejected(codec, f"{header}.{payload}.{b64url(bytes(raw))}").code == "invalid_token"


@pytest.mark.parametrize(
    "garbage",
    ["", "garbage", "a.b.c", "a.b.c.d", "\u00fc.\u00fc.\u00fc", "e30.e30.", segment([]) + ".e30.", "Bearer x"],
)
def test_garbage_is_invalid_not_a_crash(codec, garbage):
    assert rejected(codec, garbage).code == "invalid_token"


# --- expiry --------------------------------------------------------------------------


def test_valid_until_the_last_second(codec):
    token = issue(codec)
    assert codec.verify(JwtKind.ACCESS, token, NOW + LIFETIME - timedelta(seconds=1)).subject == "usr_01ada"


def test_expired_token_says_token_expired(codec):
    token = issue(codec)
    for later in (LIFETIME, LIFETIME + timedelta(seconds=1), timedelta(days=3)):
        error = rejected(codec, token, now=NOW + later)
        assert error.code == "token_expired"


def test_forged_and_expired_token_is_invalid_not_expired(codec):
    forged = JwtCodec(OTHER_KEY).issue(JwtKind.ACCESS, "usr_01ada", NOW - timedelta(days=1), LIFETIME)
    assert rejected(codec, forged).code == "invalid_token"


def test_tampered_and_expired_token_is_invalid_not_expired(codec):
    token = codec.issue(JwtKind.ACCESS, "usr_01ada", NOW - timedelta(hours=2), LIFETIME)
    header, _payload, signature = token.split(".")
    claims = decode_segment(token, 1)
    claims["sub"] = "usr_01mallory"
    assert rejected(codec, f"{header}.{segment(claims)}.{signature}").code == "invalid_token"


def test_alg_none_and_expired_is_invalid_not_expired(codec):
    claims = claims_for(JwtKind.ACCESS, NOW - timedelta(days=1))
    token = unsigned_token({"alg": "none", "typ": JwtKind.ACCESS.typ}, claims)
    assert rejected(codec, token).code == "invalid_token"


def test_expired_mfa_token_presented_as_access_is_invalid_not_expired(codec):
    token = codec.issue(JwtKind.MFA_CHALLENGE, "usr_01ada", NOW - timedelta(days=1), LIFETIME)
    assert rejected(codec, token, JwtKind.ACCESS).code == "invalid_token"


def test_verify_judges_time_by_the_injected_clock_only(codec):
    # `verify` takes `now`: a token issued at `now` must verify at `now`, whatever the
    # machine's own clock says (a fake clock, or another container a few seconds ahead).
    # Today PyJWT also checks `iat` against the system clock, so a token whose `iat`
    # is ahead of the machine's clock is refused as invalid_token.
    ahead = datetime.now(UTC) + timedelta(hours=1)
    token = JwtCodec(TEST_KEY).issue(JwtKind.ACCESS, "usr_01ada", ahead, LIFETIME)
    assert codec.verify(JwtKind.ACCESS, token, ahead + timedelta(seconds=1)).subject == "usr_01ada"


def test_rejection_carries_code_and_reason():
    error = TokenRejected("token_expired", "token expired")
    assert error.code == "token_expired"
    assert error.reason == "token expired"
    assert str(error) == "token expired"
