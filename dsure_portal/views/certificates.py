"""Staff pages: look a certificate up, read it like the paper 保証証書, compare its
revisions, print it, and keep the organisation's list (DESIGN §5).

The rules live in the registry (lookup, portfolio, verification, presentation); these
views only read the request, call one registry function and lay out what it returns.
"""
from __future__ import annotations

import datetime as dt
import math

import segno
from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user

from registry import portfolio
from registry.accounts import STAFF_ROLES
from registry.history import KIND_LABELS, STATUS_LABELS
from registry.lookup import LookupLimits, look_up
from registry.presentation import PRODUCT_LABELS, certificate_title, compare, document_of, sheet_of, yen
from registry.verification import History, history_of, verify_revision
from registry.clock import utcnow
from registry.wareki import jst_date, wareki_date, wareki_datetime, wareki_datetime_long
from registry.contracts import queue as work_queue
from registry.contracts.records import failed_checks_of

from ..extensions import limiter
from ..forms.certificates import LookupForm, SearchForm
from ..login import require_role
from ..rendering import render
from .desk import contract_panel

bp = Blueprint("certificates", __name__)
bp.before_request(require_role(*STAFF_ROLES))


def _hasher():
    return current_app.extensions["dsure.hasher"]


def _limits() -> LookupLimits:
    config = current_app.config
    return LookupLimits(
        failures=int(config["LOOKUP_FAILURE_LIMIT"]),
        window=dt.timedelta(minutes=float(config["LOOKUP_FAILURE_WINDOW_MINUTES"])),
        failures_per_address=config["LOOKUP_ADDRESS_FAILURE_LIMIT"])


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else (request.remote_addr or "?")


# --- lookup ---------------------------------------------------------------------------

@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit("60 per minute", key_func=_user_key, methods=["POST"])  # coarse; the real limit is in the registry
def lookup():
    form = LookupForm()
    if not form.validate_on_submit():
        return render("certificates/lookup.html", form=form)
    result = look_up(
        user_id=current_user.id, actor=current_user.actor,
        organisation_id=current_user.organisation.id,
        organisation_code=current_user.organisation.code,
        contract_number=form.contract_number.data, auth_key=form.auth_key.data,
        hasher=_hasher(), limits=_limits(), address=request.remote_addr)
    if result.found:
        return redirect(url_for(".show", contract_number=result.certificate.contract_number), 303)
    blank = LookupForm(formdata=None)  # nothing typed is echoed: every failure reads the same
    if result.locked:
        response = render("certificates/lookup.html", form=blank, status=429,
                          locked_until=wareki_datetime_long(result.retry_after))
        response.headers["Retry-After"] = str(max(1, math.ceil(
            (result.retry_after - utcnow()).total_seconds())))
        return response
    return render("certificates/lookup.html", form=blank, failed=True)


# --- one certificate ------------------------------------------------------------------

def _listed_or_404(contract_number: str):
    cert = portfolio.listed_certificate(organisation_id=current_user.organisation.id,
                                        contract_number=contract_number)
    if cert is None:
        abort(404)  # not yours, not looked up yet, or no such number: all the same
    return cert


def _revision_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit() or len(raw) > 6:
        abort(404)
    return int(raw)


def _visible_or_404(history: History, number: int | None):
    revision = history.visible_revision(number)
    if revision is None:
        abort(404)  # hidden (corrected or cancelled) revisions do not exist for staff
    return revision


def _record_view(cert, view: str, revisions: list[int]) -> None:
    if request.method != "GET":
        # HEAD: nobody read anything (a link checker, a prefetch). POST: a form of the
        # page sent back with its errors, not a new look.
        return
    portfolio.record_view(user_id=current_user.id, actor=current_user.actor,
                          organisation_code=current_user.organisation.code,
                          certificate=cert, view=view, revisions=revisions)


def _status(history: History) -> dict:
    status = history.status
    return {"kind": status.kind, "label": status.label, "revision": status.revision,
            "since": wareki_datetime(status.since), "kind_label": KIND_LABELS[status.kind],
            "badge": {"new": "ok", "change": "warn", "correction": "warn",
                      "change_cancellation": "bad"}[status.kind]}


def _history_rows(history: History, shown: int | None) -> list[dict]:
    return [{"number": r.number, "arrived": wareki_datetime(r.arrived_at),
             "kind": KIND_LABELS[r.kind], "shown": r.number == shown,
             "current": r.number == history.current.number}
            for r in history.visible]


def _certificate_context(cert, history: History, revision) -> dict:
    doc = document_of(revision.canonical)
    previous = history.previous_visible(revision)
    sheet = sheet_of(doc, compared_with=document_of(previous.canonical)
                     if previous is not None and revision.kind != "new" else None)
    return {
        "cert": cert, "revision": revision, "sheet": sheet,
        "compared_with": previous.number if previous is not None and sheet.changed_keys else None,
        "arrived": wareki_datetime(revision.arrived_at),
        "verification": verify_revision(cert, revision),
        "cert_status": _status(history),
        "is_current": revision.number == history.current.number,
        "current_number": history.current.number,
        "history_rows": _history_rows(history, revision.number),
        "has_hidden": bool(history.hidden),
    }


@bp.get("/certificates/<contract_number>")
def show(contract_number: str):
    return render_certificate_page(contract_number)


