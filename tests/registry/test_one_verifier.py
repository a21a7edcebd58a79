"""One revision verifier: registry.certificates.signatures.check_stored. The offline bundle checker
carries its own copy (it must run with only cryptography and rfc8785); here both give
the same verdict on the same stored bytes, good and bent."""
from __future__ import annotations

import pytest

from registry.audit import bundle_check
from registry.certificates.signatures import canonical_bytes, check_stored, public_key_from_pem
from tests.factories import TEST_KEY, TEST_PUBLIC_PEM, make_document

PUBLIC = public_key_from_pem(TEST_PUBLIC_PEM)
GOOD = canonical_bytes(make_document())
SIGNATURE = TEST_KEY.sign(GOOD)
PRETTY = b'{ "a": 1 }'


def flipped(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


CASES = {
    "as signed": (PUBLIC, GOOD, SIGNATURE),
    "a signature bit flipped": (PUBLIC, GOOD, flipped(SIGNATURE)),
    "a document byte changed": (PUBLIC, GOOD.replace(b"50000000", b"50000001"), SIGNATURE),
    "another key": (flipped(PUBLIC), GOOD, SIGNATURE),
    "signed but not canonical": (PUBLIC, PRETTY, TEST_KEY.sign(PRETTY)),
    "signed but not JSON": (PUBLIC, b"\xff\xfe", TEST_KEY.sign(b"\xff\xfe")),
    "a short signature": (PUBLIC, GOOD, SIGNATURE[:10]),
}


@pytest.mark.parametrize("case", CASES)
def test_the_bundle_checker_and_the_registry_agree(case):
    key, data, signature = CASES[case]
    stored = check_stored(key, data, signature)
    assert bundle_check.verify_signature(key, signature, data) == stored.signature_valid
    if stored.signature_valid:
        assert (bundle_check.canonical_document(data) is not None) == stored.canonical


def test_the_cases_cover_both_verdicts_of_each_part():
    verdicts = [check_stored(*case) for case in CASES.values()]
    assert {v.signature_valid for v in verdicts} == {True, False}
    assert {v.canonical for v in verdicts} == {True, False}
    assert [case for case, v in zip(CASES, verdicts) if v.intact] == ["as signed"]
