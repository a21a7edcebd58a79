"""Valid inputs that each test bends in one way."""
from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.accounts.organisations import add_api_client, add_organisation, add_signing_key
from registry.certificates.signatures import canonical_bytes

VECTORS = Path(__file__).parent / "vectors"
TEST_KEY = serialization.load_pem_private_key((VECTORS / "surety-test-key.pem").read_bytes(), None)
TEST_PUBLIC_PEM = (VECTORS / "surety-test-key.pub.pem").read_bytes()

KAKUDA, SHIRAKO = "042081", "124249"


def make_document(**overrides) -> dict:
    """Revision 1 of an advance-payment guarantee to 角田市. ``a__b=v`` sets doc[a][b];
    a value of ``...`` removes the field."""
    doc = {
        "contract_number": "30001-000001", "product": "advance_payment", "revision": 1,
        "kind": "new", "supersedes": None, "issued_on": "2026-04-01",
        "obligee": {"code": KAKUDA, "name": "角田市長 角田 太郎"},
        "principal": {"name": "角田建設株式会社", "address": "宮城県角田市角田字大坊41",
                      "representative": "代表取締役 山田 一郎", "jv_name": None, "jv_members": []},
        "work": {"name": "市道角田線舗装補修工事", "location": "宮城県角田市角田地内",
                 "contract_date": "2026-03-25", "period_start": "2026-04-01",
                 "period_end": "2026-12-25"},
        "contract_amount": 50_000_000, "guarantee_amount": 20_000_000,
        "guarantee_period": {"start": "2026-04-01", "end": "2026-12-25"},
        "deposit_bank": "七十七銀行 角田支店",
        "surety": {"code": "EJCS", "name": "東日本建設業保証株式会社",
                   "address": "東京都中央区八丁堀2丁目27番10号", "representative": "取締役社長 鈴木 次郎",
                   "branch": "宮城支店", "tel": "022-262-8531", "fax": "022-262-0000"},
    }
    for path, value in overrides.items():
        target = doc
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        if value is ...:
            target.pop(leaf, None)
        else:
            target[leaf] = copy.deepcopy(value)
    return doc


def next_revision(doc: dict, kind: str, supersedes: int | None = None, **overrides) -> dict:
    new = copy.deepcopy(doc)
    new.update(revision=doc["revision"] + 1, kind=kind, supersedes=supersedes)
    for path, value in overrides.items():
        target = new
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return new


def sign(document: dict, key_id: str, private_key: Ed25519PrivateKey = TEST_KEY) -> dict:
    signature = private_key.sign(canonical_bytes(document))
    return {"document": document, "signature": base64.b64encode(signature).decode(),
            "key_id": key_id}


def vector(name: str, key_id: str) -> dict:
    body = json.loads((VECTORS / f"{name}.json").read_text())
    body["key_id"] = key_id
    return body


VECTOR_NAMES = ["01-advance-new", "02-advance-change", "03-advance-correction",
                "04-advance-change-cancellation", "05-contract-new-jv"]


class World:
    """Two sureties (EJCS with the test key, WJCS with its own) and two obligees, which
    allow password-only sign-in (explicitly: TOTP is the default) so their staff in
    these tests sign in without an authenticator."""

    def __init__(self):
        for code, name in ((KAKUDA, "角田市"), (SHIRAKO, "白子町")):
            add_organisation(kind="obligee", code=code, name=name, require_otp=False)
        add_organisation(kind="surety", code="EJCS", name="東日本建設業保証株式会社")
        add_organisation(kind="surety", code="WJCS", name="西日本建設業保証株式会社")
        self.client, self.token = add_api_client(org_code="EJCS", name="ejcs system")
        self.key = add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
        self.other_private_key = Ed25519PrivateKey.generate()
        self.other_client, self.other_token = add_api_client(org_code="WJCS", name="wjcs system")
        self.other_key = add_signing_key(
            org_code="WJCS", pem=self.other_private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))

    def signed(self, document: dict) -> dict:
        return sign(document, self.key.key_id)


class FixedClock:
    """A registry ``clock=`` collaborator that stands still until told to move."""

    def __init__(self, now: dt.datetime = dt.datetime(2026, 4, 1, 1, 0, 0)):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += dt.timedelta(**delta)


def all_at_once(count: int, guess) -> list:
    """Run ``guess()`` in ``count`` threads released together; their results. Each thread
    gives its database connection back, as a request would."""
    import threading

    from registry.db import database
    barrier = threading.Barrier(count)
    results = []

    def run():
        barrier.wait()
        try:
            results.append(guess())
        finally:
            database.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
