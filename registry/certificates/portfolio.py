"""An obligee organisation's list of certificates, and what each of its staff has seen.

A certificate joins its obligee's list the first time anyone of that organisation looks
it up with the right auth key. From then on everyone of the organisation may open it;
nobody else may, and nobody may before the lookup (DESIGN §1 step 5, §5).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import unicodedata
from typing import Iterator

import peewee as pw

from ..accounts.users import User
from ..audit.chain import record
from ..clock import Clock, utcnow
from ..db import (database, execute_planned_each_time, joining_write_transaction,
                  write_transaction)
from ..models import ApiClient, BaseModel, Certificate, Organisation
from . import keyset
from .normalise import normalise_contract_number
from ..prepared import Prepared, Slot
from ..wareki import jst_day_start_utc

PAGE_SIZE = 25
# Above this many the list says 「1,000件以上」: counting a million rows on every page was
# the biggest part of a page at 1M (issue 11).
COUNT_CAP = 1000
# A substring search cannot use an index; it reads at most this many listed
# certificates for a page, and the page says where it stopped.
SEARCH_WINDOW = 10_000


class OrganisationCertificate(BaseModel):
    """``certificate`` is on ``organisation``'s list since ``added_at``, put there by a
    member of staff (``added_by``) or by the organisation's own system (``added_by_client``)."""

    organisation = pw.ForeignKeyField(Organisation, backref="listed_certificates")
    certificate = pw.ForeignKeyField(Certificate, backref="listings")
    added_at = pw.DateTimeField()
    added_by = pw.ForeignKeyField(User, backref="+", null=True)
    added_by_client = pw.ForeignKeyField(ApiClient, backref="+", null=True)
    # The certificate's updated_at, copied here so the list is read in order from one
    # index (organisation, certificate_updated_at, certificate) without a sort or a join
    # to find the order (migration 10; kept fresh by follow_certificate_update).
    certificate_updated_at = pw.DateTimeField()

    class Meta:
        indexes = ((("organisation", "certificate"), True),
                   (("organisation", "certificate_updated_at", "certificate"), False))


class CertificateView(BaseModel):
    """The newest revision ``user`` has had in front of them (page, print or compare)."""

    user = pw.ForeignKeyField(User, backref="+")
    certificate = pw.ForeignKeyField(Certificate, backref="+")
    seen_revision = pw.IntegerField()
    seen_at = pw.DateTimeField()

    class Meta:
        indexes = ((("user", "certificate"), True),)


MODELS = [OrganisationCertificate, CertificateView]


def _add_to_list_query():
    # NULL ids are cast: PostgreSQL types an untyped parameter in a SELECT list as text.
    source = Certificate.select(
        pw.Cast(Slot("organisation"), "INTEGER"), Certificate.id,
        Slot("at", OrganisationCertificate.added_at),
        pw.Cast(Slot("user"), "INTEGER"), pw.Cast(Slot("client"), "INTEGER"),
        Certificate.updated_at).where(Certificate.id == Slot("certificate"))
    return OrganisationCertificate.insert_from(source, [
        OrganisationCertificate.organisation, OrganisationCertificate.certificate,
        OrganisationCertificate.added_at, OrganisationCertificate.added_by,
        OrganisationCertificate.added_by_client,
        OrganisationCertificate.certificate_updated_at]).on_conflict_ignore()


# Every successful lookup runs it: one statement, compiled once (registry.prepared).
_ADD_TO_LIST = Prepared(_add_to_list_query)


def add_to_list(*, organisation_id: int, certificate_id: int, user_id: int | None = None,
                client_id: int | None = None, clock: Clock = utcnow) -> bool:
    """Put the certificate on the organisation's list (by a user or an API client);
    False when it already was. Joins the caller's write transaction, without a savepoint:
    one INSERT that reads the certificate's updated_at (the list's sort key) and does
    nothing when the (organisation, certificate) row exists."""
    if (user_id is None) == (client_id is None):
        raise ValueError("exactly one of user_id and client_id")
    with joining_write_transaction():
        return _ADD_TO_LIST.execute(organisation=organisation_id, certificate=certificate_id,
                                    at=clock(), user=user_id, client=client_id) == 1


