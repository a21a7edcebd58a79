"""What an attacker holding the database owner's rights can do to the evidence tables:
drop the insert-only guards, change rows, recompute every later hash so that the chain
is self-consistent again, and put the guards back."""
from __future__ import annotations

from registry.audit.chain import GENESIS, entry_hash
from registry.db import database, is_postgresql
from registry.models import AuditEvent

FIELDS = ("seq", "occurred_at", "kind", "actor", "organisation_code", "contract_number",
          "details", "prev_hash")


def _drop_guards(table: str) -> None:
    if is_postgresql():
        database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table}")
    else:
        for suffix in ("no_update", "no_delete"):
            database.execute_sql(f"DROP TRIGGER IF EXISTS {table}_{suffix}")


def rewrite_audit_entry(seq: int, **changes) -> None:
    """Change entry ``seq`` and recompute the hashes of it and every later entry."""
    with database.atomic():
        _drop_guards("audit_event")
        rows = list(AuditEvent.select().order_by(AuditEvent.seq))
        prev = rows[seq - 2].entry_hash if seq > 1 else GENESIS
        for row in rows[seq - 1:]:
            fields = {name: getattr(row, name) for name in FIELDS}
            if row.seq == seq:
                fields.update(changes)
            fields["prev_hash"] = prev
            fields["entry_hash"] = entry_hash(**{k: fields[k] for k in FIELDS})
            AuditEvent.update(**fields).where(AuditEvent.id == row.id).execute()
            prev = fields["entry_hash"]
    _restore_guards("audit_event")


def change_revision_bytes(revision_id: int, canonical: bytes) -> None:
    change_revision(revision_id, canonical=canonical)


def change_revision(revision_id: int, **columns) -> None:
    """Rewrite stored columns of a revision row behind the guards' back."""
    from registry.models import Revision
    with database.atomic():
        _drop_guards("revision")
        Revision.update(**columns).where(Revision.id == revision_id).execute()
    _restore_guards("revision")


def _restore_guards(table: str) -> None:
    from registry.migrations import insert_only_guards
    for statement in insert_only_guards(table, postgresql=is_postgresql()):
        database.execute_sql(statement)


def delete_newest_entries(after_seq: int) -> None:
    """Delete every audit entry after ``after_seq`` and the checkpoints (with their
    time-stamp tokens) that name them: the chain that is left is self-consistent."""
    from registry.audit.checkpoints import Checkpoint
    from registry.audit.timestamps import CheckpointTimestamp
    with database.atomic():
        for table in ("audit_event", "checkpoint", "checkpoint_timestamp"):
            _drop_guards(table)
        gone = Checkpoint.select(Checkpoint.id).where(Checkpoint.head_seq > after_seq)
        CheckpointTimestamp.delete().where(CheckpointTimestamp.checkpoint.in_(gone)).execute()
        Checkpoint.delete().where(Checkpoint.head_seq > after_seq).execute()
        AuditEvent.delete().where(AuditEvent.seq > after_seq).execute()
    for table in ("audit_event", "checkpoint", "checkpoint_timestamp"):
        _restore_guards(table)


def write_column(table: str, column: str, value, where: str = "1=1", *, retype: bool = False) -> None:
    """Store ``value`` in a column; with ``retype``, whatever the column's type says
    (PostgreSQL: the column is made text first, as an owner can)."""
    with database.atomic():
        _drop_guards(table)
        if retype and is_postgresql():
            database.execute_sql(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE text")
        database.execute_sql(f"UPDATE {table} SET {column} = %s WHERE {where}"
                             if is_postgresql() else
                             f"UPDATE {table} SET {column} = ? WHERE {where}", (value,))
    _restore_guards(table)
