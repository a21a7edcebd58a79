"""Staff pages: look a certificate up, read it like the paper 保証証書, compare its
revisions, print it, and keep the organisation's list (DESIGN §5).

The rules live in the registry (lookup, portfolio, verification, presentation); these
views only read the request, call one registry function and lay out what it returns.
"""
from __future__ import annotations


from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from registry.certificates import keyset, portfolio
from registry.accounts.users import STAFF_ROLES
from registry.certificates.history import KIND_LABELS, STATUS_LABELS
from registry.errors import UnreadableNotice
from registry.certificates.lookup import look_up_many
from registry.notices.reading import (MAX_NOTICE_BYTES, MAX_PAIRS, NoticePair, pairs_in_pdf,
                                      pairs_in_text)
from registry.certificates.presentation import (PRODUCT_LABELS, certificate_title, compare,
                                                document_of, sheet_of, yen)
from registry.certificates.verification import History, listed_history, verify_revision
from registry.clock import utcnow
from registry.certificates.documents import MAX_REVISION
from registry.wareki import jst_date, wareki_date, wareki_datetime, wareki_datetime_long
from registry.contracts import queue as work_queue
from registry.contracts.records import failed_checks_of

from ..config import lookup_limits
from ..extensions import limiter
from ..forms.certificates import LookupForm, NoticeForm, SearchForm
from ..input_gate import whole_number
from ..login import require_role
from ..problems import retry_after
from ..rendering import render
from ..uploads import accepts_body
from .desk import contract_panel

bp = Blueprint("certificates", __name__)
bp.before_request(require_role(*STAFF_ROLES))


def _hasher():
    return current_app.extensions["dsure.hasher"]


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else (request.remote_addr or "?")


# --- lookup ---------------------------------------------------------------------------

# What the clerk reads when a notice gives no pair (registry.errors.UnreadableNotice).
TYPE_INSTEAD = "お手数ですが、保証契約番号と認証キーを上の欄に入力してください。"
NOTICE_MESSAGES = {
    "nothing": "お知らせのPDFファイルを選ぶか、お知らせの文面を貼り付けてください。",
    "not_pdf": "選ばれたファイルはPDFではありません。保証会社から届いた「認証キーのお知らせ」のPDFファイルを選んでください。",
    "too_large": "ファイルが大きすぎます(2MBまで)。「認証キーのお知らせ」のPDFか、お確かめください。",
    "encrypted": "このPDFはパスワードで保護されているため読み取れません。" + TYPE_INSTEAD,
    "broken": "このPDFファイルは壊れているか、読み取れない形式です。" + TYPE_INSTEAD,
    "no_text": "このPDFには文字の情報がありません(紙をスキャンした画像のPDFなど)。" + TYPE_INSTEAD,
    "too_much": "このPDFはページや内容が多すぎるため読み取りませんでした。「認証キーのお知らせ」のPDFだけを選んでください。",
    "no_pair": "保証契約番号と認証キーが見つかりませんでした。「認証キーのお知らせ」であることをお確かめいただくか、上の欄に入力してください。",
    "too_many_pairs": f"保証契約番号と認証キーの組が多すぎます(一度に{MAX_PAIRS}組まで)。お知らせを分けて読み込んでください。",
    "text_too_long": "貼り付けた文章が長すぎます。保証契約番号と認証キーの部分だけを貼り付けてください。",
}
# The notice's 2 MiB, plus room for the pasted text and the form around it.
LOOKUP_BODY_LIMIT = MAX_NOTICE_BYTES + 512 * 1024