def render_certificate_page(contract_number: str, *, contract_form=None, status: int = 200):
    """The certificate page; ``contract_form``: the contract form sent back with errors."""
    cert = _listed_or_404(contract_number)
    history = history_of(cert)
    asked = _revision_arg("revision")
    revision = _visible_or_404(history, asked)
    _record_view(cert, "page" if asked is None else "revision", [revision.number])
    context = _certificate_context(cert, history, revision)
    visible = [r.number for r in history.visible]
    context["compare_a"] = visible[-2] if len(visible) > 1 else visible[-1]
    context["compare_b"] = visible[-1]
    context["visible_numbers"] = visible
    context["contract"] = contract_panel(cert, history, contract_form)
    return render("certificates/show.html", block="certificate", status=status, **context)


@bp.get("/certificates/<contract_number>/compare")
def compare_revisions(contract_number: str):
    cert = _listed_or_404(contract_number)
    history = history_of(cert)
    visible = [r.number for r in history.visible]
    a_number, b_number = _revision_arg("a"), _revision_arg("b")
    b = _visible_or_404(history, b_number)
    if a_number is None:
        earlier = history.previous_visible(b)
        a = earlier if earlier is not None else b
    else:
        a = _visible_or_404(history, a_number)
    _record_view(cert, "compare", [a.number, b.number])
    fields = compare(document_of(a.canonical), document_of(b.canonical))
    return render("certificates/compare.html", block="comparison",
                  cert=cert, title=certificate_title(cert.product), a=a, b=b, fields=fields,
                  changed_count=sum(1 for f in fields if f.changed and not f.bookkeeping),
                  a_arrived=wareki_datetime(a.arrived_at), b_arrived=wareki_datetime(b.arrived_at),
                  kind_labels=KIND_LABELS, visible_numbers=visible,
                  history_rows=_history_rows(history, None))


def _qr_data_uri(url: str) -> str:
    return segno.make(url, error="m").svg_data_uri(scale=2, border=1)


@bp.get("/certificates/<contract_number>/print")
def print_view(contract_number: str):
    cert = _listed_or_404(contract_number)
    history = history_of(cert)
    asked = _revision_arg("revision")
    revision = _visible_or_404(history, asked)
    _record_view(cert, "print", [revision.number])
    context = _certificate_context(cert, history, revision)
    verification_url = url_for(".show", contract_number=cert.contract_number, _external=True)
    return render("certificates/print.html", **context,
                  verification_url=verification_url, qr=_qr_data_uri(verification_url),
                  as_of=wareki_datetime_long(utcnow()),
                  viewer=current_user.organisation.name)


# --- the organisation's list ----------------------------------------------------------

def list_search() -> tuple[SearchForm, portfolio.Search, str, dict]:
    """The list's filters from the query string: (the form, the search, the work queue,
    the filters as query parameters for links and the CSV export)."""
    form = SearchForm(formdata=request.args)
    form.validate()
    search = _search_of(form)
    queue = form.value("queue", "")
    params = {"q": search.text, "product": search.product, "queue": queue,
              "date_field": search.date_field if (search.date_from or search.date_to) else "",
              "date_from": search.date_from.isoformat() if search.date_from else "",
              "date_to": search.date_to.isoformat() if search.date_to else ""}
    return form, search, queue, {k: v for k, v in params.items() if v}


def _search_of(form: SearchForm) -> portfolio.Search:
    return portfolio.Search(
        text=(form.value("q", "") or "")[:200],
        product=form.value("product", ""),
        date_field=form.value("date_field", "updated"),
        date_from=form.value("date_from"),
        date_to=form.value("date_to"),
        page=form.value("page", 1),
    )


def _page_url(args: dict, page: int) -> str:
    kept = {k: v for k, v in args.items() if v not in ("", None) and k != "page"}
    if page > 1:
        kept["page"] = page
    return url_for(".index", **kept)


@bp.get("/certificates")
def index():
    form, search, queue, args = list_search()
    page = work_queue.list_page(organisation_id=current_user.organisation.id,
                                user_id=current_user.id, search=search, queue=queue,
                                today=jst_date(utcnow()))
    failed = failed_checks_of(organisation_id=current_user.organisation.id,
                              certificate_ids=[item.certificate.id for item in page.items])
    rows = [{
        "number": item.certificate.contract_number,
        "product": PRODUCT_LABELS.get(item.certificate.product, item.certificate.product),
        "work_name": item.certificate.work_name,
        "principal_name": item.certificate.principal_name,
        "guarantee_amount": yen(item.certificate.guarantee_amount),
        "status": STATUS_LABELS.get(item.certificate.current_kind, ""),
        "updated": wareki_date(jst_date(item.certificate.updated_at)),
        "unseen": item.unseen,
        "guarantee_end": wareki_date(item.certificate.guarantee_period_end)
        if item.certificate.guarantee_period_end else "",
        "failed_checks": failed.get(item.certificate.id),  # None: no contract recorded
    } for item in page.items]
    filtered = any(v for v in args.values())
    return render("certificates/index.html", block="results", form=form, page=page, rows=rows,
                  filtered=filtered, queue=queue, queue_label=work_queue.LABELS.get(queue),
                  export_url=url_for("desk.export", **args),
                  prev_url=_page_url(args, page.page - 1) if page.page > 1 else None,
                  next_url=_page_url(args, page.page + 1) if page.page < page.pages else None)
