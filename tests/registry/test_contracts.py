"""The obligee desk in the registry (DESIGN §10): recording a contract, the checks kept
current when a revision arrives, the work queue, the register import, and a lookup by
an obligee's own system. No Flask; both databases."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from registry.certificates import ingest, portfolio
from registry.accounts.users import add_user
from registry.contracts import queue
from registry.contracts.models import ObligeeContract
from registry.contracts.records import check_run, record_contract
from registry.contracts.register import import_register, read_register
from registry.contracts.terms import ContractTerms
from registry.errors import InvalidInput, NotFound
from registry.certificates.lookup import LookupLimits, look_up
from registry.models import AuditEvent, Certificate
from registry.accounts.organisations import add_api_client
from registry.accounts.throttle import Failure
from tests.factories import KAKUDA, SHIRAKO, FixedClock, World, make_document, next_revision

PASSWORD = "correct horse battery staple"
CONTRACT = "30001-000002"
FULL = ContractTerms(contract_amount=50_000_000, contract_date=dt.date(2026, 3, 25),
                     period_start=dt.date(2026, 4, 1), period_end=dt.date(2026, 12, 25),
                     work_name="市道角田線舗装補修工事")


@pytest.fixture
def world(registry_db):
    return World()


def post(world, hasher, doc, at=None):
    return ingest.accept_revision(client=world.client, contract_number=doc["contract_number"],
                                  number=doc["revision"], body=world.signed(doc), hasher=hasher,
                                  **({"clock": lambda: at} if at else {}))


def contract_guarantee(amount=5_000_000, **overrides):
    return make_document(contract_number=CONTRACT, product="contract", deposit_bank=...,
                         guarantee_amount=amount, **overrides)


@pytest.fixture
def kakuda(world):
    return add_user(org_code=KAKUDA, email="a@kakuda.example.jp", role="staff", password=PASSWORD)


@pytest.fixture
def listed(world, hasher, kakuda):
    """The 契約保証 30001-000002 (5,000,000円) on 角田市's list."""
    cert = post(world, hasher, contract_guarantee()).certificate
    portfolio.add_to_list(organisation_id=kakuda.organisation_id, certificate_id=cert.id,
                          user_id=kakuda.id)
    return cert


def record(user, terms=FULL, number=CONTRACT, source="form"):
    return record_contract(organisation_id=user.organisation_id,
                           organisation_code=user.organisation.code, contract_number=number,
                           terms=terms, actor=f"user:{user.id}", source=source)


def events(kind):
    return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


def failed_ids(user, cert):
    return [c.id for c in check_run(organisation_id=user.organisation_id,
                                    certificate=Certificate.get_by_id(cert.id)).failed]


# --- recording ------------------------------------------------------------------------

def test_recording_a_contract_runs_the_checks_and_is_audited(listed, kakuda):
    result = record(kakuda)
    assert result.changed and result.run.failed == []
    assert [c.id for c in result.run.checks] == [
        "contract_amount_matches", "work_period_matches", "contract_date_matches",
        "work_name_matches", "guarantee_covers_work_period", "contract_guarantee_at_least_tenth"]
    [event] = events("contract.recorded")
    details = json.loads(event.details)
    assert event.contract_number == CONTRACT and event.actor == f"user:{kakuda.id}"
    assert details["contract"]["contract_amount"] == 50_000_000 and details["source"] == "form"
    assert details["failed_checks"] == []


def test_recording_the_same_terms_again_writes_nothing(listed, kakuda):
    record(kakuda)
    again = record(kakuda)
    assert not again.changed and len(events("contract.recorded")) == 1


def test_a_new_record_replaces_the_old_one(listed, kakuda):
    record(kakuda)
    record(kakuda, ContractTerms(contract_amount=60_000_000))
    [row] = ObligeeContract.select()
    assert row.contract_amount == 60_000_000 and row.work_name is None
    assert failed_ids(kakuda, listed) == ["contract_amount_matches",
                                          "contract_guarantee_at_least_tenth"]
    assert json.loads(events("contract.recorded")[-1].details)["replaced"] is True


