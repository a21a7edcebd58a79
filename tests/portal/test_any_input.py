"""Any text in any parameter of any page never answers 5xx (both databases).

Every page of the portal is listed in PAGES with the query or form parameters its view
reads; a test fails when a page is added to the app without being listed here. Each page
gets a deterministic sweep (every parameter alone, with each edge value: U+0000, lone
surrogates, controls, huge and non-ASCII numbers, dates at the calendar's ends), then
Hypothesis fills any of its parameters, and one of any name, with arbitrary text at once.
Values go as the raw bytes a client could send; path parameters get the same or a value
that exists, so the view behind the path is reached too.
"""
from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.certificates import portfolio
from registry.audit.checkpoints import write_checkpoint
from tests.portal.certificate_fixtures import *  # noqa: F401,F403 - fixtures

NUMBER = "10001-000001"   # vector 01's contract number
FORM = "application/x-www-form-urlencoded"
_LOOKUP = ["contract_number", "auth_key"]
_TRAIL = ["since", "until", "actor", "kind", "organisation", "contract_number"]

# endpoint: (who signs in, {method: parameter names the view reads})
PAGES = {
    "public.healthz": (None, {"GET": []}),
    "auth.home": ("staff", {"GET": []}),
    "auth.login": (None, {"GET": ["next"], "POST": ["email", "password", "next"]}),
    "auth.login_otp": (None, {"GET": [], "POST": ["otp"]}),
    "auth.logout": ("staff", {"POST": []}),
    "auth.account": ("staff", {"GET": []}),
    "auth.change_password": ("staff", {"POST": ["current_password", "new_password", "confirm"]}),
    "auth.otp_enrol": ("staff", {"GET": [], "POST": ["password", "otp"]}),
    "auth.otp_remove": ("staff", {"POST": ["password", "otp"]}),
    "auth.new_password": ("staff", {"GET": [], "POST": ["current_password", "new_password",
                                                        "confirm"]}),
    "auth.recovery_codes": ("staff", {"GET": [], "POST": ["password"]}),
    "auth.email_notifications": ("staff", {"POST": ["notify_by_email"]}),
    "sessions.revoke_others": ("staff", {"POST": []}),
    "staff.index": ("admin", {"GET": [], "POST": ["name", "section", "email", "role",
                                                  "password"]}),
    "staff.deactivate": ("admin", {"GET": [], "POST": []}),
    "staff.reactivate": ("admin", {"POST": []}),
    "staff.reset_password": ("admin", {"POST": ["password"]}),
    "staff.reset_otp": ("admin", {"POST": []}),
    "certificates.lookup": ("staff", {"GET": [], "POST": _LOOKUP + ["notice_text"]}),
    "certificates.show": ("staff", {"GET": ["revision"]}),
    "certificates.compare_revisions": ("staff", {"GET": ["a", "b"]}),
    "certificates.print_view": ("staff", {"GET": ["revision"]}),
    "certificates.index": ("staff", {"GET": ["q", "product", "queue", "date_field", "date_from",
                                             "date_to", "after", "before", "last"]}),
    "desk.export": ("staff", {"GET": ["q", "product", "queue", "date_field", "date_from",
                                      "date_to"]}),
    "desk.import_contracts": ("staff", {"GET": [], "POST": []}),
    "desk.register_template": ("staff", {"GET": []}),
    "desk.save_contract": ("staff", {"POST": ["contract_amount", "contract_date",
                                              "period_start", "period_end", "work_name"]}),
    "public.obligees": (None, {"GET": ["q"]}),
    "audit.trail": ("auditor", {"GET": ["before"] + _TRAIL}),
    "audit.export": ("auditor", {"GET": _TRAIL}),
    "audit.certificates": ("auditor", {"GET": ["contract_number", "page"]}),
    "audit.certificate": ("auditor", {"GET": []}),
    "audit.evidence_bundle": ("auditor", {"GET": []}),
    "audit.checkpoint": ("auditor", {"GET": []}),
    "evidence.bundle": ("staff", {"GET": []}),
}
NOT_PAGES = {"static", "api", "obligee_api", "webhooks"}  # files, and the APIs (schemathesis)

EDGES = ["", "0", "-1", "1", "²", "１２", "1e9", "99999999999999999999999", str(2**53),
         str(2**63), "0001-01-01", "9999-12-31", "9999-12-31T23:59", "0001-01-01T00:00",
         "2026-02-30", "\x00", "a\x00b", "\ud800", "\udfff", "\u202e", "\x85", "%00", "//x",
         "/\\evil.example", NUMBER, "10001-000001\n", "user:1", "revision.accepted"]
SWEEP = ["", "-1", "²", "99999999999999999999999", str(2**63), "0001-01-01", "9999-12-31",
         "9999-12-31T23:59", "\x00", "a\x00b", "\ud800", "\u202e", "\x85", "9" * 400,
         NUMBER + "\n", "٣٣٣٣٣٣"]  # digits, but not ASCII ones
