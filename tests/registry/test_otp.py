"""TOTP (registry.accounts.otp): RFC 6238 codes, the drift allowed, and what is accepted as typed.
No Flask, no database."""
import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest

from registry.accounts import otp

SECRET = otp.new_secret()
NOW = dt.datetime(2026, 4, 1, 9, 0, 15)


def test_a_new_secret_is_160_random_bits_in_base32():
    assert len(SECRET) == 32 and SECRET.isalnum() and SECRET == SECRET.upper()
    assert otp.new_secret() != SECRET


def test_rfc_6238_test_vector():
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) -> the last 6 digits.
    secret = otp._b32(b"12345678901234567890")
    assert otp.code_at(secret, dt.datetime(1970, 1, 1, 0, 0, 59)) == "287082"


@pytest.mark.parametrize("offset_steps", [-1, 0, 1])
def test_a_code_of_the_step_before_now_or_after_is_accepted(offset_steps):
    code = otp.code_at(SECRET, NOW + dt.timedelta(seconds=30 * offset_steps))
    assert otp.matching_step(SECRET, code, at=NOW) == otp.step_at(NOW) + offset_steps


@pytest.mark.parametrize("offset_steps", [-3, -2, 2, 3])
def test_a_code_further_away_is_refused(offset_steps):
    code = otp.code_at(SECRET, NOW + dt.timedelta(seconds=30 * offset_steps))
    if code in {otp.code_at(SECRET, NOW + dt.timedelta(seconds=30 * k)) for k in (-1, 0, 1)}:
        pytest.skip("the two codes happen to collide")
    assert otp.matching_step(SECRET, code, at=NOW) is None


def test_typed_variants_are_accepted():
    code = otp.code_at(SECRET, NOW)
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for typed in (code, f" {code[:3]} {code[3:]} ", full_width, f"{code[:3]}-{code[3:]}"):
        assert otp.matching_step(SECRET, typed, at=NOW) == otp.step_at(NOW), typed


@pytest.mark.parametrize("typed", ["", None, "12345", "1234567", "abcdef", "12345x"])
def test_malformed_codes_are_refused(typed):
    assert otp.matching_step(SECRET, typed, at=NOW) is None


def test_another_secret_s_code_is_refused():
    other = otp.new_secret()
    code = otp.code_at(other, NOW)
    if otp.matching_step(SECRET, code, at=NOW) is not None:
        pytest.skip("a one in 300,000 collision")
    assert otp.matching_step(SECRET, code, at=NOW) is None


def test_the_enrolment_secret_is_stable_per_context_and_differs_between_contexts():
    key = b"server-secret-key"
    first = otp.derived_secret(key, "7:token-a")
    assert first == otp.derived_secret(key, "7:token-a")
    assert first != otp.derived_secret(key, "7:token-b")
    assert first != otp.derived_secret(b"another-key", "7:token-a")
    assert len(first) == 32
    otp.code_at(first, NOW)  # usable as a TOTP key (at least 128 bits)


def test_the_provisioning_uri_is_what_authenticator_apps_read():
    uri = otp.provisioning_uri(SECRET, account="staff@kakuda.example.jp")
    parts = urlsplit(uri)
    assert parts.scheme == "otpauth" and parts.netloc == "totp"
    query = parse_qs(parts.query)
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["dsure-portal"]
    assert query.get("digits", ["6"]) == ["6"] and query.get("period", ["30"]) == ["30"]
    assert query.get("algorithm", ["SHA1"]) == ["SHA1"]


def test_grouped_secret_for_typing_by_hand():
    assert otp.grouped("ABCDEFGHIJ") == "ABCD EFGH IJ"
