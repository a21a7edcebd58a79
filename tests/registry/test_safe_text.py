"""The text rule (registry.safe_text) and document validation under any text (Hypothesis,
no database): a document either parses or is refused with InvalidDocument naming the
field, whatever any of its text fields holds; a character no certificate may show is
always refused, and named."""
from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.certificates.documents import parse_document
from registry.errors import InvalidDocument
from registry.safe_text import document_problems, is_safe, is_safe_in_document, shown
from tests.factories import make_document

EXAMPLES = settings(max_examples=50, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=40)
REFUSED = ["\x00", "\x01", "\t", "\n", "\x1f", "\x7f", "\x80", "\x85", "\x9f",
           "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
           "\u2066", "\u2067", "\u2068", "\u2069", "\ud800", "\udbff", "\udc00", "\udfff"]
SHOWN = ["角田市長 角田 太郎", "ＡＢＣ建設（株）", "O'Brien & Sons", "👷\u200d♀️", "角田\u00a0市", "🏗️"]


def _text_paths(value, path=()):
    """Every (path, value) of a string in a nested document."""
    if isinstance(value, str):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _text_paths(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _text_paths(item, path + (index,))


def _with(document: dict, path: tuple, text: str) -> dict:
    changed = copy.deepcopy(document)
    target = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = text
    return changed


JV = make_document(principal__jv_name="角田・丸森JV", principal__jv_members=["角田建設", "丸森土木"])
TEXT_FIELDS = sorted(set(_text_paths(make_document())) | set(_text_paths(JV)), key=str)


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
def test_controls_bidi_overrides_and_surrogates_are_refused_in_documents(char):
    assert not is_safe_in_document(f"a{char}b")
    with pytest.raises(InvalidDocument) as refused:
        parse_document(make_document(work__name=f"市道{char}舗装"))
    assert refused.value.errors == [{"field": "work.name", "message": refused.value.errors[0]["message"]}]


@pytest.mark.parametrize("text", SHOWN)
def test_ordinary_text_is_not_refused_by_the_text_rule(text):
    assert is_safe(text) and is_safe_in_document(text)
    assert parse_document(make_document(work__name=text)).work.name == text


def test_only_nul_and_surrogates_are_refused_everywhere():
    assert not is_safe("a\x00") and not is_safe("\ud800")
    assert is_safe("a\tb\n\u202e")  # outside documents, other controls are only text


def test_a_field_name_is_named_escaped():
    problems = list(document_problems({"work": {"na\x00me": "x", "ok": ["a", "b\u202e"]}}))
    assert [field for field, _ in problems] == ["work.na\\u0000me", "work.ok.1"]
    assert shown("\ud800x") == "\\ud800x"


@given(path=st.sampled_from(TEXT_FIELDS), text=ANY_TEXT)
@EXAMPLES
def test_any_text_in_any_field_parses_or_names_the_field(path, text):
    base = JV if "jv_members" in path else make_document()
    field = ".".join(str(part) for part in path)
    try:
        parse_document(_with(base, path, text))
    except InvalidDocument as refused:
        assert refused.errors and all(e["field"] and e["message"] for e in refused.errors)
        if not is_safe_in_document(text):
            assert field in {e["field"] for e in refused.errors}
    else:
        assert is_safe_in_document(text)


@given(key=ANY_TEXT, value=st.one_of(ANY_TEXT, st.integers(), st.none(), st.booleans()))
@EXAMPLES
def test_any_extra_field_is_refused_by_name(key, value):
    document = make_document()
    document["work"][key] = value
    if key in make_document()["work"]:
        return
    with pytest.raises(InvalidDocument) as refused:
        parse_document(document)
    assert any(e["field"] == f"work.{shown(key)}" for e in refused.value.errors)
