"""What auditors may read, and how they filter it (DESIGN §6).

An ``auditor`` belongs to an obligee organisation and reads that organisation's events
(``organisation_code``) and every event about its certificates (``contract_number``),
whoever caused it. A ``platform-auditor`` belongs to the operator and reads everything.
Nothing here writes.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Iterator, Mapping

import peewee as pw

from ..accounts.users import AUDITOR_ROLES, User
from ..errors import Forbidden
from ..certificates.history import KIND_LABELS, hidden_by
from .labels import EVENT_LABELS, parse_utc_text  # noqa: F401 - views read them here
from ..models import AuditEvent, Certificate, Organisation, Revision, SigningKey
from ..certificates.normalise import normalise_contract_number
from ..certificates.signatures import check_stored, sha256_hex

JST = dt.timezone(dt.timedelta(hours=9), "JST")
PAGE_SIZE = 50
SEQ_MAX = 2**63 - 1

OPENED_KINDS = ("lookup.succeeded", "certificate.viewed")


@dataclasses.dataclass(frozen=True)
class AuditScope:
    """What one auditor may read. ``organisation`` None: the whole platform."""

    organisation: Organisation | None

    @classmethod
    def for_user(cls, user: User) -> "AuditScope":
        if user.role == "platform-auditor" and user.organisation.kind == "operator":
            return cls(None)
        if user.role == "auditor":
            return cls(user.organisation)
        raise Forbidden("only auditors read the audit trail")

    @property
    def is_platform(self) -> bool:
        return self.organisation is None

    def _certificate_numbers(self):
        return (Certificate.select(Certificate.contract_number)
                .where(Certificate.obligee == self.organisation.id))

    def events(self) -> pw.Expression:
        if self.is_platform:
            return pw.SQL("1 = 1")
        return ((AuditEvent.organisation_code == self.organisation.code)
                | AuditEvent.contract_number.in_(self._certificate_numbers()))

    def certificates(self):
        query = Certificate.select(Certificate, Organisation).join(
            Organisation, on=(Certificate.obligee == Organisation.id))
        if not self.is_platform:
            query = query.where(Certificate.obligee == self.organisation.id)
        return query

    def certificate(self, contract_number: str) -> Certificate | None:
        number = normalise_contract_number(contract_number)
        if number is None:
            return None
        return self.certificates().where(Certificate.contract_number == number).first()


def utc_text(moment: dt.datetime) -> str:
    """Aware or naive-UTC datetime as AuditEvent.occurred_at text (sorts as time)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    # isoformat, not strftime: strftime writes year 999 as "999", which sorts after "2026"
    return moment.isoformat(timespec="microseconds") + "Z"


def jst_text(value: str | dt.datetime | None, *, seconds: bool = True) -> str:
    """2026-04-01 10:15:03 (JST) from stored UTC text or a naive UTC datetime."""
    if value is None:
        return ""
    moment = parse_utc_text(value) if isinstance(value, str) else value
    local = moment.replace(tzinfo=dt.timezone.utc).astimezone(JST)
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def _parse_local(text: str, *, end: bool) -> dt.datetime | None:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM[:SS]`` in JST, as naive UTC. A bare day as the
    end of a range means up to the end of that day. At the calendar's ends, where UTC has
    no such moment (the first hours of year 1 in Japan, past the last day), the range
    starts or ends at the earliest or latest moment there is."""
    text = (text or "").strip().replace(" ", "T")
    if not text:
        return None
    try:
        if "T" not in text:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
            step = dt.timedelta(days=1)
        else:
            moment = dt.datetime.fromisoformat(text)
            step = dt.timedelta(minutes=1) if len(text) <= 16 else dt.timedelta(seconds=1)
    except ValueError:
        raise ValueError(text) from None
    if end:
        try:
            moment += step
        except OverflowError:
            return dt.datetime.max
    try:
        return moment.replace(tzinfo=JST).astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:
        return dt.datetime.min


@dataclasses.dataclass(frozen=True)
class TrailFilter:
    since: str = ""            # as typed (JST); kept for redisplay
    until: str = ""
    actor: str = ""            # "user:12", "api-client:3", "operator"… or a user's email
    kind: str = ""
    organisation: str = ""     # organisation code
    contract_number: str = ""
    errors: tuple = ()

    FIELDS = ("since", "until", "actor", "kind", "organisation", "contract_number")

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> "TrailFilter":
        values = {name: (params.get(name) or "").strip()[:200] for name in cls.FIELDS}
        errors = []
        for name, end in (("since", False), ("until", True)):
            try:
                _parse_local(values[name], end=end)
            except ValueError:
                errors.append(f"{'開始' if name == 'since' else '終了'}日時の形式が正しくありません。")
        if values["contract_number"] and normalise_contract_number(values["contract_number"]) is None:
            errors.append("保証契約番号は 00000-000000 の形で入力してください。")
        return cls(**values, errors=tuple(errors))

    def params(self) -> dict[str, str]:
        """The non-empty fields, for links that keep the filter."""
        return {name: getattr(self, name) for name in self.FIELDS if getattr(self, name)}

    @property
    def is_empty(self) -> bool:
        return not self.params()

    def conditions(self) -> list:
        where = []
        if self.errors:
            return [pw.SQL("1 = 0")]
        since = _parse_local(self.since, end=False)
        until = _parse_local(self.until, end=True)
        if since:
            where.append(AuditEvent.occurred_at >= utc_text(since))
        if until:
            where.append(AuditEvent.occurred_at < utc_text(until))
        if self.actor:
            where.append(AuditEvent.actor == _actor_of(self.actor))
        if self.kind:
            where.append(AuditEvent.kind == self.kind)
        if self.organisation:
            where.append(AuditEvent.organisation_code == self.organisation)
        if self.contract_number:
            where.append(AuditEvent.contract_number
                         == normalise_contract_number(self.contract_number))
        return where


def _actor_of(typed: str) -> str:
    """A user's email stands for ``user:<id>``; anything else is the actor as stored."""
    if "@" in typed:
        user = User.get_or_none(User.email == typed.strip().lower())
        return f"user:{user.id}" if user else "\0no such user"
    return typed


