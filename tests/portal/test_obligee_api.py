"""The obligee API (DESIGN §10) through HTTP, on both databases. Every request goes
through ``call``, which also holds the answer to the OpenAPI document."""
from __future__ import annotations

import json
import types

import pytest

from registry.contracts.models import ObligeeContract
from registry.models import AuditEvent
from registry.accounts.organisations import add_api_client
from registry.certificates.portfolio import OrganisationCertificate
from tests.factories import KAKUDA, SHIRAKO, World, make_document, next_revision
from tests.portal.test_api import PREFIX, assert_problem, call, events, put

NUMBER = "30001-000002"
WRONG_KEY = "ABCDEFGHJKMN"


def contract_guarantee(**overrides) -> dict:
    return make_document(contract_number=NUMBER, product="contract", deposit_bank=...,
                         guarantee_amount=5_000_000, **overrides)


@pytest.fixture
def world(app):
    with app.app_context():
        world = World()
        _, world.kakuda = add_api_client(org_code=KAKUDA, name="角田市 電子契約システム")
        _, world.shirako = add_api_client(org_code=SHIRAKO, name="白子町 財務会計システム")
    return world


@pytest.fixture
def posted(client, world):
    """The 契約保証 30001-000002 to 角田市 (5,000,000円 of 50,000,000円) and its auth key."""
    first = contract_guarantee()
    response = put(client, world.token, world.signed(first))
    return types.SimpleNamespace(first=first, key=response.get_json()["auth_key"])


def lookup(client, token, number=NUMBER, key=None, **extra):
    return call(client, "POST", f"{PREFIX}/lookups", token=token,
                json={"contract_number": number, "auth_key": key, **extra})


def record_contract(client, token, body, number=NUMBER):
    return call(client, "PUT", f"{PREFIX}/obligee/certificates/{number}/contract", token=token,
                json=body)


def get_listed(client, token, number=NUMBER):
    return call(client, "GET", f"{PREFIX}/obligee/certificates/{number}", token=token)


def checks_by_id(body: dict) -> dict:
    return {c["id"]: c for c in body["checks"]}


# --- done when: the lookup ----------------------------------------------------------

def test_an_obligee_lookup_returns_the_certificate_with_verification_and_checks(client, world, posted):
    response = lookup(client, world.kakuda, "３０００１－０００００２", posted.key)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["contract_number"] == NUMBER
    assert body["document"] == posted.first
    assert [(h["number"], h["kind"]) for h in body["history"]] == [(1, "new")]
    assert body["verification"]["integrity"] == {"ok": True, "signature_valid": True, "canonical": True}
    assert body["verification"]["issuer"]["ok"] and body["verification"]["issuer"]["surety_code"] == "EJCS"
    assert body["verification"]["status"]["kind"] == "new"
    assert body["contract"] is None and body["checks"] == []   # nothing recorded: nothing checked
    [succeeded] = events("lookup.succeeded")
    assert succeeded.actor.startswith("api-client:") and succeeded.organisation_code == KAKUDA
    assert OrganisationCertificate.get().added_by_client_id is not None
    assert posted.key not in "".join(e.details for e in AuditEvent.select())


def test_a_wrong_key_answers_exactly_like_an_unknown_number(client, world, posted):
    wrong = lookup(client, world.kakuda, NUMBER, WRONG_KEY)
    unknown = lookup(client, world.kakuda, "39999-999999", WRONG_KEY)
    malformed = lookup(client, world.kakuda, "not a number", WRONG_KEY)
    assert wrong.status_code == unknown.status_code == malformed.status_code == 404
    assert wrong.data == unknown.data == malformed.data
    assert assert_problem(wrong, 404)["detail"] == "No certificate matches this contract number and auth key."
    assert [json.loads(e.details)["reason"] for e in events("lookup.failed")] == [
        "wrong_key", "unknown_number", "malformed_number"]


def test_another_organisations_certificate_is_never_visible(client, world, posted):
    # 白子町's system, even with the right key, gets what an unknown number gets.
    other = lookup(client, world.shirako, NUMBER, posted.key)
    unknown = lookup(client, world.shirako, "39999-999999", WRONG_KEY)
    assert other.status_code == 404 and other.data == unknown.data
    # Once 角田市 has it on its list, 白子町 still sees nothing of it.
    assert lookup(client, world.kakuda, NUMBER, posted.key).status_code == 200
    assert_problem(get_listed(client, world.shirako), 404)
    assert_problem(record_contract(client, world.shirako, {"contract_amount": 1}), 404)
    listed = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.shirako)
    assert listed.get_json() == {"certificates": [], "next": None}
    assert ObligeeContract.select().count() == 0


