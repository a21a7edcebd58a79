"""The obligee desk for staff (DESIGN §10): the contract record and its checks on a
certificate's page, the work-queue counts in the menu, the list as CSV, and the import of
a contract register. The rules live in ``registry.contracts``; these views read the
request, call it, and lay out what it returns."""
from __future__ import annotations

import peewee as pw
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_login import current_user

from registry.accounts.users import STAFF_ROLES
from registry.audit.chain import record
from registry.clock import utcnow
from registry.contracts import queue as work_queue
from registry.contracts.records import (CheckRun, actor_label, check_run,
                                        failed_checks_by_certificate, record_contract)
from registry.contracts.register import COLUMNS, MAX_ROWS, import_register
from registry.contracts.rules import TITLES
from registry.contracts.terms import ContractTerms, terms_from_text
from registry.errors import InvalidContract, InvalidInput, NotFound
from registry.certificates.history import STATUS_LABELS
from registry.certificates.presentation import PRODUCT_LABELS, document_of, yen
from registry.certificates.verification import History
from registry.wareki import jst_date, wareki_date, wareki_datetime

from ..forms.desk import ContractForm, RegisterImportForm
from ..login import is_staff, require_role
from ..rendering import render
from ..spreadsheet import csv_download

bp = Blueprint("desk", __name__)
bp.before_request(require_role(*STAFF_ROLES))

MENU_LABELS = {"unseen": "未確認", "failed": "契約と不一致", "ending": "30日以内に満了"}
REGISTER_UPLOAD_LIMIT = 2 * 1024 * 1024


def _today():
    return jst_date(utcnow())


# --- the menu's counts ------------------------------------------------------------------

@bp.app_context_processor
def menu_counts():
    def counts() -> list[dict]:
        """[{queue, label, count, url}], once per request, for staff only."""
        if not (current_user.is_authenticated and is_staff()):
            return []
        if "work_queue" not in g:
            try:
                found = work_queue.counts(organisation_id=current_user.organisation.id,
                                          user_id=current_user.id, today=_today())
            except pw.PeeweeException:
                # An error page about the database must still render: the menu goes
                # without its counts rather than failing a second time.
                g.work_queue = []
                return g.work_queue
            g.work_queue = [{"queue": q, "label": MENU_LABELS[q], "count": n,
                             "url": url_for("certificates.index", queue=q)}
                            for q, _, n in found.items()]
        return g.work_queue
    return {"work_queue": counts}


# --- the contract on a certificate's page ----------------------------------------------

def _form_data(terms: ContractTerms | None) -> dict:
    if terms is None:
        return {}
    return {"contract_amount": f"{terms.contract_amount:,}" if terms.contract_amount else "",
            "contract_date": wareki_date(terms.contract_date) if terms.contract_date else "",
            "period_start": wareki_date(terms.period_start) if terms.period_start else "",
            "period_end": wareki_date(terms.period_end) if terms.period_end else "",
            "work_name": terms.work_name or ""}


def contract_panel(cert, history: History, form: ContractForm | None = None) -> dict:
    """What the certificate page shows of the recorded contract and the checks of the
    current revision against it (whatever revision the page is showing)."""
    organisation_id = current_user.organisation.id
    run: CheckRun = check_run(organisation_id=organisation_id, certificate=cert,
                              document=document_of(history.current.canonical))
    return {
        # What needs a look first, then what is fine, each in the rules' order.
        "checks": run.failed + [c for c in run.checks if c.ok],
        "run": run, "failed": run.failed, "current_number": history.current.number,
        "form": form or ContractForm(formdata=None, data=_form_data(run.terms)),
        "recorded_at": wareki_datetime(run.recorded_at) if run.recorded_at else None,
        "recorded_by": actor_label(run.recorded_by, organisation_id=organisation_id),
    }