# On every accepted revision: compiled once (registry.prepared). RETURNING says whose
# lists the certificate is on, which the revision's notifications ask next (SQLite has
# RETURNING from 3.35).
_FOLLOW_UPDATE = Prepared(lambda: (
    OrganisationCertificate
    .update(certificate_updated_at=Slot("updated_at", OrganisationCertificate.certificate_updated_at))
    .where(OrganisationCertificate.certificate == Slot("certificate"))
    .returning(OrganisationCertificate.organisation)))


def follow_certificate_update(certificate: Certificate) -> set[int]:
    """Carry the certificate's new updated_at to every list it is on (ingest calls this
    where it stores a revision, inside its write transaction), so it moves to the front of
    those lists; the ids of the organisations whose lists those are. One UPDATE, no
    savepoint of its own: it stands or falls with the revision."""
    return {organisation for organisation, in _FOLLOW_UPDATE.tuples(
        updated_at=certificate.updated_at, certificate=certificate.id)}


def listed_certificate(*, organisation_id: int, contract_number: str) -> Certificate | None:
    """The certificate behind ``contract_number`` when the organisation may open it: it is
    the obligee and the certificate is on its list. None otherwise, whatever the reason."""
    number = normalise_contract_number(contract_number)
    if number is None:
        return None
    return openable(Certificate.select(Certificate), number=number,
                    organisation=organisation_id).first()


def openable(query, *, number, organisation):
    """``query`` (joined to Certificate last) narrowed to the certificate ``number`` when
    ``organisation`` may open it: it is the obligee and has it on its list. The one place
    this rule is written; the staff pages' one-statement read (verification.listed_history)
    uses it too, with Slots for the values."""
    return (query.join(OrganisationCertificate,
                       on=(OrganisationCertificate.certificate == Certificate.id))
            .where(Certificate.contract_number == number, Certificate.obligee == organisation,
                   OrganisationCertificate.organisation == organisation))


VIEWS = ("page", "revision", "compare", "print")

# One upsert per look, no read first, compiled once (registry.prepared). latest_revision
# only grows, so the newest look is always the furthest seen.
_SEEN_REVISION = Slot("seen", CertificateView.seen_revision)
_SEEN_AT = Slot("at", CertificateView.seen_at)
_SEEN = Prepared(lambda: CertificateView.insert(
    user=Slot("user", CertificateView.user),
    certificate=Slot("certificate", CertificateView.certificate),
    seen_revision=_SEEN_REVISION, seen_at=_SEEN_AT)
    .on_conflict(conflict_target=[CertificateView.user, CertificateView.certificate],
                 update={CertificateView.seen_revision: _SEEN_REVISION,
                         CertificateView.seen_at: _SEEN_AT}))


def record_view(*, user_id: int, actor: str, organisation_code: str, certificate: Certificate,
                view: str, revisions: list[int], clock: Clock = utcnow) -> None:
    """One look at a certificate: the audit event ``certificate.viewed`` and the user's
    seen revision (the newest stored one: the page shows the whole visible history)."""
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}")
    now = clock()
    with write_transaction():
        _SEEN.execute(user=user_id, certificate=certificate.id,
                      seen=certificate.latest_revision, at=now)
        record("certificate.viewed", actor=actor, organisation_code=organisation_code,
               contract_number=certificate.contract_number,
               details={"view": view, "revisions": revisions}, clock=clock)


def seen_revision(*, user_id: int, certificate_id: int) -> int | None:
    row = CertificateView.get_or_none(CertificateView.user == user_id,
                                      CertificateView.certificate == certificate_id)
    return row.seen_revision if row else None