def test_no_contract_for_a_certificate_not_on_the_list(world, hasher, kakuda):
    post(world, hasher, contract_guarantee())  # 角田市's, but nobody looked it up yet
    with pytest.raises(NotFound):
        record(kakuda)
    assert ObligeeContract.select().count() == 0 and events("contract.recorded") == []


def test_no_contract_for_another_organisations_certificate(listed, world):
    shirako = add_user(org_code=SHIRAKO, email="a@shirako.example.jp", role="staff",
                       password=PASSWORD)
    # Even a listing row would not do: 白子町 is not the obligee.
    portfolio.add_to_list(organisation_id=shirako.organisation_id, certificate_id=listed.id,
                          user_id=shirako.id)
    with pytest.raises(NotFound):
        record(shirako)
    assert ObligeeContract.select().count() == 0


def test_without_a_record_there_are_no_checks(listed, kakuda):
    run = check_run(organisation_id=kakuda.organisation_id, certificate=listed)
    assert run.terms is None and run.checks == []


# --- a new revision: the done-when of issue 10 -----------------------------------------

def test_a_change_to_one_yen_short_of_a_tenth_fails_the_check_and_the_queue_counts_it(
        world, hasher, listed, kakuda):
    record(kakuda, ContractTerms(contract_amount=50_000_000))
    today = dt.date(2026, 4, 1)
    assert failed_ids(kakuda, listed) == []
    assert queue.counts(organisation_id=kakuda.organisation_id, user_id=kakuda.id,
                        today=today).failed == 0

    post(world, hasher, next_revision(contract_guarantee(), "change", guarantee_amount=4_999_999))

    assert failed_ids(kakuda, listed) == ["contract_guarantee_at_least_tenth"]
    row = ObligeeContract.get()
    assert (row.checked_revision, row.failed_checks) == (2, "contract_guarantee_at_least_tenth")
    assert queue.counts(organisation_id=kakuda.organisation_id, user_id=kakuda.id,
                        today=today).failed == 1


def test_a_change_cancellation_brings_the_passing_check_back(world, hasher, listed, kakuda):
    record(kakuda, ContractTerms(contract_amount=50_000_000))
    first = contract_guarantee()
    change = next_revision(first, "change", guarantee_amount=4_999_999)
    post(world, hasher, change)
    cancel = next_revision(change, "change_cancellation", supersedes=2, guarantee_amount=5_000_000)
    post(world, hasher, cancel)
    assert failed_ids(kakuda, listed) == []
    assert ObligeeContract.get().failed_checks == ""


# --- the work queue -------------------------------------------------------------------

def test_the_queue_counts_unseen_failed_and_ending_and_filters_the_list_alike(world, hasher, kakuda):
    clock = FixedClock(dt.datetime(2026, 12, 1, 0, 0))
    numbers = {}
    # ends 2026-12-25: within 30 days of 2026-12-01; 2027-03-31 is not; 2026-11-30 has ended.
    for i, end in enumerate(["2026-12-25", "2027-03-31", "2026-11-30", "2026-12-31"], start=1):
        number = f"30001-00001{i}"
        doc = make_document(contract_number=number, guarantee_period={"start": "2026-04-01", "end": end})
        cert = post(world, hasher, doc).certificate
        portfolio.add_to_list(organisation_id=kakuda.organisation_id, certificate_id=cert.id,
                              user_id=kakuda.id)
        numbers[end] = cert
    # Read one of them; record a contract that the 2027 one fails.
    portfolio.record_view(user_id=kakuda.id, actor="t", organisation_code=KAKUDA,
                          certificate=numbers["2026-12-25"], view="page", revisions=[1])
    record(kakuda, ContractTerms(contract_amount=40_000_000), number=numbers["2027-03-31"].contract_number)

    today = dt.date(2026, 12, 1)
    counts = queue.counts(organisation_id=kakuda.organisation_id, user_id=kakuda.id, today=today)
    assert (counts.unseen, counts.failed, counts.ending) == (3, 1, 2)

    def filtered(name):
        restrict = queue.condition(name, organisation_id=kakuda.organisation_id,
                                   user_id=kakuda.id, today=today)
        page = portfolio.list_page(organisation_id=kakuda.organisation_id, user_id=kakuda.id,
                                   restrict=restrict)
        assert page.total == getattr(counts, name)
        return {item.certificate.guarantee_period_end.isoformat() for item in page.items}

    assert filtered("ending") == {"2026-12-25", "2026-12-31"}
    assert filtered("failed") == {"2027-03-31"}
    assert filtered("unseen") == {"2027-03-31", "2026-11-30", "2026-12-31"}
    del clock


