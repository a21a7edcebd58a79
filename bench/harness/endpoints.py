"""What is measured, each with a check of its answers, and what the world must hold after.

Credentials are made in this process through the registry and the app's own session
serializer (exactly the cookie POST /login would set, with a CSRF token in it), so no
sign-in is part of any measurement."""
from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import math
import random
import re
import threading
from typing import Callable
from urllib.parse import urlencode

from .load import Request
from .world import OBLIGEE, SAMPLE, World

PER_PAGE = 25
NUMBER = re.compile(rb"\d{5}-\d{6}")
LAST_LINK = re.compile(rb'<a [^>]*href="([^"]+)"[^>]*rel="last"|<a [^>]*rel="last"[^>]*href="([^"]+)"')


@dataclasses.dataclass(frozen=True)
class Endpoint:
    name: str                         # the key in the JSON
    label: str                        # what the table calls it
    next_request: Callable[[], Request]
    # also measured against the bare app's /argon2id in every round (the lookups)
    argon2id_bound: bool = False


@dataclasses.dataclass
class Credentials:
    cookie: str          # the signed session cookie of 角田市's demo staff member
    csrf_token: str
    surety_token: str
    obligee_token: str
    key_id: str
    pem: bytes
    listed: int          # certificates on 角田市's list
    argon2id_ms: float   # one auth-key check with the app's own hasher, in this process


