"""The organisation's list, who may open a certificate, what each user has seen, and
the three-part verification. No Flask."""
import datetime as dt
import json

import pytest

from registry.certificates import ingest, keyset, portfolio
from registry.accounts.users import add_user
from registry.models import AuditEvent, Certificate, Revision
from registry.certificates.verification import history_of, verify_revision
from tests.factories import KAKUDA, SHIRAKO, World, make_document, next_revision, vector

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(registry_db):
    return World()


def post(world, hasher, doc, at=None):
    return ingest.accept_revision(client=world.client, contract_number=doc["contract_number"],
                                  number=doc["revision"], body=world.signed(doc), hasher=hasher,
                                  **({"clock": lambda: at} if at else {}))


def staff(email, code=KAKUDA):
    return add_user(org_code=code, email=email, role="staff", password=PASSWORD)


def listed(user, number):
    return portfolio.listed_certificate(organisation_id=user.organisation.id, contract_number=number)


def test_only_the_obligee_may_open_and_only_after_it_was_added(world, hasher):
    cert = post(world, hasher, make_document()).certificate
    kakuda, shirako = staff("a@kakuda.example.jp"), staff("a@shirako.example.jp", SHIRAKO)
    assert listed(kakuda, "30001-000001") is None
    assert portfolio.add_to_list(organisation_id=kakuda.organisation.id, certificate_id=cert.id,
                                 user_id=kakuda.id)
    assert not portfolio.add_to_list(organisation_id=kakuda.organisation.id,
                                     certificate_id=cert.id, user_id=kakuda.id)
    assert listed(kakuda, "30001-000001").id == cert.id
    assert listed(kakuda, "３０００１０００００１").id == cert.id
    assert listed(kakuda, "not a number") is None
    # Even a listing row for another organisation would not open it: it is not the obligee.
    portfolio.add_to_list(organisation_id=shirako.organisation.id, certificate_id=cert.id,
                          user_id=shirako.id)
    assert listed(shirako, "30001-000001") is None


def test_views_are_audited_and_remember_the_newest_revision_seen(world, hasher):
    first = make_document()
    cert = post(world, hasher, first).certificate
    user = staff("a@kakuda.example.jp")
    portfolio.add_to_list(organisation_id=user.organisation.id, certificate_id=cert.id, user_id=user.id)

    def unseen():
        [item] = portfolio.list_page(organisation_id=user.organisation.id, user_id=user.id).items
        return item.unseen

    assert unseen() == "never"
    portfolio.record_view(user_id=user.id, actor=f"user:{user.id}", organisation_code=KAKUDA,
                          certificate=Certificate.get_by_id(cert.id), view="page", revisions=[1])
    assert unseen() is None
    post(world, hasher, next_revision(first, "change", guarantee_amount=24_000_000))
    assert unseen() == "newer"
    assert portfolio.seen_revision(user_id=user.id, certificate_id=cert.id) == 1
    portfolio.record_view(user_id=user.id, actor=f"user:{user.id}", organisation_code=KAKUDA,
                          certificate=Certificate.get_by_id(cert.id), view="print", revisions=[2])
    assert unseen() is None
    assert portfolio.seen_revision(user_id=user.id, certificate_id=cert.id) == 2
    viewed = list(AuditEvent.select().where(AuditEvent.kind == "certificate.viewed")
                  .order_by(AuditEvent.seq))
    assert [json.loads(e.details) for e in viewed] == [
        {"view": "page", "revisions": [1]}, {"view": "print", "revisions": [2]}]
    assert {(e.organisation_code, e.contract_number, e.actor) for e in viewed} == {
        (KAKUDA, "30001-000001", f"user:{user.id}")}
    with pytest.raises(ValueError):
        portfolio.record_view(user_id=user.id, actor="x", organisation_code=KAKUDA,
                              certificate=cert, view="download", revisions=[1])


@pytest.fixture
def many(world, hasher):
    """30 certificates on 角田市's list, arriving a day apart; every third a contract guarantee."""
    user = staff("a@kakuda.example.jp")
    start = dt.datetime(2026, 4, 1, 1, 0)
    for i in range(30):
        product = "contract" if i % 3 == 0 else "advance_payment"
        doc = make_document(contract_number=f"40001-{i:06d}", product=product,
                            work__name=f"工事{i:02d}号 {'舗装' if i % 2 else '橋梁'}補修",
                            principal__name=f"建設{i:02d}株式会社",
                            **({"deposit_bank": ...} if product == "contract" else {}))
        cert = post(world, hasher, doc, at=start + dt.timedelta(days=i)).certificate
        portfolio.add_to_list(organisation_id=user.organisation.id, certificate_id=cert.id,
                              user_id=user.id)
    other = post(world, hasher, make_document(contract_number="49999-000001", obligee__code=SHIRAKO)).certificate
    portfolio.add_to_list(organisation_id=staff("a@shirako.example.jp", SHIRAKO).organisation.id,
                          certificate_id=other.id, user_id=user.id)
    return user