@pytest.mark.parametrize("sorted_at_most", [5000, 0])
def test_the_ending_queue_lists_the_same_read_either_way(world, hasher, kakuda, monkeypatch,
                                                         sorted_at_most):
    """Few ending soon: read from the end-date index and sorted; many: the list order
    walked. The page is the same."""
    monkeypatch.setattr(queue, "ENDING_SORTED_AT_MOST", sorted_at_most)
    for i, end in enumerate(["2026-12-25", "2027-03-31", "2026-12-02"], start=1):
        doc = make_document(contract_number=f"30001-00002{i}",
                            guarantee_period={"start": "2026-04-01", "end": end})
        cert = post(world, hasher, doc).certificate
        portfolio.add_to_list(organisation_id=kakuda.organisation_id, certificate_id=cert.id,
                              user_id=kakuda.id)
    page = queue.list_page(organisation_id=kakuda.organisation_id, user_id=kakuda.id,
                           search=portfolio.Search(), queue="ending", today=dt.date(2026, 12, 1))
    assert [item.certificate.contract_number for item in page.items] == ["30001-000023", "30001-000021"]
    assert page.total == 2


def test_a_newer_revision_makes_a_read_certificate_unseen_again(world, hasher, listed, kakuda):
    portfolio.record_view(user_id=kakuda.id, actor="t", organisation_code=KAKUDA,
                          certificate=listed, view="page", revisions=[1])

    def unseen():
        return queue.counts(organisation_id=kakuda.organisation_id, user_id=kakuda.id,
                            today=dt.date(2026, 4, 1)).unseen

    assert unseen() == 0
    post(world, hasher, next_revision(contract_guarantee(), "change", guarantee_amount=6_000_000))
    assert unseen() == 1


def test_the_queue_counts_only_the_organisations_own_list(world, hasher, listed, kakuda):
    shirako = add_user(org_code=SHIRAKO, email="a@shirako.example.jp", role="staff",
                       password=PASSWORD)
    counts = queue.counts(organisation_id=shirako.organisation_id, user_id=shirako.id,
                          today=dt.date(2026, 12, 1))
    assert (counts.unseen, counts.failed, counts.ending) == (0, 0, 0)


# --- the register import --------------------------------------------------------------

HEADER = "保証契約番号,請負金額,契約日,工期(自),工期(至),工事名\r\n"


def test_a_register_in_shift_jis_with_wareki_and_full_width_figures_imports(listed, kakuda):
    text = HEADER + "３０００１－０００００２,\"５０，０００，０００\",令和8年3月25日,R8.4.1,2026/12/25,市道角田線　舗装補修工事\r\n"
    progress = []
    report = import_register(organisation_id=kakuda.organisation_id, organisation_code=KAKUDA,
                             data=text.encode("cp932"), actor=f"user:{kakuda.id}",
                             progress=lambda done, total: progress.append((done, total)))
    assert (report.rows, report.recorded, report.errors) == (1, 1, [])
    assert progress == [(1, 1)]
    row = ObligeeContract.get()
    assert (row.contract_amount, row.period_start) == (50_000_000, dt.date(2026, 4, 1))
    assert failed_ids(kakuda, listed) == []
    [summary] = events("contract.register_imported")
    assert json.loads(summary.details) == {"rows": 1, "recorded": 1, "unchanged": 0, "rows_refused": 0}


