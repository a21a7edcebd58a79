"""The clerk's work queue (DESIGN §10): what on the organisation's list needs a look.

Three queues, each a condition on ``Certificate`` that the list page applies as a filter
(``portfolio.list_page(restrict=…)``) and that the staff menu counts (up to 「99+」):

- ``unseen``: a revision the user has not had in front of them (never opened, or a newer
  revision arrived since), as the list marks 未読 / 新しい版あり;
- ``failed``: a check against the recorded contract failed on the current revision;
- ``ending``: 保証期間 ends within 30 days (today, in Japan, up to 30 days on).
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import peewee as pw

from ..certificates import keyset, portfolio
from ..models import Certificate
from ..certificates.portfolio import CertificateView, OrganisationCertificate
from .models import ObligeeContract
from ..prepared import Prepared, Slot

QUEUES = ("unseen", "failed", "ending")
LABELS = {"unseen": "未確認の保証証書", "failed": "契約との照合で不一致",
          "ending": "保証期間が30日以内に終了"}
ENDING_WITHIN = dt.timedelta(days=30)


def condition(queue: str, *, organisation_id: int, user_id: int, today: dt.date) -> pw.Expression:
    if queue == "unseen":
        # A scalar subquery, correlated: each listed row is one probe of the unique
        # (user, certificate) index, so a capped count stops early. NOT EXISTS let
        # PostgreSQL plan an anti-join against every view the user ever had when its
        # statistics were stale (13-18 ms at 10k, 2026-12-03); a scalar subquery is
        # always a per-row probe on both engines.
        seen = (CertificateView.select(CertificateView.seen_revision)
                .where(CertificateView.user == user_id,
                       CertificateView.certificate == Certificate.id))
        return pw.fn.COALESCE(seen, 0) < Certificate.latest_revision
    if queue == "failed":
        # "> ''" rather than "!= ''": the same rows, and a range the index
        # (organisation_id, failed_checks) of migration 10 can read.
        return Certificate.id.in_(
            ObligeeContract.select(ObligeeContract.certificate)
            .where(ObligeeContract.organisation == organisation_id,
                   ObligeeContract.failed_checks > ""))
    if queue == "ending":
        return Certificate.guarantee_period_end.between(today, today + ENDING_WITHIN)
    raise ValueError(f"queue must be one of {QUEUES}")


# The menu says 「99+」 from here on: each count stops there instead of reading the list.
MENU_CAP = 99


@dataclasses.dataclass(frozen=True)
class WorkQueue:
    unseen: int
    failed: int
    ending: int

    def items(self) -> list[tuple[str, str, int]]:
        """(queue, label, count) in menu order; a count is at most MENU_CAP + 1."""
        return [(q, LABELS[q], getattr(self, q)) for q in QUEUES]


def _listed(query: pw.Select, organisation_id) -> pw.Select:
    return query.where(OrganisationCertificate.organisation == organisation_id,
                       Certificate.obligee == organisation_id)


def _capped(query: pw.Select) -> pw.Select:
    """COUNT of ``query``'s rows up to the "rows" value (MENU_CAP + 1), as a subquery."""
    return portfolio.capped(query, Slot("rows"))


def _counts_query(organisation_id, user_id, today, until) -> pw.Select:
    """The three capped counts as one SELECT of three subqueries, each reading its own
    index: unseen along the list order, failed from the organisation's contract
    records, ending from the obligee's guarantee end dates."""
    listing = (OrganisationCertificate.select(OrganisationCertificate.certificate)
               .join(Certificate, on=(OrganisationCertificate.certificate == Certificate.id)))
    unseen = _listed(listing.order_by(OrganisationCertificate.certificate_updated_at.desc()),
                     organisation_id).where(condition("unseen", organisation_id=organisation_id,
                                                      user_id=user_id, today=today))
    failed = _listed(
        ObligeeContract.select(ObligeeContract.certificate)
        .join(Certificate, on=(ObligeeContract.certificate == Certificate.id))
        .join(OrganisationCertificate,
              on=((OrganisationCertificate.certificate == Certificate.id)
                  & (OrganisationCertificate.organisation == ObligeeContract.organisation)))
        .where(ObligeeContract.organisation == organisation_id,
               ObligeeContract.failed_checks > ""), organisation_id)
    ending = _listed(
        Certificate.select(Certificate.id)
        .join(OrganisationCertificate,
              on=(OrganisationCertificate.certificate == Certificate.id))
        .where(Certificate.guarantee_period_end.between(today, until)), organisation_id)
    return pw.Select(columns=[_capped(unseen), _capped(failed), _capped(ending)])


# On every staff page: compiled once (registry.prepared), one round trip. Planned each
# time: the unseen count's plan depends on how many views certificate_view holds, and
# that grows from nothing with use (db.execute_planned_each_time).
_COUNTS = Prepared(lambda: _counts_query(
    Slot("organisation", OrganisationCertificate.organisation),
    Slot("user", CertificateView.user),
    Slot("today", Certificate.guarantee_period_end),
    Slot("until", Certificate.guarantee_period_end)), planned_each_time=True)


def counts(*, organisation_id: int, user_id: int, today: dt.date) -> WorkQueue:
    """The menu's three counts, each stopped at MENU_CAP + 1 (see _counts_query)."""
    unseen, failed, ending = _COUNTS.row(organisation=organisation_id, user=user_id,
                                         today=today, until=today + ENDING_WITHIN,
                                         rows=MENU_CAP + 1)
    return WorkQueue(unseen, failed, ending)


# Up to this many guarantees ending soon, the list reads them from the end-date index
# and sorts them; beyond, they are dense enough that walking the list order finds a
# page of them sooner than sorting them all would.
ENDING_SORTED_AT_MOST = 5000


def _restrict(queue: str, organisation_id: int, user_id: int, today: dt.date):
    """(the queue's condition for the page, the same for its count)."""
    if not queue:
        return None, None
    plain = condition(queue, organisation_id=organisation_id, user_id=user_id, today=today)
    if queue == "ending":
        many = portfolio.capped_count(
            Certificate.select(Certificate.id).where(Certificate.obligee == organisation_id, plain),
            ENDING_SORTED_AT_MOST) > ENDING_SORTED_AT_MOST
        if many:
            # The page: the same condition on an expression no planner takes an index
            # for, so it walks the list index in order. The count keeps the plain one
            # and reads the end-date index up to its cap.
            column = pw.fn.COALESCE(Certificate.guarantee_period_end, None)
            return column.between(today, today + ENDING_WITHIN), plain
    return plain, plain


def list_page(*, organisation_id: int, user_id: int, search: portfolio.Search, queue: str,
              today: dt.date, position: keyset.Position = keyset.FIRST) -> portfolio.ListPage:
    """The organisation's list as searched, within one queue ("" for all)."""
    restrict, count_restrict = _restrict(queue, organisation_id, user_id, today)
    return portfolio.list_page(organisation_id=organisation_id, user_id=user_id, search=search,
                               position=position, restrict=restrict,
                               count_restrict=count_restrict)


def every_listed(*, organisation_id: int, user_id: int, search: portfolio.Search, queue: str,
                 today: dt.date):
    """Every row ``list_page`` would show on any page (for the CSV export)."""
    return portfolio.every_listed(organisation_id=organisation_id, user_id=user_id, search=search,
                                  restrict=_restrict(queue, organisation_id, user_id, today)[0])
