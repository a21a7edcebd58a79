"""The surety API (DESIGN §4) through HTTP, with real signed documents, on both databases.

Every request goes through ``call``, which also checks that the status code the test
observed is one the OpenAPI document lists for that operation.
"""
from __future__ import annotations

import io
import json
import re
import threading

import jsonschema
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from werkzeug.exceptions import HTTPException

from dsure_portal.openapi import openapi_document
from registry.certificates import portfolio
from registry.accounts.users import add_user
from registry.certificates.auth_keys import ALPHABET
from registry.audit.integrity import verify_all
from registry.certificates.lookup import find_certificate
from registry.models import AuditEvent, Certificate, Revision
from tests.factories import (KAKUDA, VECTOR_NAMES, VECTORS, World, make_document,
                             next_revision, sign, vector)

NUMBER = "30001-000001"
PREFIX = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def world(app):
    with app.app_context():
        return World()


@pytest.fixture
def hasher_of(app):
    return app.extensions["dsure.hasher"]


# --- helpers -----------------------------------------------------------------------

def openapi_path(rule: str) -> str:
    """/api/v1/certificates/<int:n>  ->  /certificates/{n}"""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def documented_responses(app, method: str, path: str) -> dict | None:
    """The responses OpenAPI lists for the operation that serves ``path``."""
    adapter = app.url_map.bind("localhost")
    try:
        rule, _ = adapter.match(path, method=method, return_rule=True)
    except HTTPException:
        return None  # no such operation (404/405 from routing)
    return openapi_document()["paths"][openapi_path(rule.rule)][method.lower()]["responses"]


def assert_matches_openapi(response, documented: dict) -> None:
    """The answer's status is listed and its body fits the documented schema."""
    status = str(response.status_code)
    assert status in documented, f"answered {status}, not in OpenAPI {sorted(documented)}"
    components = openapi_document()["components"]
    answer = documented[status]
    if "$ref" in answer:
        answer = components["responses"][answer["$ref"].rsplit("/", 1)[1]]
    if not response.data and "content" not in answer:  # 204: nothing to describe
        return
    if not response.mimetype.endswith("json"):  # a document (the notice PDF): its type is listed
        assert response.mimetype in answer.get("content", {}), response.mimetype
        return
    schema = answer.get("content", {}).get(response.mimetype, {}).get("schema")
    if schema is None:
        assert "content" not in answer or response.mimetype == "application/json", response.mimetype
        return
    jsonschema.Draft202012Validator({**schema, "components": components}).validate(
        json.loads(response.data))