def credentials(world: World) -> Credentials:
    """Sign the demo staff member in and make one API client each for the surety and the
    obligee (their tokens are shown only once, so each run makes its own)."""
    from flask import session
    from flask_wtf.csrf import generate_csrf

    from dsure_portal import create_app
    from registry.accounts.organisations import add_api_client
    from registry.accounts.users import start_session, user_by_email
    from registry.certificates.portfolio import OrganisationCertificate
    from registry.db import database
    from registry.demo.world import SURETY
    from registry.models import Organisation, SigningKey

    app = create_app({"INSTANCE_PATH": str(world.instance), "DATABASE_URL": world.database_url,
                      "SECRET_KEY": world.secret_key, "KEY_PEPPER": world.key_pepper,
                      "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        token = start_session(user_by_email("staff@kakuda.example.jp"), address="127.0.0.1",
                              browser="bench")
        with app.test_request_context():
            session["_user_id"], session["_fresh"] = token, True
            csrf = generate_csrf()
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
        _, surety_token = add_api_client(org_code=SURETY["code"], name="bench", actor="bench")
        _, obligee_token = add_api_client(org_code=OBLIGEE, name="bench", actor="bench")
        pem = (world.instance / "demo-surety-signing-key.pem").read_bytes()
        key = (SigningKey.select().join(Organisation).where(Organisation.code == SURETY["code"],
                                                            SigningKey.active)
               .order_by(SigningKey.id.desc()).first())
        obligee = Organisation.get(Organisation.code == OBLIGEE)
        listed = (OrganisationCertificate.select()
                  .where(OrganisationCertificate.organisation == obligee.id).count())
        argon2id_ms = _argon2id_ms(app.extensions["dsure.hasher"])
        database.close()
    database.close_all()
    return Credentials(cookie, csrf, surety_token, obligee_token, key.key_id, pem, listed,
                       argon2id_ms)


def _argon2id_ms(hasher, rounds: int = 9) -> float:
    import statistics
    import time
    digest = hasher.digest("BENCHKEY2345")
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        hasher.matches(digest, "BENCHKEY2345")
        times.append((time.perf_counter() - t0) * 1000)
    return round(statistics.median(times), 2)


# --- answer checks ----------------------------------------------------------------------

def expect(status: int, *needles: bytes, pattern: re.Pattern | None = None):
    def check(got: int, body: bytes) -> str | None:
        if got != status:
            return f"HTTP {got}, expected {status}: {body[:200]!r}"
        missing = [n for n in needles if n not in body]
        if missing:
            return f"missing {missing[0].decode()!r}"
        if pattern is not None and not pattern.search(body):
            return f"nothing matching {pattern.pattern!r}"
        return None
    return check


def expect_redirect_to_certificate(got: int, body: bytes) -> str | None:
    # http.client does not follow redirects; a found lookup is a 303 to the page
    return None if got == 303 else f"HTTP {got}, expected 303 to the certificate: {body[:200]!r}"


# --- the endpoints ---------------------------------------------------------------------

class ChangeMaker:
    """Signed changes of seeded certificates from the top half of the world (away from
    the sample), one revision further each time round; remembers what was sent so the
    stored count can be checked after the run. ``world.next_change`` counts every change
    ever made in the world, so a reused world goes on where the last run stopped."""

    def __init__(self, world: World, creds: Credentials):
        from cryptography.hazmat.primitives import serialization
        self._key = serialization.load_pem_private_key(creds.pem, password=None)
        self._creds, self._world = creds, world
        self._start = change_start(world.size)
        self._span = world.size - self._start
        self._counter = itertools.count(max(world.next_change, self._start))
        self._lock = threading.Lock()
        self.sent: dict[str, int] = {}   # contract number -> the newest revision sent
        self._obligee = _ObligeeStub(OBLIGEE, "角田市")

    def next(self) -> Request:
        from registry.certificates.documents import MAX_REVISION
        from registry.certificates.signatures import canonical_bytes
        from registry.demo.seed import document, number_of
        with self._lock:
            made = next(self._counter) - self._start
            index, revision = self._start + made % self._span, 2 + made // self._span
            if revision > MAX_REVISION:
                raise RuntimeError("every seeded certificate has its last revision; reseed the world")
            number = number_of(OBLIGEE, index)
            self.sent[number] = revision
        doc = document(self._obligee, number, index, revision)
        body = json.dumps({"document": doc, "key_id": self._creds.key_id,
                           "signature": base64.b64encode(self._key.sign(canonical_bytes(doc))).decode()},
                          ensure_ascii=False).encode()
        return Request("PUT", f"/api/v1/certificates/{number}/revisions/{revision}", body,
                       {"Authorization": f"Bearer {self._creds.surety_token}",
                        "Content-Type": "application/json"}, expect(201))

    def next_unused(self) -> int:
        with self._lock:
            return next(self._counter)


def change_start(size: int) -> int:
    return min(max(SAMPLE, size // 2), size - 1)


@dataclasses.dataclass(frozen=True)
class _ObligeeStub:
    """What registry.demo.seed.document reads of an obligee (its code and name)."""
    code: str
    name: str


def last_page_path(first_page: bytes, listed: int) -> str:
    """The list's last page: its rel="last" link when the page offers one, else the
    page number of an offset pager."""
    found = LAST_LINK.search(first_page)
    if found:
        return (found.group(1) or found.group(2)).decode().replace("&amp;", "&")
    return f"/certificates?page={max(1, math.ceil(listed / PER_PAGE))}"


def endpoints(world: World, creds: Credentials, first_page: bytes, changes: ChangeMaker) -> list[Endpoint]:
    staff = {"Cookie": f"dsure_session={creds.cookie}"}
    rng = random.Random(7)
    lock = threading.Lock()
    sample = world.sample()

    def pick(seq):
        with lock:
            return rng.choice(seq)

    def certificate() -> Request:
        from registry.demo.seed import number_of
        with lock:
            index = rng.randrange(world.size)
        return Request("GET", f"/certificates/{number_of(OBLIGEE, index)}", None, staff,
                       expect(200, "署名は有効です".encode()))

    def staff_lookup() -> Request:
        number, key = pick(sample)
        form = urlencode({"csrf_token": creds.csrf_token, "contract_number": number,
                          "auth_key": key}).encode()
        return Request("POST", "/lookup", form,
                       dict(staff, **{"Content-Type": "application/x-www-form-urlencoded"}),
                       expect_redirect_to_certificate)

    def api_lookup() -> Request:
        number, key = pick(sample)
        body = json.dumps({"contract_number": number, "auth_key": key}).encode()
        return Request("POST", "/api/v1/lookups", body,
                       {"Authorization": f"Bearer {creds.obligee_token}",
                        "Content-Type": "application/json"}, expect(200, number.encode()))

    last = last_page_path(first_page, creds.listed)
    listing = expect(200, pattern=NUMBER)
    return [
        Endpoint("list_first", "list page 1", lambda: Request("GET", "/certificates", None, staff, listing)),
        Endpoint("list_last", "list last page", lambda: Request("GET", last, None, staff, listing)),
        Endpoint("certificate", "certificate page", certificate),
        Endpoint("change_put", "change PUT", changes.next),
        Endpoint("staff_lookup", "staff lookup", staff_lookup, argon2id_bound=True),
        Endpoint("api_lookup", "obligee API lookup", api_lookup, argon2id_bound=True),
    ]


def healthz() -> Request:
    return Request("GET", "/healthz", None, {}, expect(200))


def bare() -> Request:
    return Request("GET", "/", None, {}, expect(200))


def argon2id() -> Request:
    return Request("POST", "/argon2id", None, {}, expect(200, b'"ok":true'))


def stored_changes(world: World, sent: dict[str, int]) -> str | None:
    """None when every changed certificate holds as many revisions as the newest one sent
    to it (seeded with one), else what is off."""
    numbers = list(sent)
    from registry.db import database, open_database
    from registry.models import Certificate, Revision
    if not numbers:
        return None
    open_database(world.database_url)
    try:
        counts = {}
        for offset in range(0, len(numbers), 500):
            chunk = numbers[offset:offset + 500]
            query = (Revision.select(Certificate.contract_number, Revision.id)
                     .join(Certificate).where(Certificate.contract_number.in_(chunk)).tuples())
            for number, _ in query:
                counts[number] = counts.get(number, 0) + 1
    finally:
        database.close_all()
    wrong = [n for n in numbers if counts.get(n) != sent[n]]
    return (f"{len(wrong)} of {len(numbers)} changed certificates do not hold the revisions "
            f"sent (e.g. {wrong[0]}: {counts.get(wrong[0])}, not {sent[wrong[0]]})") if wrong else None
