"""Issuing the notice to the surety, and looking up every pair a notice holds: the same
limits, the same audit, nothing of the key kept. No Flask."""
from __future__ import annotations

import datetime as dt
import io
import json
import os

import pytest
from pypdf import PdfReader

from registry.certificates import ingest, portfolio
from registry.accounts.users import add_user
from registry.errors import LookupLocked, NotFound
from registry.certificates.lookup import LookupLimits, look_up_many
from registry.models import AuditEvent
from registry.notices.issuing import issue_notice, notice_content
from registry.notices.pdf import DEFAULT_FONT, NoticeFontMissing
from registry.notices.reading import NoticePair, pairs_in_pdf
from registry.accounts.throttle import Failure
from tests.factories import KAKUDA, SHIRAKO, FixedClock, World, make_document, sign

LIMITS = LookupLimits(failures=3, window=dt.timedelta(minutes=15), failures_per_address=None)
needs_font = pytest.mark.skipif(not os.path.isfile(DEFAULT_FONT),
                                reason="fonts-ipaexfont-gothic is not installed")


@pytest.fixture
def world(registry_db):
    return World()


@pytest.fixture
def keys(world, hasher):
    """30001-000001 (EJCS, to 角田市), 30001-000002 (EJCS, JV, to 角田市),
    30001-000003 (WJCS, to 白子町): their auth keys."""
    made = {}
    docs = [(world.client, world.signed(make_document(contract_number="30001-000001"))),
            (world.client, world.signed(make_document(
                contract_number="30001-000002", product="contract", deposit_bank=...,
                principal__name="角田・仙南特定建設工事共同企業体",
                principal__jv_name="角田・仙南特定建設工事共同企業体",
                principal__representative="代表者 角田建設株式会社 代表取締役 山田 一郎",
                principal__jv_members=["角田建設株式会社", "仙南工業株式会社"]))),
            (world.other_client, sign(make_document(contract_number="30001-000003",
                                                    obligee__code=SHIRAKO,
                                                    surety__code="WJCS"),
                                      world.other_key.key_id, world.other_private_key))]
    for client, body in docs:
        number = body["document"]["contract_number"]
        made[number] = ingest.accept_revision(client=client, contract_number=number, number=1,
                                              body=body, hasher=hasher).auth_key
    return made


def issue(world, number, key, hasher, client=None, **kwargs):
    return issue_notice(client=client or world.client, contract_number=number, auth_key=key,
                        hasher=hasher, portal_url="https://portal.example.jp/", limits=LIMITS,
                        clock=FixedClock(), **kwargs)


def events(kind):
    return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


def audit_text() -> str:
    return " ".join(f"{e.details} {e.contract_number}" for e in AuditEvent.select())


@needs_font
def test_the_surety_gets_a_notice_that_reads_back_and_nothing_is_kept(world, keys, hasher):
    pdf = issue(world, "30001-000001", keys["30001-000001"], hasher)
    [page] = PdfReader(io.BytesIO(pdf)).pages                       # one page,
    assert (round(page.mediabox.width / 72 * 25.4), round(page.mediabox.height / 72 * 25.4)) == (210, 297)  # A4
    assert pairs_in_pdf(pdf) == [NoticePair("30001-000001", keys["30001-000001"])]
    [event] = events("notice.issued")
    assert event.contract_number == "30001-000001" and json.loads(event.details) == {"revision": 1}
    assert keys["30001-000001"] not in audit_text()
    assert Failure.select().count() == 0


def test_the_notice_says_what_the_seed_notice_says(world, keys, hasher):
    jv = notice_content(_cert("30001-000002"), keys["30001-000002"],
                        portal_url="https://portal.example.jp/", clock=FixedClock())
    assert jv.principal_lines == ("角田・仙南特定建設工事共同企業体",
                                  "代表者 角田建設株式会社 代表取締役 山田 一郎")
    assert jv.product_label == "契約保証" and jv.work_name == "市道角田線舗装補修工事"
    assert jv.surety_lines == ("東日本建設業保証株式会社", "取扱箇所 宮城支店", "TEL 022-262-8531")
    assert jv.lookup_url == f"https://portal.example.jp/lookup#n=30001-000002&k={keys['30001-000002']}"
    assert jv.dated == "令和8年4月1日"
    single = notice_content(_cert("30001-000001"), keys["30001-000001"],
                            portal_url="https://portal.example.jp", clock=FixedClock())
    assert single.principal_lines == ("角田建設株式会社",) and single.product_label == "前払金保証"