def trail_query(scope: AuditScope, trail_filter: TrailFilter):
    """Matching events, newest first."""
    query = AuditEvent.select().where(scope.events(), *trail_filter.conditions())
    return query.order_by(AuditEvent.seq.desc())


@dataclasses.dataclass(frozen=True)
class TrailPage:
    events: list
    next_before: int | None   # pass as ``before`` for the next (older) page; None at the end


def trail_page(scope: AuditScope, trail_filter: TrailFilter, *, before: int | None = None,
               size: int = PAGE_SIZE) -> TrailPage:
    """One page, keyset-paged by seq so page 20 000 costs what page 1 costs."""
    query = trail_query(scope, trail_filter)
    if before is not None:
        # seq is a 64-bit column: a larger "before" means the same as its maximum
        query = query.where(AuditEvent.seq < min(before, SEQ_MAX))
    events = list(query.limit(size + 1))
    more = len(events) > size
    events = events[:size]
    return TrailPage(events, events[-1].seq if more and events else None)


CSV_COLUMNS = ["seq", "occurred_at_utc", "occurred_at_jst", "kind", "actor", "organisation_code",
               "contract_number", "details", "prev_hash", "entry_hash"]


def trail_rows(scope: AuditScope, trail_filter: TrailFilter) -> Iterator[list]:
    """Every matching event as a CSV row (newest first), streamed from the database."""
    query = trail_query(scope, trail_filter).select(
        AuditEvent.seq, AuditEvent.occurred_at, AuditEvent.kind, AuditEvent.actor,
        AuditEvent.organisation_code, AuditEvent.contract_number, AuditEvent.details,
        AuditEvent.prev_hash, AuditEvent.entry_hash).tuples()
    for seq, occurred_at, kind, actor, org, contract, details, prev, entry in query.iterator():
        yield [seq, occurred_at, jst_text(occurred_at), kind, actor, org or "", contract or "",
               details, prev, entry]


def event_kinds(scope: AuditScope) -> list[tuple[str, str]]:
    """(kind, label) of every known kind and every kind in the auditor's scope, for the
    filter (a kind only another organisation's events have is not offered)."""
    stored = {k for (k,) in AuditEvent.select(AuditEvent.kind).where(scope.events())
              .distinct().tuples()}
    return [(k, EVENT_LABELS.get(k, k)) for k in sorted(stored | set(EVENT_LABELS))]


def visible_organisations(scope: AuditScope) -> list[Organisation]:
    if scope.is_platform:
        return list(Organisation.select().order_by(Organisation.kind, Organisation.code))
    return [scope.organisation]