def test_a_certificate_not_yet_looked_up_is_not_visible_to_its_own_obligee(client, world, posted):
    assert_problem(get_listed(client, world.kakuda), 404)
    assert_problem(record_contract(client, world.kakuda, {"contract_amount": 1}), 404)


def test_lookups_are_limited_per_client_like_per_user(app, client, world, posted):
    app.config["LOOKUP_FAILURE_LIMIT"] = 3
    for _ in range(3):
        assert lookup(client, world.kakuda, f"3999{_}-999999", WRONG_KEY).status_code == 404
    locked = lookup(client, world.kakuda, NUMBER, posted.key)   # the right key, but locked
    assert_problem(locked, 429)
    assert int(locked.headers["Retry-After"]) > 0
    assert events("lookup.locked")[0].actor.startswith("api-client:")
    # 白子町's client is counted on its own.
    assert lookup(client, world.shirako, "39999-999999", WRONG_KEY).status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"contract_number": NUMBER}, "auth_key"),
    ({"contract_number": NUMBER, "auth_key": 123}, "auth_key"),
    ({"contract_number": NUMBER, "auth_key": "x", "obligee": "042081"}, "obligee"),
])
def test_a_lookup_body_that_is_not_one_names_the_field_and_counts_nothing(client, world, posted,
                                                                          body, field):
    response = call(client, "POST", f"{PREFIX}/lookups", token=world.kakuda, json=body)
    assert field in {e["field"] for e in assert_problem(response, 422)["errors"]}
    assert events("lookup.failed") == []


# --- done when: the contract and its checks -------------------------------------------

FULL = {"contract_amount": 50_000_000, "contract_date": "2026-03-25",
        "period_start": "2026-04-01", "period_end": "2026-12-25", "work_name": "市道角田線 舗装補修工事"}


def test_a_tenth_passes_until_a_change_makes_it_one_yen_short(client, world, posted):
    lookup(client, world.kakuda, NUMBER, posted.key)
    recorded = record_contract(client, world.kakuda, {"contract_amount": 50_000_000})
    assert recorded.status_code == 200
    check = checks_by_id(recorded.get_json())["contract_guarantee_at_least_tenth"]
    assert check["ok"] is True

    change = next_revision(posted.first, "change", guarantee_amount=4_999_999)
    assert put(client, world.token, world.signed(change)).status_code == 201

    body = get_listed(client, world.kakuda).get_json()
    check = checks_by_id(body)["contract_guarantee_at_least_tenth"]
    assert check["ok"] is False
    assert check["detail"] == ("契約保証金額 4,999,999円 は、請負金額 50,000,000円 の10分の1"
                               "(5,000,000円)に足りません。")
    assert check["figures"] == {"certificate": 4_999_999,
                                "contract": {"contract_amount": 50_000_000, "bound": 5_000_000}}
    assert [h["kind"] for h in body["history"]] == ["new", "change"]
    assert body["verification"]["status"]["kind"] == "change"
    listed = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda).get_json()
    assert listed["certificates"][0]["failed_checks"] == ["contract_guarantee_at_least_tenth"]


def test_a_full_contract_runs_every_check_and_is_audited(client, world, posted):
    lookup(client, world.kakuda, NUMBER, posted.key)
    body = record_contract(client, world.kakuda, FULL).get_json()
    assert body["contract"] == {**FULL, "recorded_at": body["contract"]["recorded_at"]}
    assert all(c["ok"] for c in body["checks"]) and len(body["checks"]) == 6
    [event] = events("contract.recorded")
    assert event.actor.startswith("api-client:") and json.loads(event.details)["source"] == "api"


@pytest.mark.parametrize("body,fields", [
    ({"contract_amount": "50,000,000"}, {"contract_amount"}),
    ({"contract_amount": 0}, {"contract_amount"}),
    ({"contract_date": "令和8年3月25日"}, {"contract_date"}),
    ({"period_start": "2026-12-25", "period_end": "2026-04-01"}, {"period_end"}),
    ({"period_start": "2026-04-01"}, {"period_end"}),
    ({}, {"contract"}),
    ({"contract_amount": 1, "note": "x"}, {"note"}),
])
def test_a_bad_contract_is_422_with_its_fields_and_stores_nothing(client, world, posted, body, fields):
    lookup(client, world.kakuda, NUMBER, posted.key)
    response = record_contract(client, world.kakuda, body)
    assert {e["field"] for e in assert_problem(response, 422)["errors"]} == fields
    assert ObligeeContract.select().count() == 0 and events("contract.recorded") == []