@dataclasses.dataclass(frozen=True)
class Search:
    """What staff filter their organisation's list by. Dates are days in Japan."""

    text: str = ""                 # work name, principal or contract number (any part)
    product: str = ""              # "" for all
    date_field: str = "updated"    # "updated" (newest revision) or "issued" (revision 1)
    date_from: dt.date | None = None
    date_to: dt.date | None = None


@dataclasses.dataclass(frozen=True)
class ListedCertificate:
    certificate: Certificate
    added_at: dt.datetime
    seen_revision: int | None
    cursor: keyset.Cursor | None = None

    @property
    def unseen(self) -> str | None:
        """None when read; "never" when the user never opened it; "newer" when a
        revision arrived after the user last looked."""
        if self.seen_revision is None:
            return "never"
        if self.certificate.latest_revision > self.seen_revision:
            return "newer"
        return None


@dataclasses.dataclass(frozen=True)
class ListPage:
    """One page of the list. ``total`` is exact up to COUNT_CAP and COUNT_CAP + 1 above
    it; a text search counts within its window from the newest (``counted_in_window``).
    ``next``/``prev``: where the older/newer page starts, None at either end.
    ``search_on``: a text search that read its whole window: where to search on."""

    items: list[ListedCertificate]
    total: int
    next: keyset.Position | None = None
    prev: keyset.Position | None = None
    counted_in_window: bool = False
    search_on: keyset.Position | None = None
    page_size: int = PAGE_SIZE

    @property
    def over_cap(self) -> bool:
        return self.total > COUNT_CAP


def _text_condition(text: str):
    words = text.split()
    condition = None
    for word in words:
        number = normalise_contract_number(word)
        digits_only = word.replace("-", "")
        term = (Certificate.work_name.contains(word) | Certificate.principal_name.contains(word)
                | Certificate.contract_number.contains(word))
        if number is not None:
            term = term | (Certificate.contract_number == number)
        elif digits_only.isdigit() and len(digits_only) > 5 and word == digits_only:
            # 2000100 → 20001-00…: a number typed without its hyphen, in part
            term = term | Certificate.contract_number.contains(f"{digits_only[:5]}-{digits_only[5:]}")
        condition = term if condition is None else condition & term
    return condition


_LISTED_AT = OrganisationCertificate.certificate_updated_at
_LISTED_ID = OrganisationCertificate.certificate


def _listing_conditions(organisation_id: int, search: Search) -> list:
    """What the list index (organisation, certificate_updated_at, certificate) answers."""
    conditions = [OrganisationCertificate.organisation == organisation_id]
    # The calendar's first and last days have no UTC moment to start or end on; as a
    # bound they leave nothing out anyway.
    if search.date_from and search.date_from > dt.date.min:
        # updated_at >= created_at, so an issue date bounds the update date too.
        conditions.append(_LISTED_AT >= jst_day_start_utc(search.date_from))
    if search.date_to and search.date_to < dt.date.max and search.date_field != "issued":
        conditions.append(_LISTED_AT < jst_day_start_utc(search.date_to + dt.timedelta(days=1)))
    return conditions


def _certificate_conditions(organisation_id: int, search: Search, restrict) -> list:
    """What is checked on each certificate the index leads to."""
    conditions = [Certificate.obligee == organisation_id]
    if restrict is not None:
        conditions.append(restrict)
    if search.text.strip():
        conditions.append(_text_condition(unicodedata.normalize("NFKC", search.text).strip()))
    if search.product:
        conditions.append(Certificate.product == search.product)
    if search.date_field == "issued":
        if search.date_from and search.date_from > dt.date.min:
            conditions.append(Certificate.created_at >= jst_day_start_utc(search.date_from))
        if search.date_to and search.date_to < dt.date.max:
            conditions.append(Certificate.created_at
                              < jst_day_start_utc(search.date_to + dt.timedelta(days=1)))
    return conditions