def test_bad_rows_are_reported_by_row_and_store_nothing_while_good_rows_are_recorded(
        world, hasher, listed, kakuda):
    unlisted = post(world, hasher, make_document(contract_number="30001-000009")).certificate
    text = (HEADER
            + "30001-000002,50000000,2026-03-25,2026-04-01,2026-12-25,市道角田線舗装補修工事\r\n"
            + "30001-000009,50000000,,,,\r\n"                      # not on the list
            + "30001-00000X,50000000,,,,\r\n"                      # not a number
            + "30001-000002,五千万,,,,\r\n"                        # amount, and a duplicate
            + ",,,,,\r\n")                                         # Excel's trailing blank row
    report = import_register(organisation_id=kakuda.organisation_id, organisation_code=KAKUDA,
                             data=("\ufeff" + text).encode("utf-8"), actor=f"user:{kakuda.id}")
    assert report.rows == 4 and report.recorded == 0
    by_row = {}
    for row, _, message in report.errors:
        by_row.setdefault(row, []).append(message)
    assert sorted(by_row) == [2, 3, 4, 5]
    assert any("5行目にも" in m for m in by_row[2])           # the duplicate spoils both rows
    assert any("保証証書一覧にありません" in m for m in by_row[3])
    assert any("保証契約番号が読み取れません" in m for m in by_row[4])
    assert any(m.startswith("請負金額: ") for m in by_row[5])
    assert ObligeeContract.select().count() == 0 and events("contract.recorded") == []
    assert unlisted.id  # it exists: refused for not being listed, not for being unknown


def test_a_good_row_is_recorded_even_when_others_are_bad(listed, kakuda):
    text = HEADER + "30001-000002,50000000,,,,\r\n30001-000003,abc,,,,\r\n"
    report = import_register(organisation_id=kakuda.organisation_id, organisation_code=KAKUDA,
                             data=text.encode(), actor=f"user:{kakuda.id}")
    assert report.recorded == 1 and [r for r, _, _ in report.errors] == [3]
    assert ObligeeContract.get().contract_amount == 50_000_000


def test_reimporting_the_same_register_changes_nothing(listed, kakuda):
    data = (HEADER + "30001-000002,50000000,,,,\r\n").encode()
    for _ in range(2):
        report = import_register(organisation_id=kakuda.organisation_id, organisation_code=KAKUDA,
                                 data=data, actor=f"user:{kakuda.id}")
    assert (report.recorded, report.unchanged) == (0, 1)
    assert len(events("contract.recorded")) == 1


@pytest.mark.parametrize("data,message", [
    (b"", "空です"),
    ("請負金額,工事名\r\n1,x\r\n".encode(), "保証契約番号"),
    ("保証契約番号,備考\r\n30001-000002,x\r\n".encode(), "契約情報の列見出し"),
    (b"\x81", "文字コード"),
])
def test_a_file_that_is_not_a_register_is_refused_whole(registry_db, data, message):
    with pytest.raises(InvalidInput, match=message):
        read_register(data)


def test_header_variants_and_english_names_are_understood(registry_db):
    rows = read_register("contract_number,請負代金額,契約締結日,着工日,完成期限,工事件名\n"
                         "30001-000002,1,2026-03-25,2026-04-01,2026-12-25,x\n".encode())
    assert rows[0].errors == () and rows[0].terms.period_end == dt.date(2026, 12, 25)


# --- an obligee's system looks a certificate up ----------------------------------------

def test_an_obligee_client_looks_up_counted_per_client_and_adds_to_the_list(world, hasher, kakuda):
    key = post(world, hasher, contract_guarantee()).auth_key
    client, _ = add_api_client(org_code=KAKUDA, name="角田市 契約システム")
    limits = LookupLimits(failures=2, failures_per_address=None)

    def attempt(auth_key):
        return look_up(client_id=client.id, actor=f"api-client:{client.id}",
                       organisation_id=client.organisation_id, organisation_code=KAKUDA,
                       contract_number=CONTRACT, auth_key=auth_key, hasher=hasher, limits=limits)

    assert attempt("ABCDEFGHJKMN").outcome == "failed"
    assert {f.subject for f in Failure.select()} == {f"api-client:{client.id}", f"contract:{CONTRACT}"}
    found = attempt(key)
    assert found.found
    listing = portfolio.OrganisationCertificate.get()
    assert (listing.added_by_id, listing.added_by_client_id) == (None, client.id)
    assert events("lookup.succeeded")[0].actor == f"api-client:{client.id}"
    assert attempt("ABCDEFGHJKMN").outcome == "failed"
    assert attempt("ABCDEFGHJKMN").outcome == "locked"
    assert attempt(key).outcome == "locked"  # the limit holds for the right key too
