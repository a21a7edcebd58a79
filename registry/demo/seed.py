"""Many certificates for one obligee, for measuring the portal at scale (issue 11).

Every certificate is real: its revisions are signed with the demo surety's key (the one
the demo world keeps in the instance folder) and go through the registry's own bulk
write path (registry.certificates.bulk), each with its ``revision.accepted`` audit entry,
so the list, the pages, lookups and `audit verify` all meet what production would hold.

The shortcut, named: argon2id takes about 50 ms per key, so hashing a million keys would
take hours. Only the first ``sample`` certificates get their own random auth key (kept in
the instance folder, demo data only, and printed at the end); every other seeded
certificate shares one digest of a key that is generated and thrown away, so nobody can
open them by lookup; they join the obligee's list directly (``listed``), as if opened.

Contract numbers are fixed per obligee (``number_of``), so a run that stops part way
continues where the last committed batch ended.
"""
from __future__ import annotations

import base64
import contextlib
import dataclasses
import itertools
import json
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..accounts.organisations import organisation_by_code
from ..certificates.auth_keys import AuthKeyHasher, generate_auth_key
from ..certificates.bulk import NewCertificate, store_certificates, verify_certificates
from ..certificates.signatures import canonical_bytes
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import database, is_postgresql
from ..errors import InvalidInput
from ..models import ApiClient, Certificate, SigningKey
from .world import SURETY

PER_PREFIX = 1_000_000
MAX_CERTIFICATES = 10 * PER_PREFIX
KEYS_FILE = "seed-auth-keys.json"
PRODUCTS = ("advance_payment", "contract", "intermediate_advance_payment")


def number_of(obligee_code: str, index: int) -> str:
    """The ``index``-th seeded contract number of an obligee: prefix 8xxxx from the last
    four digits of its code (ten prefixes, a million numbers each)."""
    prefix = 80000 + int(obligee_code[-4:]) % 1000 * 10 + index // PER_PREFIX
    return f"{prefix:05d}-{index % PER_PREFIX:06d}"


@dataclasses.dataclass(frozen=True)
class SeedPlan:
    obligee_code: str
    certificates: int
    revisions: int = 1
    listed: bool = True
    sample: int = 10
    batch: int = 1000


@dataclasses.dataclass(frozen=True)
class SeedResult:
    already: int                    # seeded before this run
    added: int                      # certificates this run
    revisions: int                  # revisions this run
    sample: list[tuple[str, str]]   # (contract number, auth key) with real keys
    first: str
    last: str


def _surety(instance: Path):
    """The demo surety's API client and signing key, with the private half from the
    instance folder (written by the demo world)."""
    pem_file = instance / "demo-surety-signing-key.pem"
    if not pem_file.exists():
        raise InvalidInput("run `dsure-portal demo` first: the seed signs with the demo "
                           f"surety's key ({pem_file.name} in the instance folder)")
    pem = pem_file.read_bytes()
    private_key = serialization.load_pem_private_key(pem, password=None)
    public = private_key.public_key().public_bytes(serialization.Encoding.Raw,
                                                   serialization.PublicFormat.Raw)
    surety = organisation_by_code(SURETY["code"])
    key = next((k for k in SigningKey.select().where(SigningKey.organisation == surety.id)
                if bytes(k.public_key) == public and k.active), None)
    client = ApiClient.select().where(ApiClient.organisation == surety.id).first()
    if key is None or client is None:
        raise InvalidInput("the demo surety has no active key or API client: run `dsure-portal demo`")
    client.organisation = surety  # loaded: the checks read its code in worker processes
    return client, key, pem


def document(obligee, number: str, index: int, revision: int) -> dict:
    """Revision ``revision`` of the ``index``-th seeded certificate: a new one, then
    changes of the guarantee amount and period."""
    product = PRODUCTS[index % len(PRODUCTS)]
    amount = 1_000_000 + index % 97 * 100_000
    end = f"2027-{1 + index % 12:02d}-{10 + index % 18:02d}"
    doc = {
        "contract_number": number, "product": product, "revision": revision,
        "kind": "new" if revision == 1 else "change", "supersedes": None,
        "issued_on": "2026-04-01" if revision == 1 else f"2026-{min(12, 4 + revision):02d}-01",
        "obligee": {"code": obligee.code, "name": f"{obligee.name}長"},
        "principal": {"name": f"{'東西南北'[index % 4]}建設株式会社 第{index % 5000}号",
                      "address": "宮城県角田市角田字大坊41",
                      "representative": "代表取締役 山田 一郎", "jv_name": None, "jv_members": []},
        "work": {"name": f"市道{index}号線舗装補修工事", "location": f"{obligee.name}地内",
                 "contract_date": "2026-03-25", "period_start": "2026-04-01",
                 "period_end": end},
        "contract_amount": amount * 10,
        "guarantee_amount": amount + (revision - 1) * 10_000,
        "guarantee_period": {"start": "2026-04-01", "end": end},
        "surety": dict(SURETY),
    }
    if product != "contract":
        doc["deposit_bank"] = "七十七銀行 角田支店"
    return doc


def _signed(private_key: Ed25519PrivateKey, key_id: str, doc: dict) -> dict:
    signature = private_key.sign(canonical_bytes(doc))
    return {"document": doc, "signature": base64.b64encode(signature).decode(), "key_id": key_id}


def index_of(obligee_code: str, number: str) -> int:
    prefix = 80000 + int(obligee_code[-4:]) % 1000 * 10
    return (int(number[:5]) - prefix) * PER_PREFIX + int(number[-6:])