ANY_TEXT = st.one_of(st.sampled_from(EDGES),
                     st.text(st.characters(exclude_categories=()), max_size=40),
                     st.integers(min_value=-2**70, max_value=2**70).map(str))
# Modest: the sweep above is what reliably reaches every edge; this looks between them.
EXAMPLES = settings(max_examples=25, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


def _raw(text: str) -> str:
    """What a client sends for ``text``: its UTF-8 bytes, percent-encoded (a lone
    surrogate as the bytes a careless encoder writes for it)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _encoded(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{_raw(name)}={_raw(value)}" for name, value in pairs)


def _page_rules(app) -> dict[str, object]:
    return {rule.endpoint: rule for rule in app.url_map.iter_rules()
            if rule.endpoint.partition(".")[0] not in NOT_PAGES and rule.endpoint != "static"}


def test_every_page_is_listed(app):
    assert set(_page_rules(app)) == set(PAGES)
    for endpoint, rule in _page_rules(app).items():
        assert set(PAGES[endpoint][1]) == rule.methods - {"HEAD", "OPTIONS"}, endpoint


@pytest.fixture
def world(app, make_user, sign_in, post_vectors):
    """A certificate on 角田市's list, a checkpoint, and a signed-in client per role."""
    users = {role: make_user(email=f"{role}@kakuda.example.jp", role=role)
             for role in ("staff", "admin", "auditor")}
    post_vectors("01-advance-new", "02-advance-change")
    with app.app_context():
        from registry.models import Certificate
        cert = Certificate.get(Certificate.contract_number == NUMBER)
        portfolio.add_to_list(organisation_id=cert.obligee_id, certificate_id=cert.id,
                              user_id=users["staff"].id)
        checkpoint = write_checkpoint(signer=app.extensions["dsure.platform_signer"])
    app.config.update(WTF_CSRF_ENABLED=False,  # reach the views; CSRF has its own tests
                      LOGIN_RATE_LIMIT="1000000 per minute")
    existing = {"contract_number": NUMBER, "user_id": str(users["staff"].id),
                "checkpoint_id": str(checkpoint.id)}

    signed_in = {}

    def client_for(role, method="POST"):
        """A signed-in client; a fresh one for a POST, which may end its session
        (sign-out, a password reset), one kept per role for GETs."""
        if method == "GET" and role in signed_in:
            return signed_in[role]
        client = app.test_client()
        if role is not None:
            sign_in(client, users[role])
        if method == "GET":
            signed_in[role] = client
        return client
    return existing, client_for


def _with_arguments(rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(r"<(?:[^:<>]+:)?" + re.escape(name) + ">", _raw(value), path)
    return path


def _request(client, method: str, path: str, pairs: list[tuple[str, str]]):
    encoded = _encoded(pairs)
    if method == "GET":
        response = client.get(f"{path}?{encoded}")
    else:
        response = client.post(path, data=encoded, content_type=FORM)
    response.get_data()  # a streamed answer (the CSV export) runs to its end
    response.close()
    return response


def _sweep(rule, role, methods, existing, client_for) -> None:
    """Deterministic: each parameter (path, query or form, and one of any name) gets each
    edge value while the others stay valid or absent, so no bad value hides another."""
    for method, names in methods.items():
        for name in [*rule.arguments, *names, "x\x00"]:
            for value in SWEEP:
                path_values = {arg: value if arg == name else existing[arg] for arg in rule.arguments}
                pairs = [] if name in rule.arguments else [(name, value)]
                response = _request(client_for(role, method), method, _with_arguments(rule, path_values), pairs)
                assert response.status_code < 500, (method, name, value)


@pytest.mark.parametrize("endpoint", sorted(PAGES))
def test_any_text_in_any_parameter_is_never_a_server_error(app, world, endpoint):
    existing, client_for = world
    rule = _page_rules(app)[endpoint]
    role, methods = PAGES[endpoint]
    _sweep(rule, role, methods, existing, client_for)
    for method, names in methods.items():
        path_values = st.fixed_dictionaries(
            {name: st.one_of(st.just(existing[name]), ANY_TEXT) for name in rule.arguments})
        # Each parameter present or not: a bad value in one must not hide another
        # (an invalid date makes the audit filter skip its query, actor and all).
        params = st.fixed_dictionaries({}, optional={name: ANY_TEXT for name in names})

        @given(path_values=path_values, params=params, extra=st.tuples(ANY_TEXT, ANY_TEXT))
        @EXAMPLES
        def request_page(path_values, params, extra):
            path = _with_arguments(rule, path_values)
            response = _request(client_for(role, method), method, path, [*params.items(), extra])
            assert response.status_code < 500, (method, path, params, extra)

        request_page()