def call(client, method: str, path: str, *, token: str | None = None, **kwargs):
    headers = dict(kwargs.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    response = client.open(path, method=method, headers=headers, **kwargs)
    documented = documented_responses(client.application, method, path)
    if documented is not None:
        assert_matches_openapi(response, documented)
    return response


def put(client, token, body, *, number: str | None = None, n: int | None = None, **kwargs):
    doc = body.get("document") if isinstance(body, dict) else None
    number = number or doc["contract_number"]
    n = n if n is not None else doc["revision"]
    return call(client, "PUT", f"{PREFIX}/certificates/{number}/revisions/{n}",
                token=token, json=body, **kwargs)


def get_certificate(client, token, number=NUMBER):
    return call(client, "GET", f"{PREFIX}/certificates/{number}", token=token)


def reissue(client, token, number=NUMBER):
    return call(client, "POST", f"{PREFIX}/certificates/{number}/auth-key", token=token)


def stored() -> tuple[int, int]:
    return Certificate.select().count(), Revision.select().count()


def events(kind: str) -> list[AuditEvent]:
    return list(AuditEvent.select().where(AuditEvent.kind == kind).order_by(AuditEvent.seq))


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["type"]
    return body


def error_fields(response) -> set[str]:
    return {e["field"] for e in assert_problem(response, 422)["errors"]}


def is_auth_key(value: object) -> bool:
    return isinstance(value, str) and len(value) == 12 and set(value) <= set(ALPHABET)


# --- accepting revisions -----------------------------------------------------------

def test_revision_one_is_created_and_its_auth_key_shown_once(client, world, hasher_of):
    body = world.signed(make_document())
    first = put(client, world.token, body)
    assert first.status_code == 201
    answer = first.get_json()
    assert answer["contract_number"] == NUMBER and answer["revision"] == 1 and answer["created"]
    assert is_auth_key(answer["auth_key"])
    assert first.headers["Cache-Control"] == "no-store"
    assert hasher_of.matches(Certificate.get().auth_key_digest, answer["auth_key"])

    again = put(client, world.token, body)
    assert again.status_code == 200
    assert again.get_json()["created"] is False and "auth_key" not in again.get_json()
    assert again.get_json()["arrived_at"] == answer["arrived_at"]
    assert stored() == (1, 1)
    # the retry did not replace the key
    assert hasher_of.matches(Certificate.get().auth_key_digest, answer["auth_key"])


def test_later_revisions_are_created_without_a_key(client, world):
    doc = make_document()
    put(client, world.token, world.signed(doc))
    change = put(client, world.token,
                 world.signed(next_revision(doc, "change", guarantee_amount=24_000_000)))
    assert change.status_code == 201 and "auth_key" not in change.get_json()
    assert stored() == (1, 2)
    assert Certificate.get().guarantee_amount == 24_000_000


def test_a_gap_in_revision_numbers_is_a_conflict(client, world):
    doc = make_document()
    put(client, world.token, world.signed(doc))
    skipped = next_revision(next_revision(doc, "change"), "change")
    assert_problem(put(client, world.token, world.signed(skipped)), 409)
    assert stored() == (1, 1)


def test_a_later_revision_before_revision_one_is_a_conflict(client, world):
    assert_problem(put(client, world.token,
                       world.signed(next_revision(make_document(), "change"))), 409)
    assert stored() == (0, 0)


def test_a_different_document_under_a_stored_revision_is_a_conflict(client, world):
    put(client, world.token, world.signed(make_document()))
    other = world.signed(make_document(guarantee_amount=19_000_000))
    assert_problem(put(client, world.token, other), 409)
    assert stored() == (1, 1) and Certificate.get().guarantee_amount == 20_000_000


def test_a_document_changed_after_signing_is_forbidden(client, world):
    body = world.signed(make_document())
    body["document"]["guarantee_amount"] = 25_000_000
    problem = assert_problem(put(client, world.token, body), 403)
    assert problem["type"].endswith("invalid-signature")
    assert stored() == (0, 0)
    assert json.loads(events("revision.refused")[-1].details)["reason"] == "invalid_signature"


def test_a_signature_that_is_not_over_this_document_is_forbidden(client, world):
    body = world.signed(make_document())
    body["signature"] = world.signed(make_document(guarantee_amount=1_000))["signature"]
    assert_problem(put(client, world.token, body), 403)
    assert stored() == (0, 0)


@pytest.mark.parametrize("signer", ["unregistered private key", "unknown key id",
                                    "another surety's key"])
def test_a_signature_by_a_key_not_registered_for_the_caller_is_forbidden(client, world, signer):
    doc = make_document()
    if signer == "unregistered private key":
        body = sign(doc, world.key.key_id, Ed25519PrivateKey.generate())
    elif signer == "unknown key id":
        body = sign(doc, "ejcs-0000000000000000")
    else:
        body = sign(doc, world.other_key.key_id, world.other_private_key)
    assert_problem(put(client, world.token, body), 403)
    assert stored() == (0, 0)


@pytest.mark.parametrize("authorization", [
    None, "Bearer ", "Bearer dsk_not-a-token", "Basic ZWpjczpzZWNyZXQ=", "dsk_no-scheme",
])
@pytest.mark.parametrize("method, path", [
    ("PUT", f"{PREFIX}/certificates/{NUMBER}/revisions/1"),
    ("POST", f"{PREFIX}/certificates/{NUMBER}/auth-key"),
    ("GET", f"{PREFIX}/certificates/{NUMBER}"),
])
def test_a_missing_or_bad_bearer_token_is_not_authenticated(client, world, authorization,
                                                             method, path):
    headers = {"Authorization": authorization} if authorization else {}
    kwargs = {"json": world.signed(make_document())} if method == "PUT" else {}
    response = call(client, method, path, headers=headers, **kwargs)
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert stored() == (0, 0)
    failed = events("api.authentication_failed")
    assert len(failed) == 1 and failed[0].actor == "anonymous"
    assert json.loads(failed[0].details)["path"] == path
    if authorization:
        secret = authorization.partition(" ")[2] or authorization
        assert secret.strip() not in failed[0].details


def test_a_deactivated_client_is_not_authenticated(client, world):
    from registry.models import ApiClient
    ApiClient.update(active=False).where(ApiClient.id == world.client.id).execute()
    assert_problem(put(client, world.token, world.signed(make_document())), 401)
    assert stored() == (0, 0)


# Each rule of registry/certificates/documents.py, bent one way, signed properly: 422 naming the field.
INVALID_DOCUMENTS = [
    ({"principal__name": ...}, "principal.name"),
    ({"surety": ...}, "surety"),
    ({"issued_on": ...}, "issued_on"),
    ({"unexpected": "x"}, "unexpected"),
    ({"principal__nickname": "x"}, "principal.nickname"),
    ({"contract_number": "30001000001"}, "contract_number"),
    ({"product": "performance_bond"}, "product"),
    ({"kind": "renewal"}, "kind"),
    ({"revision": "1"}, "revision"),
    ({"supersedes": 1}, "supersedes"),                         # a new revision supersedes nothing
    ({"issued_on": "2026/04/01"}, "issued_on"),
    ({"work__period_start": "2026-02-30"}, "work.period_start"),
    ({"obligee__code": "042082"}, "obligee.code"),              # wrong check digit
    ({"obligee__code": "42081"}, "obligee.code"),
    ({"obligee__code": "131016"}, "obligee.code"),              # valid but not enrolled
    ({"obligee__name": ""}, "obligee.name"),
    ({"principal": "角田建設"}, "principal"),
    ({"work__name": "工" * 301}, "work.name"),
    ({"contract_amount": 0}, "contract_amount"),
    ({"guarantee_amount": -1}, "guarantee_amount"),
    ({"contract_amount": "50000000"}, "contract_amount"),
    ({"contract_amount": 50_000_000.5}, "contract_amount"),
    ({"contract_amount": 10**15}, "contract_amount"),
    ({"guarantee_amount": 60_000_000}, "guarantee_amount"),     # above the contract amount
    ({"work__period_end": "2026-03-31"}, "work.period_end"),    # before the start
    ({"guarantee_period__end": "2026-03-01"}, "guarantee_period.end"),
    ({"deposit_bank": ...}, "deposit_bank"),                    # advance payment needs one
    ({"deposit_bank": None}, "deposit_bank"),
    ({"product": "contract"}, "deposit_bank"),                  # a contract guarantee has none
    ({"principal__jv_name": "角田JV", "principal__jv_members": ["角田建設"]},
     "principal.jv_members"),
    ({"principal__jv_members": ["角田建設", "仙南工業"]}, "principal.jv_name"),
    ({"principal__jv_name": "角田JV", "principal__jv_members": ["社"] * 21},
     "principal.jv_members"),
    ({"surety__code": "WJCS"}, "surety.code"),                  # not the caller's
    ({"surety__code": "ejcs"}, "surety.code"),
    ({"surety__tel": "call us"}, "surety.tel"),
    ({"surety__fax": "x"}, "surety.fax"),
    ({"kind": "change"}, "kind"),                               # revision 1 must be new
]


@pytest.mark.parametrize("overrides, field", INVALID_DOCUMENTS,
                         ids=[f for _, f in INVALID_DOCUMENTS])
def test_an_invalid_document_is_422_naming_the_field(client, world, overrides, field):
    body = world.signed(make_document(**overrides))
    response = put(client, world.token, body, number=NUMBER, n=1)
    assert field in error_fields(response)
    assert stored() == (0, 0)
    refused = json.loads(events("revision.refused")[-1].details)
    assert field in refused["fields"]


@pytest.mark.parametrize("n, overrides, field", [
    (2, {"revision": 2, "kind": "new"}, "kind"),                 # new only as revision 1
    (2, {"revision": 2, "kind": "change", "supersedes": 1}, "supersedes"),
    (2, {"revision": 2, "kind": "correction"}, "supersedes"),     # names nothing
    (2, {"revision": 2, "kind": "change_cancellation", "supersedes": 2}, "supersedes"),
])
def test_an_invalid_later_revision_is_422_naming_the_field(client, world, n, overrides, field):
    put(client, world.token, world.signed(make_document()))
    response = put(client, world.token, world.signed(make_document(**overrides)), n=n)
    assert field in error_fields(response)
    assert stored() == (1, 1)


@pytest.mark.parametrize("history, refused, field", [
    ([], ("change_cancellation", 1, {}), "supersedes"),          # only a change can be cancelled
    ([("change", None), ("correction", 2)], ("correction", 2, {}), "supersedes"),  # hidden
    ([], ("change", None, {"product": "intermediate_advance_payment"}), "product"),
    ([], ("change", None, {"obligee": {"code": "124249", "name": "白子町長"}}), "obligee.code"),
])
def test_a_revision_that_does_not_follow_the_history_is_422(client, world, history, refused,
                                                            field):
    doc = make_document()
    put(client, world.token, world.signed(doc))
    for kind, supersedes in history:
        doc = next_revision(doc, kind, supersedes)
        assert put(client, world.token, world.signed(doc)).status_code == 201
    before = stored()
    kind, supersedes, overrides = refused
    response = put(client, world.token, world.signed(next_revision(doc, kind, supersedes,
                                                                   **overrides)))
    assert field in error_fields(response)
    assert stored() == before


@pytest.mark.parametrize("number, n, field", [
    ("30001-000002", 1, "contract_number"),
    (NUMBER, 2, "revision"),
])
def test_a_document_that_does_not_match_the_url_is_422(client, world, number, n, field):
    response = put(client, world.token, world.signed(make_document()), number=number, n=n)
    assert field in error_fields(response)
    assert stored() == (0, 0)


def _bent_body(world, bend: str):
    body = world.signed(make_document())
    if bend == "unknown field":
        body["comment"] = "hi"
    elif bend == "no signature":
        del body["signature"]
    elif bend == "signature not base64":
        body["signature"] = "not base64!"
    elif bend == "short signature":
        body["signature"] = body["signature"][:44]
    elif bend == "no key_id":
        del body["key_id"]
    elif bend == "document not an object":
        body["document"] = json.dumps(body["document"])
    elif bend == "no document":
        del body["document"]
    return body


@pytest.mark.parametrize("bend, field", [
    ("unknown field", "comment"), ("no signature", "signature"),
    ("signature not base64", "signature"), ("short signature", "signature"),
    ("no key_id", "key_id"), ("document not an object", "document"),
    ("no document", "document"),
])
def test_a_request_body_of_the_wrong_shape_is_422(client, world, bend, field):
    response = put(client, world.token, _bent_body(world, bend), number=NUMBER, n=1)
    assert field in error_fields(response)
    assert stored() == (0, 0)


def test_a_json_body_that_is_not_an_object_is_422(client, world):
    response = put(client, world.token, [world.signed(make_document())], number=NUMBER, n=1)
    assert "body" in error_fields(response)


@pytest.mark.parametrize("data, content_type", [
    ("document=1", "application/x-www-form-urlencoded"),
    ("{not json", "application/json"),
    ("", "application/json"),
    ("just text", "text/plain"),
    ("[" * 50_000 + "]" * 50_000, "application/json"),   # deeper than the decoder goes
], ids=["form", "malformed", "empty", "text", "too deep"])
def test_a_body_that_is_not_json_is_400(client, world, data, content_type):
    response = call(client, "PUT", f"{PREFIX}/certificates/{NUMBER}/revisions/1",
                    token=world.token, data=data, content_type=content_type)
    assert_problem(response, 400)
    assert stored() == (0, 0)
    assert refusal_reasons() == ["malformed-json"]


def refusal_reasons() -> list[str]:
    return [json.loads(e.details)["reason"]
            for e in AuditEvent.select().where(AuditEvent.kind == "revision.refused")]


def test_a_body_over_256_kib_is_413(client, world):
    body = world.signed(make_document())
    body["padding"] = "x" * (256 * 1024)
    assert_problem(put(client, world.token, body), 413)
    assert stored() == (0, 0)
    assert refusal_reasons() == ["too-large"]


@pytest.mark.parametrize("size, status", [(1024, 422), (256 * 1024, 413), (1024 * 1024, 413)])
def test_a_chunked_body_is_held_to_the_same_limit(client, world, size, status):
    """Without a Content-Length (Transfer-Encoding: chunked, as gunicorn passes it on),
    Werkzeug would cut the body off at the limit and it would read as malformed JSON."""
    body = json.dumps({"padding": "x" * size}).encode()
    response = call(client, "PUT", f"{PREFIX}/certificates/{NUMBER}/revisions/1",
                    token=world.token, input_stream=io.BytesIO(body),
                    headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
                    environ_overrides={"wsgi.input_terminated": True})
    assert_problem(response, status)
    assert stored() == (0, 0)


# --- another surety ----------------------------------------------------------------

def test_another_surety_can_neither_read_nor_revise_nor_rekey(client, world, hasher_of):
    doc = make_document()
    key = put(client, world.token, world.signed(doc)).get_json()["auth_key"]
    assert_problem(get_certificate(client, world.other_token), 404)
    theirs = next_revision(doc, "change", surety__code="WJCS", guarantee_amount=1_000)
    assert_problem(put(client, world.other_token,
                       sign(theirs, world.other_key.key_id, world.other_private_key)), 403)
    assert_problem(reissue(client, world.other_token), 404)
    assert stored() == (1, 1)
    cert = Certificate.get()
    assert cert.guarantee_amount == 20_000_000 and hasher_of.matches(cert.auth_key_digest, key)
    # and a number that does not exist looks the same as another surety's
    missing = get_certificate(client, world.other_token, "30001-999999")
    assert assert_problem(missing, 404) == assert_problem(get_certificate(client, world.other_token), 404)


# --- reissuing the auth key --------------------------------------------------------

def test_a_reissued_auth_key_works_and_the_old_one_stops(client, world, hasher_of):
    old = put(client, world.token, world.signed(make_document())).get_json()["auth_key"]
    response = reissue(client, world.token)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new = response.get_json()["auth_key"]
    assert is_auth_key(new) and new != old
    assert find_certificate(contract_number=NUMBER, auth_key=new, obligee_code=KAKUDA,
                            hasher=hasher_of).contract_number == NUMBER
    assert find_certificate(contract_number=NUMBER, auth_key=old, obligee_code=KAKUDA,
                            hasher=hasher_of) is None
    assert [e.contract_number for e in events("auth_key.reissued")] == [NUMBER]
    assert stored() == (1, 1)


def test_reissuing_the_key_of_an_unknown_certificate_is_404(client, world):
    assert_problem(reissue(client, world.token, "30001-999999"), 404)


# --- reading back ------------------------------------------------------------------

def test_the_independent_vectors_over_http_give_the_documented_history(client, world):
    for name in VECTOR_NAMES:
        response = put(client, world.token, vector(name, world.key.key_id))
        assert response.status_code == 201, response.get_json()
    state = get_certificate(client, world.token, "10001-000001").get_json()
    assert [r["number"] for r in state["revisions"] if r["visible"]] == [1, 4]
    assert {r["number"]: r["hidden_by"] for r in state["revisions"]} == \
        {1: None, 2: 3, 3: 4, 4: None}
    assert state["status"]["kind"] == "change_cancellation"
    assert state["status"]["current_revision"] == 4
    for name in VECTOR_NAMES:
        doc = vector(name, world.key.key_id)["document"]
        revision = (Revision.select().join(Certificate)
                    .where(Certificate.contract_number == doc["contract_number"],
                           Revision.number == doc["revision"]).get())
        assert bytes(revision.canonical) == (VECTORS / f"{name}.canonical").read_bytes()
    jv = get_certificate(client, world.token, "10001-000002").get_json()
    assert jv["product"] == "contract" and [r["kind"] for r in jv["revisions"]] == ["new"]


def test_the_certificate_state_shows_revisions_and_whether_the_obligee_opened_it(
        app, client, world):
    doc = make_document()
    put(client, world.token, world.signed(doc))
    change = next_revision(doc, "change", guarantee_amount=24_000_000)
    put(client, world.token, world.signed(change))
    put(client, world.token, world.signed(next_revision(change, "correction", 2,
                                                        guarantee_amount=23_000_000)))
    response = get_certificate(client, world.token)
    assert response.status_code == 200
    state = response.get_json()
    assert state["contract_number"] == NUMBER and state["product"] == "advance_payment"
    assert state["obligee"] == {"code": KAKUDA, "name": "角田市"}
    assert state["status"]["kind"] == "correction" and state["status"]["current_revision"] == 3
    assert [(r["number"], r["kind"], r["supersedes"], r["visible"], r["hidden_by"])
            for r in state["revisions"]] == [
        (1, "new", None, True, None), (2, "change", None, False, 3),
        (3, "correction", 2, True, None)]
    assert state["obligee_opened"] is False and state["obligee_first_opened_at"] is None
    assert "auth_key" not in json.dumps(state).replace("auth_key_issued_at", "")

    with app.app_context():
        staff = add_user(org_code=KAKUDA, email="staff@kakuda.example.jp", role="staff",
                         password="correct horse battery staple")
        portfolio.record_view(user_id=staff.id, actor=f"user:{staff.id}", organisation_code=KAKUDA,
                              certificate=Certificate.get(), view="page", revisions=[1, 3])
    state = get_certificate(client, world.token).get_json()
    assert state["obligee_opened"] is True and state["obligee_first_opened_at"]


def test_enrolled_obligees_are_public(client, world):
    response = call(client, "GET", f"{PREFIX}/obligees")
    assert response.status_code == 200
    assert response.get_json()["obligees"] == [{"code": "042081", "name": "角田市"},
                                               {"code": "124249", "name": "白子町"}]
    assert events("api.authentication_failed") == []


# --- the OpenAPI document ----------------------------------------------------------

def test_openapi_is_3_1_and_public(client):
    response = call(client, "GET", f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1.")
    assert document["servers"] == [{"url": PREFIX}]


def test_openapi_documents_exactly_the_routes_of_the_api(app):
    routed = {(openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(PREFIX + "/")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in openapi_document()["paths"].items()
                  for method in item if method in ("get", "put", "post", "patch", "delete")}
    assert routed == documented


def test_openapi_path_parameters_are_declared_and_secured_operations_list_401():
    for path, item in openapi_document()["paths"].items():
        for method, operation in item.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
            if operation.get("security", None) != []:
                assert "401" in operation["responses"], (method, path)


# --- concurrency -------------------------------------------------------------------

def run_together(app, requests):
    """Run each request from its own thread with its own test client, all released at once."""
    barrier = threading.Barrier(len(requests))
    results: list = [None] * len(requests)

    def run(i, request):
        test_client = app.test_client()
        barrier.wait()
        try:
            results[i] = request(test_client)
        except Exception as exc:  # asserted below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, r)) for i, r in enumerate(requests)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_fifty_identical_concurrent_puts_store_one_revision(app, world):
    body = world.signed(make_document())
    responses = run_together(app, [lambda c: put(c, world.token, body)] * 50)
    assert [r for r in responses if isinstance(r, Exception)] == []
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201]
    keys = [r.get_json().get("auth_key") for r in responses]
    assert len([k for k in keys if k]) == 1
    assert stored() == (1, 1)
    assert len(events("revision.accepted")) == 1
    count, problems = verify_all()
    assert problems == []


def test_concurrent_writers_of_different_certificates_keep_the_chain_intact(app, world):
    bodies = [world.signed(make_document(contract_number=f"30001-00020{i}")) for i in range(8)]
    responses = run_together(app, [lambda c, b=b: put(c, world.token, b) for b in bodies])
    assert [r for r in responses if isinstance(r, Exception)] == []
    assert [r.status_code for r in responses] == [201] * 8
    count, problems = verify_all()
    assert problems == [] and stored() == (8, 8)
    assert [e.seq for e in AuditEvent.select().order_by(AuditEvent.seq)] == list(range(1, count + 1))
