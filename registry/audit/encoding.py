"""The bytes an audit entry's hash covers, built fast.

They are the RFC 8785 (JCS) serialisation of the entry's eight fields. The fields are
only strings, None and one integer, and for those JCS is simple: keys sorted (here a
fixed order, all ASCII), no whitespace, strings as JSON.stringify writes them (escape
``"``, ``\\`` and U+0000–U+001F, with \\b \\f \\n \\r \\t short forms and lowercase
\\u00xx otherwise; everything else as UTF-8). Python's json string encoder does exactly
that with ensure_ascii=False. Anything else (a lone surrogate, a bool or a huge seq)
goes through rfc8785 itself. tests/registry/test_audit_encoding.py holds the two equal.
"""
from __future__ import annotations

from json.encoder import encode_basestring  # the C encoder when available

import rfc8785

_MAX_SAFE_INTEGER = 2**53 - 1


def _text(value) -> str:
    if value is None:
        return "null"
    if type(value) is not str:
        raise TypeError
    return encode_basestring(value)


def entry_bytes(*, seq: int, occurred_at: str, kind: str, actor: str,
                organisation_code: str | None, contract_number: str | None,
                details: str, prev_hash: str) -> bytes:
    try:
        if type(seq) is not int or not -_MAX_SAFE_INTEGER <= seq <= _MAX_SAFE_INTEGER:
            raise TypeError
        return (f'{{"actor":{_text(actor)},"contract_number":{_text(contract_number)},'
                f'"details":{_text(details)},"kind":{_text(kind)},'
                f'"occurred_at":{_text(occurred_at)},'
                f'"organisation_code":{_text(organisation_code)},'
                f'"prev_hash":{_text(prev_hash)},"seq":{seq}}}').encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return rfc8785.dumps({
            "seq": seq, "occurred_at": occurred_at, "kind": kind, "actor": actor,
            "organisation_code": organisation_code, "contract_number": contract_number,
            "details": details, "prev_hash": prev_hash,
        })
