"""The fast audit-entry bytes are byte for byte what rfc8785 writes."""
from __future__ import annotations

import random

import pytest
import rfc8785

from registry.audit.chain import entry_hash
from registry.audit.encoding import entry_bytes

AWKWARD = ["", "plain", "日本語の詳細", "quote \" backslash \\ slash /", "\x00\x01\x07\x08\t\n\x0b\x0c\r\x1f",
           "\x7f\x80\x9f\u00a0", "\u2028\u2029", "emoji 😀 𝄞", "\ufeffbom", "\ud7ff\ue000\uffff",
           '{"nested":"json","n":1}', "tab\tand\nnewline", "<script>&amp;</script>", "'", None]


def fields(**overrides):
    base = dict(seq=1, occurred_at="2026-04-01T03:00:00.000000Z", kind="lookup.failed",
                actor="user:1", organisation_code="042081", contract_number="20001-000001",
                details='{"reason":"bad_key"}', prev_hash="0" * 64)
    base.update(overrides)
    return base


def reference(f: dict) -> bytes:
    return rfc8785.dumps(dict(f))


@pytest.mark.parametrize("value", AWKWARD)
@pytest.mark.parametrize("field", ["kind", "actor", "organisation_code", "contract_number", "details",
                                   "occurred_at", "prev_hash"])
def test_every_awkward_string_in_every_field(field, value):
    f = fields(**{field: value})
    assert entry_bytes(**f) == reference(f)


@pytest.mark.parametrize("seq", [0, 1, 9, 10, 2**31, 2**53 - 1, -1])
def test_sequence_numbers(seq):
    assert entry_bytes(**fields(seq=seq)) == reference(fields(seq=seq))


def test_random_text():
    rng = random.Random(8785)
    alphabet = [chr(c) for c in range(0, 0x250)] + [chr(c) for c in (0x2028, 0x2029, 0x3042, 0xfeff, 0x1f600)]
    for _ in range(3000):
        f = fields(details="".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))),
                   actor="".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))),
                   seq=rng.randint(1, 10**12))
        assert entry_bytes(**f) == reference(f)


def test_what_the_fast_path_cannot_write_goes_through_rfc8785():
    lone = fields(details="\ud800")  # a lone surrogate: not UTF-8 encodable
    try:
        expected = reference(lone)
    except Exception as exc:  # noqa: BLE001
        with pytest.raises(type(exc)):
            entry_bytes(**lone)
    else:
        assert entry_bytes(**lone) == expected


def test_entry_hash_is_unchanged_by_the_fast_path():
    import hashlib
    f = fields(details="変更 \"x\"\n")
    assert entry_hash(**f) == hashlib.sha256(reference(f)).hexdigest()