def already_seeded(obligee_code: str, certificates: int) -> int:
    """How many of the planned numbers are stored: batches commit whole and in order, so
    the stored ones are the first so many (the newest stored one says how many)."""
    newest = (Certificate.select(Certificate.contract_number)
              .where(Certificate.contract_number.between(number_of(obligee_code, 0),
                                                         number_of(obligee_code, certificates - 1)))
              .order_by(Certificate.contract_number.desc()).limit(1).scalar())
    return 0 if newest is None else index_of(obligee_code, newest) + 1


def _sample_keys(instance: Path, plan: SeedPlan) -> dict[str, str]:
    """{number: auth key} for the sample, kept in the instance folder (demo data only)
    so that a resumed run prints them again."""
    path = instance / KEYS_FILE
    kept = json.loads(path.read_text()) if path.exists() else {}
    sample = {}
    for index in range(min(plan.sample, plan.certificates)):
        number = number_of(plan.obligee_code, index)
        key = kept.get(number) or generate_auth_key()
        kept[number] = key
        sample[number] = key
    path.write_text(json.dumps(kept, indent=1))
    path.chmod(0o600)
    return sample


@dataclasses.dataclass(frozen=True)
class _Signer:
    """What a worker process needs to make and check a batch; no database in it."""

    pem: bytes
    client: ApiClient
    key: SigningKey
    obligee: object
    revisions: int
    digests: dict[str, str]
    shared_digest: str


_private_keys: dict[bytes, Ed25519PrivateKey] = {}


def _prepared_batch(signer: _Signer, indices: range) -> tuple[list[NewCertificate], list[list]]:
    """Sign a batch as the surety would and run the platform's checks over it: the
    CPU-bound half of the seed, run in a pool of processes."""
    private_key = _private_keys.get(signer.pem)
    if private_key is None:
        private_key = _private_keys[signer.pem] = serialization.load_pem_private_key(
            signer.pem, password=None)
    batch = []
    for index in indices:
        number = number_of(signer.obligee.code, index)
        bodies = [_signed(private_key, signer.key.key_id, document(signer.obligee, number, index, r))
                  for r in range(1, signer.revisions + 1)]
        batch.append(NewCertificate(number, bodies,
                                    signer.digests.get(number, signer.shared_digest)))
    return batch, verify_certificates(client=signer.client, key=signer.key,
                                      obligee=signer.obligee, certificates=batch)


def seed(plan: SeedPlan, *, instance_path: str, hasher: AuthKeyHasher,
         progress: Callable[[int], None] = lambda n: None,
         started: Callable[[int], None] = lambda n: None, clock: Clock = utcnow,
         processes: int | None = None) -> SeedResult:
    """Load ``plan``; ``started(n)`` with how many were stored before, then ``progress(n)``
    after each committed batch of n certificates. Signing and checking run in
    ``processes`` worker processes (default: one per CPU) while this one stores."""
    if not 1 <= plan.certificates <= MAX_CERTIFICATES or not 1 <= plan.revisions <= 20:
        raise InvalidInput(f"--certificates must be 1 to {MAX_CERTIFICATES:,} and "
                           "--revisions 1 to 20")
    obligee = organisation_by_code(plan.obligee_code)
    if obligee.kind != "obligee":
        raise InvalidInput(f"{plan.obligee_code} is a {obligee.kind}, not an obligee")
    instance = Path(instance_path)
    client, key, pem = _surety(instance)
    sample = _sample_keys(instance, plan)
    start = already_seeded(plan.obligee_code, plan.certificates)
    started(start)
    signer = _Signer(pem, client, key, obligee, plan.revisions,
                     {number: hasher.digest(k) for number, k in sample.items()
                      if index_of(plan.obligee_code, number) >= start},
                     hasher.digest(generate_auth_key()))  # the shared digest's key is never kept
    batches = [range(offset, min(plan.certificates, offset + plan.batch))
               for offset in range(start, plan.certificates, plan.batch)]
    added = revisions = 0
    with _pool(processes, len(batches)) as pool:
        for batch, histories in pool.map(_prepared_batch, itertools.repeat(signer), batches):
            revisions += store_certificates(client=client, obligee=obligee, certificates=batch,
                                            histories=histories, listed=plan.listed, clock=clock)
            added += len(batch)
            progress(len(batch))
    result = SeedResult(start, added, revisions, sorted(sample.items()),
                        number_of(plan.obligee_code, 0),
                        number_of(plan.obligee_code, plan.certificates - 1))
    if added:
        # Each revision's acceptance names the surety's client, as a PUT's would; this
        # says who really put them there.
        record("certificates.seeded", actor="operator", organisation_code=obligee.code,
               details={"first": number_of(plan.obligee_code, start), "last": result.last,
                        "certificates": added, "revisions": revisions,
                        "listed": plan.listed, "sample": len(sample)}, clock=clock)
    refresh_statistics()
    return result


@contextlib.contextmanager
def _pool(processes: int | None, batches: int):
    """Worker processes for more than one batch; in this process otherwise (and in
    tests, where forking a process holding a database connection gains nothing)."""
    processes = processes if processes is not None else (os.cpu_count() or 1)
    if processes <= 1 or batches <= 1:
        yield _InProcess()
        return
    # fork: the workers need the imported registry, not a database connection (they
    # make no query; the client and key arrive with what they need loaded).
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


class _InProcess:
    @staticmethod
    def map(function, *iterables):
        return map(function, *iterables)


def refresh_statistics() -> None:
    """The planner's statistics after a bulk load, on either engine. PostgreSQL also
    vacuums: a table only ever inserted into is not vacuumed until autovacuum's insert
    threshold, which a million rows pass at some later moment, when it then reads every
    table it loaded while the portal serves (and until then index-only scans go to the
    heap for visibility)."""
    database.execute_sql("VACUUM (ANALYZE)" if is_postgresql() else "ANALYZE")
