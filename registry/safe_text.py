"""Which characters untrusted text may hold: the one rule every entry point applies.

Anywhere (URL, query, form, API body): no U+0000, which PostgreSQL text cannot store,
and no lone UTF-16 surrogate (a JSON ``"\\ud800"``), which no UTF-8 encoder accepts.
In a signed document, also no C0/C1 control character and no bidi embedding, override
or isolate: a certificate must read the same on every screen and on paper.
"""
from __future__ import annotations

import re
from typing import Iterator

_NEVER = re.compile("[\x00\ud800-\udfff]")
_NOT_IN_DOCUMENTS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")

NOT_ALLOWED = "contains a character that is not allowed (U+0000 or a lone surrogate)"
NOT_ALLOWED_IN_DOCUMENTS = ("contains a character that is not allowed (a control character, "
                            "a bidi override or a lone surrogate)")


def is_safe(text: str) -> bool:
    """No NUL, no lone surrogate: text any database and any encoder takes."""
    return _NEVER.search(text) is None


def is_safe_in_document(text: str) -> bool:
    return _NOT_IN_DOCUMENTS.search(text) is None


def shown(name: str, limit: int = 100) -> str:
    """``name`` as it may be echoed (in an answer, a page, the audit trail): every
    character the document rule refuses written as ``\\uXXXX``, then cut to ``limit``
    characters (and an ellipsis)."""
    escaped = _NOT_IN_DOCUMENTS.sub(lambda m: f"\\u{ord(m.group()):04x}", name[:limit])
    return escaped[:limit] + "…" if len(escaped) > limit or len(name) > limit else escaped


def document_problems(document: object) -> Iterator[tuple[str, str]]:
    """(field, message) for each key or string value of a decoded JSON document that
    breaks the document rule; the field is the dotted path (``work.name``,
    ``principal.jv_members.1``). Iterative, so nesting depth cannot exhaust the stack."""
    stack = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if not is_safe_in_document(value):
                yield path or "document", NOT_ALLOWED_IN_DOCUMENTS
        elif isinstance(value, dict):
            for key, item in reversed(list(value.items())):
                child = f"{path}.{shown(str(key))}" if path else shown(str(key))
                if isinstance(key, str) and not is_safe_in_document(key):
                    yield child, "the field name " + NOT_ALLOWED_IN_DOCUMENTS
                    continue
                stack.append((child, item))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}.{index}" if path else str(index), value[index]))