def _beyond(cursor: keyset.Cursor, *, older: bool, inclusive: bool = False):
    """Rows past ``cursor`` in the list order. The first term bounds the index range;
    the second only sorts out rows that share the cursor's timestamp."""
    if older:
        tie = _LISTED_ID <= cursor.certificate_id if inclusive else _LISTED_ID < cursor.certificate_id
        return (_LISTED_AT <= cursor.updated_at) & ((_LISTED_AT < cursor.updated_at) | tie)
    tie = _LISTED_ID >= cursor.certificate_id if inclusive else _LISTED_ID > cursor.certificate_id
    return (_LISTED_AT >= cursor.updated_at) & ((_LISTED_AT > cursor.updated_at) | tie)


def _order(descending: bool) -> list:
    if descending:
        return [_LISTED_AT.desc(), _LISTED_ID.desc()]
    return [_LISTED_AT.asc(), _LISTED_ID.asc()]


def _start(position: keyset.Position) -> list:
    if position.after is not None:
        return [_beyond(position.after, older=True)]
    if position.before is not None:
        return [_beyond(position.before, older=False)]
    return []


def _window_end(listing: list, descending: bool) -> keyset.Cursor | None:
    """The SEARCH_WINDOW-th listing row from the start (index only), None when no row
    is left after it: a substring search reads at most that many certificates a page."""
    rows = list(OrganisationCertificate.select(_LISTED_AT, _LISTED_ID).where(*listing)
                .order_by(*_order(descending)).offset(SEARCH_WINDOW - 1).limit(2).tuples())
    return keyset.Cursor(_as_datetime(rows[0][0]), rows[0][1]) if len(rows) == 2 else None


def _rows(listing: list, checks: list, user_id: int, descending: bool = True):
    view = CertificateView.alias()
    return (Certificate
            .select(Certificate, OrganisationCertificate.added_at,
                    _LISTED_AT.alias("listed_updated_at"), view.seen_revision)
            .join(OrganisationCertificate,
                  on=(OrganisationCertificate.certificate == Certificate.id))
            .join_from(Certificate, view, pw.JOIN.LEFT_OUTER,
                       on=((view.certificate == Certificate.id) & (view.user == user_id)))
            .where(*listing, *checks)
            .order_by(*_order(descending)))


def _listed(row) -> ListedCertificate:
    return ListedCertificate(row, row.added_at, row.seen_revision,
                             keyset.Cursor(_as_datetime(row.listed_updated_at), row.id))


def capped_count(query: pw.Select, cap: int) -> int:
    """How many rows ``query`` has, counting no further than ``cap`` + 1. Its ORDER BY,
    if any, is kept (peewee's count() drops it): a caller uses it to make the planner
    read a given index and stop early. Planned each time (db.execute_planned_each_time):
    the 「未確認」 queue's count, on a generic plan made while certificate_view looked
    empty, went from 9 ms to 52 ms a list page after 800 views (10k world)."""
    sql, params = database.get_sql_context().sql(capped(query, cap + 1)).query()
    return execute_planned_each_time(sql, params).fetchone()[0]


def capped(query: pw.Select, rows) -> pw.Select:
    """SELECT COUNT over ``query``'s first ``rows`` rows (a number or a prepared Slot),
    as a query of its own or a subquery."""
    return pw.Select([query.limit(rows).alias("capped")], [pw.fn.COUNT(pw.SQL("1"))])


def _count(listing: list, checks: list, *, ordered: bool) -> int:
    """Exact up to COUNT_CAP, COUNT_CAP + 1 beyond: never a count of the whole list.
    ``ordered``: read along the list index, so a date range or a keyword's window is a
    range of it (unordered, PostgreSQL merge-joined from the first certificate and SQLite
    scanned ``certificate`` up to the range). A work queue's count goes unordered, so
    the planner can take the queue's own index up to the cap."""
    query = (OrganisationCertificate.select(_LISTED_ID)
             .join(Certificate, on=(OrganisationCertificate.certificate == Certificate.id))
             .where(*listing, *checks))
    return capped_count(query.order_by(*_order(True)) if ordered else query, COUNT_CAP)


