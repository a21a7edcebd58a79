"""The fast canonical check (signatures.canonical_document) gives rfc8785's verdict on
every input: canonical bytes, bytes a byte away from them, and JSON that RFC 8785 and
json.dumps write differently (fractions, large integers, characters beyond U+FFFF)."""
from __future__ import annotations

import json

import rfc8785
from hypothesis import given, settings, strategies as st

from registry.certificates.signatures import canonical_document, is_canonical
from tests.factories import make_document


def reference(data: bytes) -> bool:
    try:
        return rfc8785.dumps(json.loads(data)) == data
    except (ValueError, rfc8785.CanonicalizationError):
        return False


def agrees(data: bytes) -> None:
    verdict, document = canonical_document(data)
    assert verdict == reference(data), data
    if verdict:
        assert document == json.loads(data)


AWKWARD = [
    b'{"a":1}', b'{ "a": 1 }', b'{"b":1,"a":2}', b'{"a":1,"a":1}', b'{"a":1.5}', b'{"a":1.0}',
    b'{"a":1e3}', b'{"a":-0}', b'{"a":0}', b'{"a":9007199254740991}', b'{"a":9007199254740992}',
    b'{"a":-9007199254740992}', b'{"a":NaN}', b'{"a":Infinity}', b'[1,2,3]', b'"x"', b'null',
    b'true', b'{}', b'[]', b'', b'\xff\xfe', b'\xef\xbb\xbf{"a":1}', b'{"a":"\\u00e9"}',
    '{"a":"é"}'.encode(), b'{"a":"\\n"}', b'{"a":"\\u000a"}', b'{"a":"\\u001f"}',
    b'{"a":"\\/"}', b'{"a":"\\ud800"}', b'{"a":"\\ud83d\\ude00"}', '{"a":"😀"}'.encode(),
    # keys whose order differs between code points and UTF-16 code units
    '{"\U0001f600":1,"\ufb01":2}'.encode(), '{"\ufb01":2,"\U0001f600":1}'.encode(),
    b'{"a":"\xed\xa0\x80"}', '{"a":1}'.encode("utf-16"), b'{"a":[1,{"c":null,"b":true}]}',
    b'{"a":[1,{"b":true,"c":null}]}', b'{"a":1} ', b'{"a":1}\n',
]


def test_awkward_inputs():
    for data in AWKWARD:
        agrees(data)


def test_a_certificate_document_and_its_bent_copies():
    good = rfc8785.dumps(make_document())
    assert canonical_document(good) == (True, json.loads(good)) and is_canonical(good)
    for position in range(0, len(good), 7):
        agrees(good[:position] + good[position + 1:])
        agrees(good[:position] + b" " + good[position:])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60) | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                max_size=4),
    max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(JSON)
def test_any_json_value_written_three_ways(value):
    try:
        agrees(rfc8785.dumps(value))
    except rfc8785.CanonicalizationError:
        pass
    for data in (json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
                 json.dumps(value)):
        try:
            agrees(data.encode())
        except UnicodeEncodeError:  # a lone surrogate in the value: not bytes we can store
            pass
