"""Properties of the tokens people and programs send back (Hypothesis): signed JWTs
(access tokens and the 2FA challenge), one-time link secrets, refresh tokens, TOTP codes
and recovery codes. What the service made reads back as what it made; anything else, of
any shape, is refused with the domain's own answer and never raises another exception
(a lone surrogate is text a JSON body can spell)."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from kuploy_access.domain.access_tokens import JwtCodec, JwtKind, TokenRejected
from kuploy_access.domain.errors import InvalidMfaToken, InvalidRefreshToken, InvalidToken, NotFound, TokenReused
from kuploy_access.domain.identities import well_formed_state
from kuploy_access.domain.invitations import hash_invitation_secret, new_invitation_secret
from kuploy_access.domain.one_time_tokens import hash_secret, new_secret
from kuploy_access.domain.two_factor import (
    DRIFT_STEPS,
    KEYED_RECOVERY_PREFIX,
    RECOVERY_CODE_LENGTH,
    code_for_step,
    hash_recovery_code,
    matching_step,
    new_recovery_codes,
    normalize_recovery_code,
    step_at,
)
from kuploy_access.services.sessions import ClientInfo
from tests.unit.jwt_helpers import OTHER_KEY, TEST_KEY
from tests.unit.org_fakes import OrgWorld
from tests.unit.support import START, World

CODEC = JwtCodec(TEST_KEY)
OTHER_CODEC = JwtCodec(OTHER_KEY)
CLIENT = ClientInfo(ip="198.51.100.40", user_agent="pytest")
B64URL = string.ascii_letters + string.digits + "-_"

# Text as a client may send it: anything, a JWT-shaped string, and the lone surrogates
# that `json.loads` accepts in a body.
ARBITRARY = st.one_of(
    st.text(max_size=80),
    st.lists(st.text(alphabet=B64URL, max_size=40), min_size=1, max_size=4).map(".".join),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF) | st.sampled_from("ab.="), max_size=8),
)
SUBJECTS = st.text(min_size=1, max_size=40)
LIFETIMES = st.integers(min_value=1, max_value=30 * 24 * 3600)


# --- signed JWTs ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(JwtKind), subject=SUBJECTS, lifetime=LIFETIMES, session=st.text(max_size=20))
def test_a_jwt_reads_back_as_issued_for_its_kind_only(kind, subject, lifetime, session):
    token = CODEC.issue(kind, subject, START, timedelta(seconds=lifetime), extra={"sid": session})
    verified = CODEC.verify(kind, token, START)
    assert (verified.subject, verified.session_id) == (subject, session)
    assert verified.expires_at == int(START.timestamp()) + lifetime
    assert CODEC.verify(kind, token, START + timedelta(seconds=lifetime - 1)).token_id == verified.token_id
    with pytest.raises(TokenRejected) as expired:
        CODEC.verify(kind, token, START + timedelta(seconds=lifetime))
    assert expired.value.code == "token_expired"
    for other in JwtKind:
        if other is not kind:
            with pytest.raises(TokenRejected) as refused:
                CODEC.verify(other, token, START)
            assert refused.value.code == "invalid_token"
    with pytest.raises(TokenRejected) as forged:
        OTHER_CODEC.verify(kind, token, START + timedelta(days=400))
    assert forged.value.code == "invalid_token"  # never "expired": the signature is judged first


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(JwtKind),
    subject=SUBJECTS,
    position=st.integers(min_value=0),
    replacement=st.one_of(st.sampled_from(B64URL + "."), st.characters()),
)
def test_every_one_character_change_of_a_jwt_is_refused(kind, subject, position, replacement):
    """Any one-character change is invalid_token: in the header or the claims it breaks
    the signature; in the signature too, including its last character, whose low bits
    base64url decodes to nothing (PyJWT refuses a segment that is not canonical)."""
    token = CODEC.issue(kind, subject, START, timedelta(minutes=15))
    position %= len(token)
    assume(replacement != token[position])
    changed = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(TokenRejected) as refused:
        CODEC.verify(kind, changed, START)
    assert refused.value.code == "invalid_token"


def test_a_signature_with_other_unused_bits_is_refused():
    """The signature's last base64url character carries 2 bits of the HMAC and 4 bits
    that decode to nothing: the 3 spellings that differ only there are refused too."""
    token = CODEC.issue(JwtKind.ACCESS, "usr_01ada", START, timedelta(minutes=15))
    for replacement in B64URL:
        if replacement != token[-1]:
            with pytest.raises(TokenRejected):
                CODEC.verify(JwtKind.ACCESS, token[:-1] + replacement, START)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(JwtKind), text=ARBITRARY)
@example(kind=JwtKind.ACCESS, text="\ud800")  # was UnicodeEncodeError (a 500 at POST /auth/login/2fa)
@example(kind=JwtKind.MFA_CHALLENGE, text="eyJ\udc00.e30.x")
@example(kind=JwtKind.ACCESS, text="")
@example(kind=JwtKind.ACCESS, text="é.é.é")
@example(kind=JwtKind.ACCESS, text="eyJhbGciOiJub25lIn0.e30.")  # alg: none
def test_arbitrary_text_is_refused_as_a_jwt_with_token_rejected_only(kind, text):
    with pytest.raises(TokenRejected) as refused:
        CODEC.verify(kind, text, START)
    assert refused.value.code == "invalid_token"


@settings(max_examples=100, deadline=None)
@given(
    header=st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=3),
    claims=st.dictionaries(
        st.sampled_from(["iss", "aud", "sub", "exp", "iat", "jti", "sid", "auth_time", "x"]),
        st.one_of(st.text(max_size=8), st.integers(), st.floats(allow_nan=False), st.none(), st.lists(st.integers())),
        max_size=9,
    ),
    signature=st.text(alphabet=B64URL, max_size=50),
)
def test_unsigned_or_forged_jwts_of_any_content_are_refused(header, claims, signature):
    def part(value: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    for typ in ("at+jwt", "mfa+jwt", None):
        forged = f"{part({**header, 'alg': 'HS256', 'typ': typ})}.{part(claims)}.{signature}"
        for kind in JwtKind:
            with pytest.raises(TokenRejected) as refused:
                CODEC.verify(kind, forged, START)
            assert refused.value.code == "invalid_token"


# --- one-time secrets, refresh tokens, 2FA challenges through the services -----------------------


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=100))
@example(text="\ud800")  # was UnicodeEncodeError: a 500 for every link, refresh and log-out route
@example(text="\udfff" * 3)
def test_any_text_hashes_to_one_stored_form_and_never_raises(text):
    hashed = hash_secret(text)
    assert len(hashed) == 64 and int(hashed, 16) >= 0
    assert hash_secret(text) == hashed


def test_secrets_and_their_hashes_are_all_distinct():
    secrets_ = [new_secret() for _ in range(500)]
    assert len(set(secrets_)) == 500
    assert len({hash_secret(secret) for secret in secrets_}) == 500
    assert all(len(secret) == 43 and set(secret) <= set(B64URL) for secret in secrets_)


@settings(max_examples=200, deadline=None)
@given(text=ARBITRARY)
@example(text="\ud800")
@example(text="x" * 513)
def test_unknown_one_time_secrets_are_refused_by_every_service_as_invalid_token(text):
    world = World()
    with pytest.raises(InvalidToken):
        world.signup().verify_email(text)
    with pytest.raises(InvalidToken):
        world.passwords().reset(text, "Analytical-Engine-1843")
    with pytest.raises(InvalidToken):
        world.login().unlock(text, CLIENT)
    with pytest.raises(InvalidRefreshToken):
        world.session_service().refresh(text, CLIENT)
    world.session_service().log_out(text)  # unknown: already logged out, no error
    with pytest.raises(InvalidMfaToken):
        world.login().complete_two_factor(text, "123456", None, CLIENT)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=100))
@example(text="\ud800")  # was UnicodeEncodeError, as hash_secret was
def test_any_text_hashes_as_an_invitation_token_and_never_raises(text):
    hashed = hash_invitation_secret(text)
    assert len(hashed) == 64 and hash_invitation_secret(text) == hashed


@settings(max_examples=150, deadline=None)
@given(text=ARBITRARY)
@example(text="\ud800")
@example(text="")
def test_unknown_invitation_tokens_are_not_found_and_oauth_states_of_another_shape_are_refused(text):
    world = OrgWorld()
    user = world.add_user()
    service = world.invitation_service()
    for attempt in (
        lambda: service.view(text),
        lambda: service.accept(user.id, text, CLIENT),
        lambda: service.decline(user.id, text, CLIENT),
    ):
        with pytest.raises(NotFound):
            attempt()
    assert well_formed_state(text) == (len(text) == 43 and set(text) <= set(B64URL))


def test_new_invitation_tokens_and_oauth_states_have_their_shape():
    for _ in range(200):
        assert well_formed_state(new_secret())
        assert len(new_invitation_secret()) >= 43


@settings(max_examples=40, deadline=None)
@given(rounds=st.integers(min_value=1, max_value=6), replay=st.data())
def test_a_refresh_token_works_once_and_a_replay_ends_the_session(rounds, replay):
    world = World()
    service = world.session_service()
    issued = [service.start("usr_01ada", CLIENT).refresh_token]
    for _ in range(rounds):
        issued.append(service.refresh(issued[-1], CLIENT).refresh_token)
    assert len(set(issued)) == len(issued)
    old = replay.draw(st.sampled_from(issued[:-1]))
    with pytest.raises(TokenReused):
        service.refresh(old, CLIENT)
    # The whole session ended: its newest token is no good any more.
    with pytest.raises((InvalidRefreshToken, TokenReused)):
        service.refresh(issued[-1], CLIENT)


# --- TOTP codes and recovery codes ----------------------------------------------------------------

SECRETS = st.binary(min_size=20, max_size=20).map(lambda raw: base64.b32encode(raw).decode("ascii").rstrip("="))
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
MOMENTS = st.integers(min_value=1_600_000_000, max_value=2_100_000_000).map(lambda s: datetime.fromtimestamp(s, UTC))


@settings(max_examples=120, deadline=None)
@given(secret=SECRETS, now=MOMENTS, offset=st.integers(-DRIFT_STEPS, DRIFT_STEPS), spaced=st.booleans())
def test_a_code_within_the_drift_window_matches_its_own_step(secret, now, offset, spaced):
    step = step_at(now) + offset
    code = code_for_step(secret, step)
    assert len(code) == 6 and code.isdigit()
    typed = f" {code[:3]} {code[3:]} " if spaced else code
    found = matching_step(secret, typed, now)
    # Another step of the window may share the code (one chance in a million): the
    # earliest such step is the one answered, and it has this code.
    assert found is not None and abs(found - step_at(now)) <= DRIFT_STEPS
    assert code_for_step(secret, found) == code and found <= step


@settings(max_examples=200, deadline=None)
@given(secret=SECRETS, now=MOMENTS, offset=st.integers(DRIFT_STEPS + 1, 1000), sign=st.sampled_from([-1, 1]))
def test_a_code_outside_the_window_matches_only_by_coincidence(secret, now, offset, sign):
    code = code_for_step(secret, step_at(now) + sign * offset)
    found = matching_step(secret, code, now)
    assert found is None or code_for_step(secret, found) == code


@settings(max_examples=250, deadline=None)
@given(now=MOMENTS, text=st.one_of(ARBITRARY, st.text(alphabet="0123456789 ٠١٢٣٤٥٦٧٨٩０１２", max_size=9)))
@example(now=START, text="١٢٣٤٥٦")  # Arabic-Indic digits: \d would take them, [0-9] does not
@example(now=START, text="12345\ud800")
def test_arbitrary_text_is_a_code_of_the_window_or_none(now, text):
    secret = TOTP_SECRET
    found = matching_step(secret, text, now)
    if found is not None:
        assert abs(found - step_at(now)) <= DRIFT_STEPS
        assert code_for_step(secret, found) == text.strip().replace(" ", "")


RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
RECOVERY_CODES = st.text(alphabet=RECOVERY_ALPHABET, min_size=16, max_size=16).map(
    lambda raw: "-".join(raw[i : i + 4] for i in range(0, 16, 4))
)


def test_new_recovery_codes_have_the_format_the_properties_draw():
    for _ in range(20):
        for code in new_recovery_codes():
            assert len(code) == 19 and code.count("-") == 3
            assert set(code.replace("-", "")) <= set(RECOVERY_ALPHABET)


@settings(max_examples=120, deadline=None)
@given(code=RECOVERY_CODES, data=st.data())
def test_recovery_codes_read_back_however_they_are_typed(code, data):
    normalized = normalize_recovery_code(code)
    assert normalized is not None and len(normalized) == RECOVERY_CODE_LENGTH
    assert normalize_recovery_code(normalized) == normalized
    stored = hash_recovery_code(code, _keyed)
    assert stored == KEYED_RECOVERY_PREFIX + _keyed(normalized)
    retyped = data.draw(_retyped(code))
    assert normalize_recovery_code(retyped) == normalized
    assert hash_recovery_code(retyped, _keyed) == stored


def test_the_letters_read_as_digits_read_as_digits():
    stored = hash_recovery_code("1111-0000-1111-0000", _keyed)
    assert hash_recovery_code(" I1l1 0oO0-iLl1 o0O0 ", _keyed) == stored


def _retyped(code: str) -> st.SearchStrategy[str]:
    """How a person may type `code`: any case, the hyphens or not, spaces around, and
    the letters Crockford's base32 reads as digits (i and l for 1, o for 0)."""
    look_alike = {"1": "1il", "0": "0oO"}

    def char(ch: str) -> st.SearchStrategy[str]:
        if ch == "-":
            return st.sampled_from(["-", "", " "])
        return st.sampled_from(sorted({ch, ch.upper(), *look_alike.get(ch, "")}))

    return st.tuples(*(char(ch) for ch in code)).map(lambda parts: f" {''.join(parts)} ")


def _keyed(value: str) -> str:
    return f"hmac({value})"


@settings(max_examples=250, deadline=None)
@given(text=st.one_of(ARBITRARY, st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz- İK", max_size=22)))
@example(text="\u212a" * 16)  # the Kelvin sign lower-cases to k
@example(text="İ" * 16)  # lower-cases to two characters
@example(text="\ud800" * 16)
def test_arbitrary_text_is_a_recovery_code_or_none_and_never_raises(text):
    normalized = normalize_recovery_code(text)
    stored = hash_recovery_code(text, _keyed)
    if normalized is None:
        assert stored is None
        return
    assert normalize_recovery_code(normalized) == normalized
    assert normalized.isascii() and stored is not None