def list_page(*, organisation_id: int, user_id: int, search: Search = Search(),
              position: keyset.Position = keyset.FIRST, page_size: int = PAGE_SIZE,
              restrict: pw.Expression | None = None,
              count_restrict: pw.Expression | None = None) -> ListPage:
    """A page of the organisation's certificates, most recently updated first, with the
    user's seen revision of each. ``restrict``: a further condition on Certificate (the
    work queue's filters, registry.contracts.queue)."""
    listing = _listing_conditions(organisation_id, search)
    checks = _certificate_conditions(organisation_id, search, restrict)
    # The same condition written so the count can use an index the page must not.
    counted = checks if count_restrict is None \
        else _certificate_conditions(organisation_id, search, count_restrict)
    windowed = bool(search.text.strip())
    descending = position.descending
    start = listing + _start(position)
    window = _window_end(start, descending) if windowed else None
    # Rows up to the window's end, from where the page starts.
    bound = [_beyond(window, older=not descending, inclusive=True)] if window else []
    rows = list(_rows(start + bound, checks, user_id, descending).limit(page_size + 1).objects())
    more = len(rows) > page_size
    items = [_listed(row) for row in rows[:page_size]]
    if not descending:
        items.reverse()
    older_more, newer_more = (more, position.after is not None) if descending \
        else (position.before is not None, more)
    search_on = None
    if window is not None and not more:
        search_on = keyset.Position(after=window) if descending else keyset.Position(before=window)
    if windowed:
        top = window if position.is_first else _window_end(listing, True)
        total = _count(listing + ([_beyond(top, older=False, inclusive=True)] if top else []),
                       counted, ordered=True)
    else:
        total = _count(listing, counted, ordered=restrict is None)
    return ListPage(
        items, total, page_size=page_size, counted_in_window=windowed and top is not None,
        next=keyset.Position(after=items[-1].cursor) if items and older_more else None,
        prev=keyset.Position(before=items[0].cursor) if items and newer_more else None,
        search_on=search_on)


def every_listed(*, organisation_id: int, user_id: int, search: Search = Search(),
                 restrict: pw.Expression | None = None) -> Iterator[ListedCertificate]:
    """Every certificate ``list_page`` would show on any page, in its order, streamed
    (the CSV export: no window, no cap)."""
    rows = _rows(_listing_conditions(organisation_id, search),
                 _certificate_conditions(organisation_id, search, restrict), user_id).objects()
    for row in rows.iterator():
        yield _listed(row)


def _changed_at():
    """When a listed certificate last changed for the organisation: its newest revision
    arrived, or it joined the list, whichever is later."""
    return pw.Case(None, [(OrganisationCertificate.added_at > Certificate.updated_at,
                           OrganisationCertificate.added_at)], Certificate.updated_at)


def changed_since(*, organisation_id: int, since: dt.datetime | None = None,
                  after: str | None = None, limit: int = 100) -> list[tuple[Certificate, dt.datetime]]:
    """The organisation's listed certificates that changed at or after ``since`` (naive
    UTC), oldest change first, keyset-paged: pass the last row's change time as
    ``since`` and its number as ``after`` for the next page."""
    changed = _changed_at()
    conditions = [OrganisationCertificate.organisation == organisation_id,
                  Certificate.obligee == organisation_id]
    if since is not None and after is not None:
        conditions.append((changed > since)
                          | ((changed == since) & (Certificate.contract_number > after)))
    elif since is not None:
        conditions.append(changed >= since)
    rows = (Certificate.select(Certificate, changed.alias("changed_at"))
            .join(OrganisationCertificate,
                  on=(OrganisationCertificate.certificate == Certificate.id))
            .where(*conditions)
            .order_by(changed, Certificate.contract_number)
            .limit(limit).objects())
    return [(row, _as_datetime(row.changed_at)) for row in rows]


def _as_datetime(value) -> dt.datetime:
    # A CASE has no column type: SQLite hands back the stored text.
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value
