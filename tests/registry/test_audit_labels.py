"""Every kind of event the code records has a Japanese label (and so a place in the
auditors' filter); the trail reads in 和暦 and plain words, not raw JSON."""
from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

from registry.audit import labels as audit_labels
from registry.audit.queries import EVENT_LABELS

ROOT = Path(__file__).resolve().parents[2]
KIND = re.compile(r"^[a-z_]+(\.[a-z_]+)?$")


def _recorded_kinds() -> set[str]:
    """String constants passed as the kind of record(...), or as/for ``event``."""
    found = set()
    for path in [*ROOT.joinpath("registry").rglob("*.py"), *ROOT.joinpath("dsure_portal").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            values = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
                if name == "record" and node.args:
                    values.append(node.args[0])
                values += [kw.value for kw in node.keywords if kw.arg == "event"]
            elif isinstance(node, ast.FunctionDef):
                named = node.args.args[-len(node.args.defaults):] if node.args.defaults else []
                values += [d for a, d in zip(named, node.args.defaults) if a.arg == "event"]
                values += [d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults)
                           if a.arg == "event" and d is not None]
            found |= {v.value for v in values
                      if isinstance(v, ast.Constant) and isinstance(v.value, str) and KIND.match(v.value)}
    return found


def test_every_recorded_kind_has_a_japanese_label():
    kinds = _recorded_kinds()
    assert len(kinds) > 30  # the scan finds them
    assert sorted(kinds - set(EVENT_LABELS)) == []


def test_times_read_in_wareki():
    assert audit_labels.wareki_time("2026-04-01T01:15:03.123456Z") == "令和8年4月1日 10:15:03"
    assert audit_labels.wareki_time(dt.datetime(2026, 4, 1, 1, 15, 3), seconds=False) == "令和8年4月1日 10:15"
    assert audit_labels.wareki_time(None) == ""


def test_details_read_as_labelled_words():
    details = json.dumps({"reason": "wrong_key", "address": "203.0.113.9", "revision": 2,
                          "added_to_list": True, "fields": ["obligee.code"], "odd_key": {"a": 1}})
    lines = dict(audit_labels.details_lines(details))
    assert lines["理由"] == "認証キーの誤り"
    assert lines["接続元アドレス"] == "203.0.113.9"
    assert lines["版"] == "2" and lines["一覧への追加"] == "あり"
    assert lines["項目"] == "obligee.code"
    assert lines["odd_key"] == '{"a": 1}'  # unknown keys stay readable, not hidden


def test_unreadable_details_are_shown_as_they_are():
    assert audit_labels.details_lines("not json") == [("内容", "not json")]
