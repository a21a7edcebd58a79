import re

import pytest

from registry.certificates.auth_keys import ALPHABET, AuthKeyHasher, generate_auth_key
from registry.certificates.normalise import normalise_contract_number


@pytest.mark.parametrize("typed", [
    "10001-000001", "１０００１－０００００１", "1000100000１", " 10001 - 000001 ",
    "10001ー000001", "10001−000001", "10001‐000001", "10001\u3000000001",
])
def test_what_a_clerk_types_becomes_the_contract_number(typed):
    assert normalise_contract_number(typed) == "10001-000001"


@pytest.mark.parametrize("typed", ["", "1000-1000001x", "10001-00000", "10001-0000011", "abcde-fghijk"])
def test_malformed_numbers_normalise_to_none(typed):
    assert normalise_contract_number(typed) is None


def test_auth_keys_are_twelve_characters_without_look_alikes():
    keys = {generate_auth_key() for _ in range(500)}
    assert len(keys) == 500
    assert all(re.fullmatch(f"[{ALPHABET}]{{12}}", k) for k in keys)
    assert not set("0O1lI") & set(ALPHABET)


def test_a_digest_hides_the_key_and_checks_it(hasher):
    key = "Z28YUE4J3Bux"
    digest = hasher.digest(key)
    assert key not in digest and digest.startswith("$argon2id$")
    assert "m=19456,t=2,p=1" in digest
    assert hasher.matches(digest, key)
    assert hasher.matches(digest, " Ｚ２８ＹＵＥ４Ｊ３Ｂｕｘ ")  # full width, stray spaces
    assert not hasher.matches(digest, "z28yue4j3bux")  # keys are case-sensitive
    assert not hasher.matches(None, key)


def test_the_same_key_gets_a_fresh_salt_each_time(hasher):
    assert hasher.digest("Z28YUE4J3Bux") != hasher.digest("Z28YUE4J3Bux")


def test_a_digest_is_useless_without_the_pepper(hasher):
    digest = hasher.digest("Z28YUE4J3Bux")
    assert not AuthKeyHasher(pepper=b"another-pepper-of-32-bytes-long!").matches(digest, "Z28YUE4J3Bux")