@bp.post("/certificates/<contract_number>/contract")
def save_contract(contract_number: str):
    from .certificates import render_certificate_page  # the page this form belongs to
    form = ContractForm()
    if form.validate_on_submit():
        try:
            terms = terms_from_text({name: form[name].data for name in ContractTerms.model_fields})
            recorded = record_contract(
                organisation_id=current_user.organisation.id,
                organisation_code=current_user.organisation.code,
                contract_number=contract_number, terms=terms, actor=current_user.actor,
                source="form")
        except NotFound:
            abort(404)  # not on the organisation's list: as if it did not exist
        except InvalidContract as exc:
            for field, message in exc.japanese:
                (form[field].errors if field in form else form.form_errors).append(message)
        else:
            flash("契約情報を登録し、保証証書と照合しました。" if recorded.changed
                  else "契約情報は登録済みの内容と同じです。", "info")
            return redirect(url_for("certificates.show",
                                    contract_number=recorded.certificate.contract_number,
                                    _anchor="contract"), 303)
    return render_certificate_page(contract_number, contract_form=form, status=422)


# --- the list as CSV ----------------------------------------------------------------------

EXPORT_COLUMNS = ["保証契約番号", "商品", "工事名", "保証契約者", "保証金額", "保証期間の終了",
                  "状態", "最終更新(電子保証発行日)", "未確認", "契約との照合"]


def export_rows(items, failed: dict[int, list[str]]):
    for item in items:
        cert = item.certificate
        if cert.id not in failed:
            checked = "契約情報なし"
        elif failed[cert.id]:
            checked = "不一致: " + "、".join(TITLES[c] for c in failed[cert.id])
        else:
            checked = "一致"
        yield [cert.contract_number, PRODUCT_LABELS.get(cert.product, cert.product),
               cert.work_name, cert.principal_name, yen(cert.guarantee_amount),
               wareki_date(cert.guarantee_period_end) if cert.guarantee_period_end else "",
               STATUS_LABELS.get(cert.current_kind, ""), wareki_date(jst_date(cert.updated_at)),
               {"never": "未読", "newer": "新しい版あり"}.get(item.unseen, ""), checked]


@bp.get("/certificates/export.csv")
def export():
    from .certificates import list_search  # the same filters as the list on screen
    _, search, queue, params = list_search()
    organisation = current_user.organisation
    record("list.exported", actor=current_user.actor, organisation_code=organisation.code,
           details={"filter": params})
    items = work_queue.every_listed(organisation_id=organisation.id, user_id=current_user.id,
                                    search=search, queue=queue, today=_today())
    failed = failed_checks_by_certificate(organisation_id=organisation.id)
    return csv_download(EXPORT_COLUMNS, export_rows(items, failed), "certificates.csv")


# --- the contract register ----------------------------------------------------------------

REGISTER_HEADER = ["保証契約番号", "請負金額", "契約日", "工期(自)", "工期(至)", "工事名"]


@bp.url_value_preprocessor
def allow_a_register_upload(endpoint, values):
    # A register is longer than a form. Set here, not in the view: URL value
    # preprocessors run before every before_request, and CSRF protection (one of those)
    # reads the body.
    if endpoint == "desk.import_contracts":
        request.max_content_length = REGISTER_UPLOAD_LIMIT


@bp.route("/contracts/import", methods=["GET", "POST"])
def import_contracts():
    form = RegisterImportForm()
    report = refused = None
    if form.validate_on_submit():
        try:
            report = import_register(organisation_id=current_user.organisation.id,
                                     organisation_code=current_user.organisation.code,
                                     data=form.register.data.read(), actor=current_user.actor)
        except InvalidInput as exc:
            refused = exc.detail
    status = 422 if refused or (form.errors and request.method == "POST") else 200
    return render("desk/import.html", form=form, report=report, refused=refused, status=status,
                  header=REGISTER_HEADER, max_rows=MAX_ROWS,
                  variants=sorted({k for k in COLUMNS if not k.isascii()}))


@bp.get("/contracts/register-template.csv")
def register_template():
    return csv_download(REGISTER_HEADER, [], "contract-register.csv")