def _cert(number):
    from registry.models import Certificate
    return Certificate.get(Certificate.contract_number == number)


@pytest.mark.parametrize("case", ["wrong key", "unknown number", "another surety's number",
                                  "malformed number"])
def test_every_miss_is_the_same_refusal_counted_and_audited(world, keys, hasher, case):
    number, key = {"wrong key": ("30001-000001", keys["30001-000002"]),
                   "unknown number": ("39999-999999", keys["30001-000001"]),
                   "another surety's number": ("30001-000003", keys["30001-000003"]),
                   "malformed number": ("3000", keys["30001-000001"])}[case]
    with pytest.raises(NotFound) as refused:
        issue(world, number, key, hasher)
    assert str(refused.value) == "No certificate of yours has that contract number and auth key."
    [event] = events("notice.refused")
    assert json.loads(event.details)["reason"] in ("wrong_key", "unknown_number", "other_surety",
                                                   "malformed_number")
    assert Failure.select().where(Failure.subject == f"api-client:{world.client.id}").count() == 1
    assert key not in audit_text()
    assert not events("notice.issued")


def test_guessing_through_the_notice_locks_the_number_for_the_obligee_too(world, keys, hasher):
    for _ in range(LIMITS.failures):
        with pytest.raises(NotFound):
            issue(world, "30001-000003", "WRNGKEYX2345", hasher)
    with pytest.raises(LookupLocked) as locked:
        issue(world, "30001-000003", keys["30001-000003"], hasher, client=world.other_client)
    assert locked.value.until is not None
    assert events("notice.locked")
    clerk = add_user(org_code=SHIRAKO, email="a@shirako.example.jp", role="staff", password="correct horse battery staple")
    [result] = look_up_many([NoticePair("30001-000003", keys["30001-000003"])], user_id=clerk.id,
                            actor="user:x", organisation_id=clerk.organisation.id,
                            organisation_code=SHIRAKO, hasher=hasher, limits=LIMITS,
                            clock=FixedClock())
    assert result.locked and result.locked_by == ("contract",)


def test_without_its_font_the_notice_is_refused_before_anything_is_counted(world, keys, hasher):
    with pytest.raises(NoticeFontMissing, match="fonts-ipaexfont-gothic"):
        issue(world, "30001-000001", keys["30001-000001"], hasher, font_path="/nonexistent/font.ttf")
    assert Failure.select().count() == 0 and not events("notice.refused")


def test_each_pair_of_a_notice_is_looked_up_as_if_typed(world, keys, hasher):
    clerk = add_user(org_code=KAKUDA, email="a@kakuda.example.jp", role="staff", password="correct horse battery staple")
    pairs = [NoticePair("30001-000001", keys["30001-000001"]),
             NoticePair("30001-000002", keys["30001-000002"]),
             NoticePair("30001-000003", keys["30001-000003"])]  # 白子町's: not for 角田市
    results = look_up_many(pairs, user_id=clerk.id, actor=f"user:{clerk.id}",
                           organisation_id=clerk.organisation.id, organisation_code=KAKUDA,
                           hasher=hasher, limits=LIMITS, source="notice_pdf", clock=FixedClock())
    assert [r.outcome for r in results] == ["found", "found", "failed"]
    for number in ("30001-000001", "30001-000002"):
        assert portfolio.listed_certificate(organisation_id=clerk.organisation.id,
                                            contract_number=number) is not None
    assert [json.loads(e.details)["source"] for e in events("lookup.succeeded")] == ["notice_pdf"] * 2
    [failed] = events("lookup.failed")
    assert json.loads(failed.details) == {"reason": "other_obligee", "source": "notice_pdf"}


def test_once_the_account_is_locked_the_remaining_pairs_are_not_tried(world, keys, hasher):
    clerk = add_user(org_code=KAKUDA, email="a@kakuda.example.jp", role="staff", password="correct horse battery staple")
    wrong = [NoticePair(f"39999-00000{i}", "WRNGKEYX2345") for i in range(LIMITS.failures)]
    results = look_up_many(wrong + [NoticePair("30001-000001", keys["30001-000001"])],
                           user_id=clerk.id, actor=f"user:{clerk.id}",
                           organisation_id=clerk.organisation.id, organisation_code=KAKUDA,
                           hasher=hasher, limits=LIMITS, clock=FixedClock())
    assert [r.outcome for r in results] == ["failed"] * LIMITS.failures + ["locked"]
    assert results[-1].locked_by == ("user",)
    assert len(events("lookup.locked")) == 1