def numbers(user, position=keyset.FIRST, **search):
    page = portfolio.list_page(organisation_id=user.organisation.id, user_id=user.id,
                               search=portfolio.Search(**search), position=position)
    return [item.certificate.contract_number for item in page.items], page


def test_the_list_is_newest_first_and_paged_by_25(many):
    first, page = numbers(many)
    assert page.total == 30 and len(first) == 25 and page.prev is None
    assert first[0] == "40001-000029" and first[-1] == "40001-000005"
    second, page2 = numbers(many, page.next)
    assert second == [f"40001-{i:06d}" for i in range(4, -1, -1)]
    assert page2.next is None and page2.prev.before == page2.items[0].cursor
    back, page1 = numbers(many, page2.prev)
    assert back == first and page1.prev is None and page1.next == page.next
    # The last page is the oldest 25; from there the first page is what is left.
    last, page_last = numbers(many, keyset.Position(last=True))
    assert last == [f"40001-{i:06d}" for i in range(24, -1, -1)] and page_last.next is None
    assert numbers(many, page_last.prev)[0] == first[:5]
    assert "49999-000001" not in first + second  # another organisation's list


def test_the_list_is_searchable(many):
    assert numbers(many, text="工事07号")[0] == ["40001-000007"]
    assert numbers(many, text="建設12")[0] == ["40001-000012"]
    assert numbers(many, text="40001-000013")[0] == ["40001-000013"]
    assert numbers(many, text="４０００１００００１３")[0] == ["40001-000013"]  # full width, no hyphen
    assert numbers(many, text="4000100001")[1].total == 10  # part of a number without hyphen
    assert numbers(many, text="舗装 工事1")[1].total == 5      # all words: 11, 13, 15, 17, 19
    assert numbers(many, text="100%")[1].total == 0           # wildcards are literal
    assert numbers(many, product="contract")[1].total == 10
    # Dates are Japanese days: arrivals are 10:00 JST on 4/1, 4/2, …
    by_day = numbers(many, date_from=dt.date(2026, 4, 3), date_to=dt.date(2026, 4, 5))[0]
    assert by_day == ["40001-000004", "40001-000003", "40001-000002"]
    assert numbers(many, date_field="issued", date_from=dt.date(2026, 4, 30))[0] == ["40001-000029"]


def _load_vectors(world, hasher, names):
    for name in names:
        body = vector(name, world.key.key_id)
        doc = body["document"]
        ingest.accept_revision(client=world.client, contract_number=doc["contract_number"],
                               number=doc["revision"], body=body, hasher=hasher)
    return Certificate.get(Certificate.contract_number == "10001-000001")


def test_a_change_cancelled_history_hides_the_change_and_its_correction(world, hasher):
    cert = _load_vectors(world, hasher, ["01-advance-new", "02-advance-change",
                                         "03-advance-correction", "04-advance-change-cancellation"])
    history = history_of(cert)
    assert [r.number for r in history.visible] == [1, 4]
    assert history.hidden == {2: 3, 3: 4}
    assert history.visible_revision(2) is None and history.visible_revision(3) is None
    assert history.visible_revision(None).number == 4
    assert history.status.label == "有効(変更取消)" and history.status.revision == 4
    # Not "cancelled" as if void: what is current, and which change was withdrawn.
    assert history.status.summary == "現行: 第1版の内容(第2版の変更は取り消されました)"
    verification = verify_revision(cert, history.current)
    assert verification.intact and verification.issuer_matches
    assert verification.fingerprint == world.key.fingerprint
    assert verification.surety_name == "東日本建設業保証株式会社"


def test_a_stored_revision_that_does_not_verify_is_reported(world, hasher):
    cert = _load_vectors(world, hasher, ["01-advance-new"])
    good = Revision.get(Revision.certificate == cert)
    # Revisions are insert-only, so forge a second one next to it rather than edit.
    forged = Revision.create(certificate=cert, number=2, kind="change", supersedes=None,
                             canonical=bytes(good.canonical).replace(b"50000000", b"90000000"),
                             signature=bytes(good.signature), signing_key=good.signing_key,
                             arrived_at=good.arrived_at)
    history = history_of(cert)
    bad = verify_revision(cert, history.visible_revision(forged.number))
    assert not bad.signature_valid and not bad.intact
    assert verify_revision(cert, history.visible_revision(1)).intact