def _lookup_page(*, form=None, notice_form=None, status=200, **context):
    return render("certificates/lookup.html", form=form or LookupForm(formdata=None),
                  notice_form=notice_form or NoticeForm(formdata=None), status=status,
                  max_notice_mb=MAX_NOTICE_BYTES // (1024 * 1024), **context)


def _look_up(pairs, source=None):
    user = current_user
    return look_up_many(pairs, user_id=user.id, actor=user.actor,
                        organisation_id=user.organisation.id,
                        organisation_code=user.organisation.code, hasher=_hasher(),
                        limits=lookup_limits(current_app.config), address=request.remote_addr,
                        source=source)


def _locked_page(result, typed_number: str = ""):
    response = _lookup_page(form=LookupForm(formdata=None, contract_number=typed_number),
                            status=429, locked_until=wareki_datetime_long(result.retry_after),
                            locked_by=result.locked_by)
    response.headers["Retry-After"] = retry_after(result.retry_after)
    return response


def _answer(pair_results, typed_number: str):
    """One pair: open the certificate or say it failed (keeping the number, never the key).
    Several: list them, each with its outcome."""
    if len(pair_results) == 1:
        result = pair_results[0][1]
        if result.found:
            return redirect(url_for(".show", contract_number=result.certificate.contract_number), 303)
        if result.locked:
            return _locked_page(result, typed_number)
        return _lookup_page(form=LookupForm(formdata=None, contract_number=typed_number), failed=True)
    rows = [{"number": pair.contract_number, "outcome": result.outcome,
             "url": url_for(".show", contract_number=pair.contract_number) if result.found else None}
            for pair, result in pair_results]
    return _lookup_page(results=rows, locked_by=next(
        (r.locked_by for _, r in pair_results if r.locked), ()))


def _notice_pairs(form: NoticeForm):
    """(pairs, source) read from the uploaded PDF or else the pasted text."""
    upload = form.chosen_file
    if upload is not None:
        return pairs_in_pdf(upload.read(MAX_NOTICE_BYTES + 1)), "notice_pdf"
    if (form.notice_text.data or "").strip():
        return pairs_in_text(form.notice_text.data), "notice_text"
    return [], None


def _lookup_by_notice():
    form = NoticeForm()
    if not form.validate_on_submit():
        return _lookup_page(notice_form=form, status=400)
    try:
        pairs, source = _notice_pairs(form)
    except UnreadableNotice as exc:
        return _lookup_page(notice_error=NOTICE_MESSAGES[exc.reason],
                            status=413 if exc.reason == "too_large" else 422)
    if not pairs:
        return _lookup_page(notice_error=NOTICE_MESSAGES["nothing"], status=422)
    results = _look_up(pairs, source)
    return _answer(list(zip(pairs, results)), pairs[0].contract_number if len(pairs) == 1 else "")


@bp.route("/lookup", methods=["GET", "POST"])
@accepts_body(LOOKUP_BODY_LIMIT)
@limiter.limit(lambda: current_app.config["LOOKUP_RATE_LIMIT"], key_func=_user_key,
               methods=["POST"])  # coarse; the real limit is in the registry
def lookup():
    if request.method == "POST" and ("notice_text" in request.form or "notice" in request.files):
        return _lookup_by_notice()
    form = LookupForm()
    if not form.validate_on_submit():
        return _lookup_page(form=form)
    pair = NoticePair(form.contract_number.data, form.auth_key.data)
    return _answer([(pair, _look_up([pair])[0])], form.contract_number.data)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(exc):
    """Over the body limit: the lookup page says so (413), with nothing of the upload."""
    if not (current_user.is_authenticated and current_user.role in STAFF_ROLES):
        from .. import ERROR_PAGES  # the app's own page, as for any other 413
        title, message = ERROR_PAGES[413]
        return render_template("errors/error.html", title=title, message=message), 413
    return _lookup_page(notice_error=NOTICE_MESSAGES["too_large"], status=413)


# --- one certificate ------------------------------------------------------------------

def _listed_or_404(contract_number: str) -> History:
    history = listed_history(organisation_id=current_user.organisation.id,
                             contract_number=contract_number)
    if history is None:
        abort(404)  # not yours, not looked up yet, or no such number: all the same
    return history


def _revision_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    number = whole_number(raw, limit=MAX_REVISION + 1)
    if number is None or number > MAX_REVISION:
        abort(404)
    return number


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
            "summary": status.summary, "cancelled": status.cancelled, "restored": status.restored,
            # A cancelled change leaves the guarantee in force: nothing to warn about.
            "badge": {"new": "ok", "change": "warn", "correction": "warn",
                      "change_cancellation": "ok"}[status.kind]}


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
    history = _listed_or_404(contract_number)
    cert = history.certificate
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
    history = _listed_or_404(contract_number)
    cert = history.certificate
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
    import segno  # at first use: a worker that never prints keeps 1 MiB less resident
    return segno.make(url, error="m").svg_data_uri(scale=2, border=1)


@bp.get("/certificates/<contract_number>/print")
def print_view(contract_number: str):
    history = _listed_or_404(contract_number)
    cert = history.certificate
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
    )


def _page_url(args: dict, position: keyset.Position | None) -> str | None:
    """The list at ``position`` with the same filters (None: no such page)."""
    if position is None:
        return None
    if position.after is not None:
        return url_for(".index", **args, after=position.after.token)
    if position.before is not None:
        return url_for(".index", **args, before=position.before.token)
    return url_for(".index", **args, last=1) if position.last else url_for(".index", **args)


def _list_position() -> tuple[keyset.Position, bool]:
    """Where the page starts (after=, before=, last=1) and whether a cursor was bad."""
    return keyset.position(after=request.args.get("after", "")[:64],
                           before=request.args.get("before", "")[:64],
                           last=request.args.get("last") == "1")


@bp.get("/certificates")
def index():
    form, search, queue, args = list_search()
    position, bad_cursor = _list_position()
    page = work_queue.list_page(organisation_id=current_user.organisation.id,
                                user_id=current_user.id, search=search, queue=queue,
                                today=jst_date(utcnow()), position=position)
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
                  export_url=url_for("desk.export", **args), bad_cursor=bad_cursor,
                  window=portfolio.SEARCH_WINDOW, count_cap=portfolio.COUNT_CAP,
                  first_url=_page_url(args, keyset.FIRST) if page.prev else None,
                  last_url=_page_url(args, keyset.Position(last=True)) if page.next else None,
                  prev_url=_page_url(args, page.prev), next_url=_page_url(args, page.next),
                  search_on_url=_page_url(args, page.search_on))