def actor_names(scope: AuditScope, actors) -> dict[str, str]:
    """{"user:12": "taro@example.jp"} for the users this auditor may know by name."""
    ids = {int(a.split(":", 1)[1]) for a in actors
           if a.startswith("user:") and a.split(":", 1)[1].isdigit()}
    if not ids:
        return {}
    query = User.select(User.id, User.email).where(User.id.in_(ids))
    if not scope.is_platform:
        query = query.where(User.organisation == scope.organisation.id)
    return {f"user:{uid}": email for uid, email in query.tuples()}


@dataclasses.dataclass(frozen=True)
class CertificatePage:
    rows: list
    page: int      # clamped to the pages there are
    total: int


def certificate_page(scope: AuditScope, number_part: str, page: int,
                     size: int = PAGE_SIZE) -> CertificatePage:
    """The certificates in scope whose number contains ``number_part``, by number; any
    page number is answered with the nearest page there is."""
    query = scope.certificates().order_by(Certificate.contract_number)
    if number_part:
        query = query.where(Certificate.contract_number.contains(number_part))
    total = query.count()
    page = max(1, min(page, -(-total // size)))
    return CertificatePage(list(query.paginate(page, size)), page, total)


def chain_head() -> tuple[int, AuditEvent | None]:
    head = AuditEvent.select().order_by(AuditEvent.seq.desc()).first()
    return AuditEvent.select().count(), head


# --- a certificate's whole history, hidden revisions included ---------------------------

HIDDEN_REASONS = {"correction": "訂正により非表示", "change_cancellation": "変更取消により非表示"}


@dataclasses.dataclass(frozen=True)
class RevisionRecord:
    number: int
    kind: str
    kind_label: str
    supersedes: int | None
    arrived_at: dt.datetime
    hidden_by: int | None
    hidden_reason: str | None     # 訂正により非表示 (No.3)
    canonical: bytes
    signature: bytes
    key_id: str
    fingerprint: str
    public_key: bytes
    signature_valid: bool
    canonical_ok: bool
    canonical_sha256: str
    accepted_digest: str | None   # what the revision.accepted event recorded
    accepted_seq: int | None

    @property
    def digest_matches(self) -> bool:
        return self.accepted_digest == self.canonical_sha256

    @property
    def verified(self) -> bool:
        return self.signature_valid and self.canonical_ok and self.digest_matches

    @property
    def pretty(self) -> str:
        return json.dumps(json.loads(self.canonical), ensure_ascii=False, indent=2)


def revision_records(certificate: Certificate) -> list[RevisionRecord]:
    revisions = list(Revision.select(Revision, SigningKey)
                     .join(SigningKey).where(Revision.certificate == certificate.id)
                     .order_by(Revision.number))
    hidden = hidden_by(revisions)
    kinds = {r.number: r.kind for r in revisions}
    accepted = {}
    for seq, details in (AuditEvent.select(AuditEvent.seq, AuditEvent.details)
                         .where(AuditEvent.kind == "revision.accepted",
                                AuditEvent.contract_number == certificate.contract_number)
                         .tuples()):
        info = json.loads(details)
        accepted.setdefault(info.get("revision"), (seq, info.get("canonical_sha256")))
    records = []
    for r in revisions:
        canonical, signature = bytes(r.canonical), bytes(r.signature)
        by = hidden.get(r.number)
        reason = f"{HIDDEN_REASONS[kinds[by]]} (No.{by})" if by is not None else None
        seq, digest = accepted.get(r.number, (None, None))
        stored = check_stored(bytes(r.signing_key.public_key), canonical, signature)
        records.append(RevisionRecord(
            number=r.number, kind=r.kind, kind_label=KIND_LABELS.get(r.kind, r.kind),
            supersedes=r.supersedes, arrived_at=r.arrived_at, hidden_by=by, hidden_reason=reason,
            canonical=canonical, signature=signature, key_id=r.signing_key.key_id,
            fingerprint=r.signing_key.fingerprint, public_key=bytes(r.signing_key.public_key),
            signature_valid=stored.signature_valid, canonical_ok=stored.canonical,
            canonical_sha256=sha256_hex(canonical),
            accepted_digest=digest, accepted_seq=seq))
    return records


def openings(certificate: Certificate, scope: AuditScope) -> list[AuditEvent]:
    """Who opened the certificate and when (lookups with the key, page views), oldest first."""
    return list(AuditEvent.select()
                .where(AuditEvent.contract_number == certificate.contract_number,
                       AuditEvent.kind.in_(OPENED_KINDS), scope.events())
                .order_by(AuditEvent.seq))