def test_a_contract_body_that_is_not_json_is_400(client, world, posted):
    lookup(client, world.kakuda, NUMBER, posted.key)
    response = call(client, "PUT", f"{PREFIX}/obligee/certificates/{NUMBER}/contract",
                    token=world.kakuda, data="contract_amount=1", content_type="text/plain")
    assert_problem(response, 400)


def test_reading_a_certificate_by_api_is_a_view_in_the_trail(client, world, posted):
    lookup(client, world.kakuda, NUMBER, posted.key)
    get_listed(client, world.kakuda)
    [viewed] = events("certificate.viewed")
    assert json.loads(viewed.details) == {"view": "api", "revisions": [1]}
    state = call(client, "GET", f"{PREFIX}/certificates/{NUMBER}", token=world.token).get_json()
    assert state["obligee_opened"] is True


# --- changed since ------------------------------------------------------------------

def test_changed_since_pages_through_the_list_in_change_order(app, client, world):
    keys = {}
    for i in range(1, 6):
        doc = make_document(contract_number=f"30001-00010{i}")
        keys[doc["contract_number"]] = put(client, world.token, world.signed(doc)).get_json()["auth_key"]
    for number, key in keys.items():
        assert lookup(client, world.kakuda, number, key).status_code == 200

    seen, url = [], f"{PREFIX}/obligee/certificates?limit=2"
    while url:
        page = call(client, "GET", url, token=world.kakuda).get_json()
        seen += [c["contract_number"] for c in page["certificates"]]
        url = page["next"]
    assert sorted(seen) == sorted(keys) and len(seen) == 5

    everything = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda).get_json()
    third = everything["certificates"][2]
    since = third["changed_at"].replace("Z", "+00:00")
    later = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda,
                 query_string={"since": since}).get_json()
    assert [c["contract_number"] for c in later["certificates"]] == \
        [c["contract_number"] for c in everything["certificates"][2:]]


def test_a_new_revision_moves_a_certificate_into_changed_since(client, world, posted):
    lookup(client, world.kakuda, NUMBER, posted.key)
    before = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda).get_json()
    mark = before["certificates"][0]["changed_at"]
    # Nothing after the last change but that change itself...
    after_mark = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda,
                      query_string={"since": mark, "after": NUMBER}).get_json()
    assert after_mark["certificates"] == []
    put(client, world.token, world.signed(next_revision(posted.first, "change",
                                                        guarantee_amount=6_000_000)))
    changed = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda,
                   query_string={"since": mark, "after": NUMBER}).get_json()
    assert [(c["contract_number"], c["current_revision"]) for c in changed["certificates"]] == [(NUMBER, 2)]


@pytest.mark.parametrize("query", [{"since": "yesterday"}, {"since": "2026-04-01T00:00:00"},
                                   {"limit": "0"}, {"limit": "501"}, {"after": NUMBER}])
def test_changed_since_refuses_what_it_cannot_read(client, world, query):
    response = call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.kakuda,
                    query_string=query)
    assert_problem(response, 400)


# --- each token to its own API ----------------------------------------------------------

def test_a_surety_token_is_forbidden_the_obligee_operations(client, world, posted):
    for response in (lookup(client, world.token, NUMBER, posted.key),
                     call(client, "GET", f"{PREFIX}/obligee/certificates", token=world.token),
                     get_listed(client, world.token),
                     record_contract(client, world.token, {"contract_amount": 1})):
        assert assert_problem(response, 403)["type"] == "urn:dsure:problem:wrong-api"
    assert events("lookup.succeeded") == [] and events("lookup.failed") == []
    assert len(events("api.forbidden")) == 4


def test_an_obligee_token_is_forbidden_the_surety_operations(client, world, posted):
    doc = next_revision(posted.first, "change", guarantee_amount=6_000_000)
    for response in (put(client, world.kakuda, world.signed(doc)),
                     call(client, "GET", f"{PREFIX}/certificates/{NUMBER}", token=world.kakuda),
                     call(client, "POST", f"{PREFIX}/certificates/{NUMBER}/auth-key",
                          token=world.kakuda)):
        assert assert_problem(response, 403)["type"] == "urn:dsure:problem:wrong-api"
    assert len(events("revision.accepted")) == 1  # only the surety's own revision 1
    [forbidden] = events("api.forbidden")[-1:]
    assert json.loads(forbidden.details)["client_kind"] == "obligee"


def test_no_token_is_401_on_the_obligee_operations(client, world):
    response = call(client, "GET", f"{PREFIX}/obligee/certificates")
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
