"""The walk `audit verify` makes over the whole chain: every entry's bytes rebuilt and
hashed, every link compared, in one pass over the rows as the driver returns them.

It is the one loop in the registry that runs a million times per call, so per entry it
does only what the check needs: unpack the row, build the bytes (the same bytes as
``encoding.entry_bytes``, with the common case written out here), SHA-256, compare.
Anything the fast bytes cannot say exactly goes to ``entry_bytes`` itself.

The bytes could be written by the database in the SELECT (SQLite json_quote and
PostgreSQL to_json quote strings as RFC 8785 does), leaving Python only the hash; at a
million entries that was slower on both engines than building them here (SQLite 11-13 s
against 8-9 s, PostgreSQL 9-10 s against 5-9 s, 2026-12-03), so it was not kept.

Where the time goes (2026-12-03, 200,000 bench entries in memory, timeit with the GC on,
on a host shared with other benchmarks, so ±30 %): unpacking a row 0.16 µs, SHA-256 and
hexdigest of prebuilt bytes 0.6-0.9 µs, this walk 1.9-2.9 µs; of the difference, the
six encode_basestring calls are about 0.8 µs (details alone 0.3), the f-string 0.4, the
UTF-8 encode 0.2. None of these was cheaper, so the loop below is as it was:

- details as ``isprintable()`` plus two ``str.replace``: 0.8 µs against 0.3 for enc();
- ``%`` formatting instead of the f-string: 3.35 against 2.7-3.0 µs an entry;
- comparing ``digest()`` with ``bytes.fromhex(stored)``: no difference;
- per batch, columns by ``zip(*rows)`` and one check of each short column (joined,
  UTF-8, ``translate`` deleting the bytes JSON escapes; then the values go into the
  f-string unquoted): 7.5 against 5.75 µs of CPU an entry streamed from SQLite, the
  transposing and joining cost more than the five enc() calls they save;
- the same as a C-level pipeline (``map(enc, column)``, the body by str.format,
  ``''.join`` or ``%`` through map, ``map(sha256, ...)``): 3.0-3.4 against 1.9 µs;
- reading less: fewer columns save about 0.1 µs each (SQLite: nine columns 2.4 µs a row,
  four 2.0), the short ones concatenated by SQLite 2.5, text as bytes 2.7.

What does go faster is walking parts of the chain in other processes at once
(chain_split.py): that hides this cost behind another core, it does not remove it. On
PostgreSQL the stream also reads ahead (streaming.py): the server reads and sends the
next rows while this loop hashes, so the walk costs about what reading alone does plus
the hashing (1,000,000 entries: 1.13x the baseline, against 1.48x on SQLite, where there
is no server to overlap with; bench/audit.py, 2026-12-03).
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from json.encoder import encode_basestring  # the C encoder when available
from typing import Iterable, Iterator

from .encoding import entry_bytes
from .streaming import batches
from ..models import AuditEvent

GENESIS = "0" * 64


@dataclasses.dataclass(frozen=True)
class ChainBreak:
    seq: int
    problem: str


def _columns():
    return (AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.kind, AuditEvent.actor,
            AuditEvent.organisation_code, AuditEvent.contract_number, AuditEvent.details,
            AuditEvent.prev_hash, AuditEvent.entry_hash)


def chain_rows(*, size: int | None = None) -> Iterator[list[tuple]]:
    """The audit log in ``seq`` order, in batches of plain tuples (see _columns)."""
    return batches(AuditEvent.select(*_columns()).order_by(AuditEvent.seq), size=size)


def _exact_bytes(seq, occurred_at, kind, actor, org, contract, details, prev) -> bytes:
    return entry_bytes(seq=seq, occurred_at=occurred_at, kind=kind, actor=actor,
                       organisation_code=org, contract_number=contract, details=details,
                       prev_hash=prev)


def walk(row_batches: Iterable[list[tuple]], *, seq: int = 1,
         prev: str | None = GENESIS) -> Iterator[ChainBreak]:
    """Yield the first break in the rows (then stop); nothing if the chain holds.

    The rows start at entry ``seq`` whose prev_hash must be ``prev``; ``prev=None``
    takes the first row's own prev_hash as given, for a walk over part of the chain
    whose first link another walk checks (chain_split.py)."""
    expected_prev, expected_seq = prev, seq
    sha256, enc = hashlib.sha256, encode_basestring
    for rows in row_batches:
        for seq, occurred_at, kind, actor, org, contract, details, prev, stored in rows:
            if seq != expected_seq:
                yield ChainBreak(expected_seq, f"entry {expected_seq} is missing (next is {seq})")
                return
            if prev != expected_prev and expected_prev is not None:
                yield ChainBreak(seq, "prev_hash does not match the previous entry")
                return
            # prev equals the hash checked one entry ago (or GENESIS): 64 hex digits, which
            # JSON writes as they are. enc() raises TypeError for anything not a str.
            try:
                if type(seq) is not int:
                    raise TypeError
                body = (f'{{"actor":{enc(actor)},"contract_number":'
                        f'{"null" if contract is None else enc(contract)},'
                        f'"details":{enc(details)},"kind":{enc(kind)},'
                        f'"occurred_at":{enc(occurred_at)},"organisation_code":'
                        f'{"null" if org is None else enc(org)},'
                        f'"prev_hash":"{prev}","seq":{seq}}}').encode()
            except (TypeError, UnicodeEncodeError):
                body = _exact_bytes(seq, occurred_at, kind, actor, org, contract, details, prev)
            if sha256(body).hexdigest() != stored:
                yield ChainBreak(seq, "entry_hash does not match the entry's content")
                return
            expected_prev, expected_seq = stored, expected_seq + 1


def chain_breaks(*, size: int | None = None) -> Iterator[ChainBreak]:
    """Walk the stored chain in order; yield the first break found (then stop)."""
    with contextlib.closing(chain_rows(size=size)) as rows:
        yield from walk(rows)
