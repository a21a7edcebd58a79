"""Retention (DESIGN §1, §6): nothing in the app deletes certificates, revisions, audit
events or checkpoints. The triggers refuse it at run time; this test makes sure no code
path even tries, so a refactoring cannot add one unnoticed."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from registry.audit.chain import record
from registry.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
KEPT = ("Certificate", "Revision", "AuditEvent", "Checkpoint", "CheckpointTimestamp", "VerificationRun")
KEPT_TABLES = ("certificate", "revision", "audit_event", "checkpoint", "checkpoint_timestamp",
               "verification_run")
SOURCES = sorted([*(ROOT / "registry").rglob("*.py"), *(ROOT / "dsure_portal").rglob("*.py")])


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def _deletes_in(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        # Model.delete()..., Model.delete_by_id(...), instance.delete_instance()
        if isinstance(node, ast.Attribute) and node.attr in ("delete", "delete_by_id", "delete_instance",
                                                              "drop_table", "truncate_table"):
            owner = ast.unparse(node.value)
            if node.attr == "delete_instance" or owner.split(".")[-1] in KEPT:
                found.append(f"{_name(path)}:{node.lineno}: {owner}.{node.attr}")
        # raw SQL
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for table in KEPT_TABLES:
                if re.search(rf"\b(DELETE\s+FROM|TRUNCATE(\s+TABLE)?|DROP\s+TABLE)\s+\"?{table}\b",
                             node.value, re.IGNORECASE):
                    found.append(f"{_name(path)}:{node.lineno}: {node.value[:60]}")
    return found


def test_the_checker_finds_deletes(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("Revision.delete().execute()\nx.delete_instance()\n"
                      "db.execute_sql('DELETE FROM audit_event')\n")
    assert len(_deletes_in(sample)) == 3


def test_no_code_path_deletes_evidence():
    offenders = [hit for path in SOURCES for hit in _deletes_in(path)]
    assert offenders == []


def test_the_database_refuses_it_anyway(registry_db):
    record("a", actor="t")
    with pytest.raises(Exception):
        AuditEvent.delete().execute()
