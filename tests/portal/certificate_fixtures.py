"""Certificates posted by a surety, and staff signed in, for the staff-page tests.
Import the fixtures into a test module: ``from tests.portal.certificate_fixtures import *``."""
from __future__ import annotations

import datetime as dt
import re
import types

import pytest

from registry.certificates import ingest
from registry.accounts.organisations import add_api_client, add_signing_key
from tests.factories import TEST_PUBLIC_PEM, sign, vector
from tests.portal.conftest import csrf_token_from

__all__ = ["surety", "post_vectors", "post_document", "staff_client", "look_up", "strip_csrf",
           "ARRIVAL"]

# 10:15 JST on 2026-04-01, then a day later for every further revision.
ARRIVAL = dt.datetime(2026, 4, 1, 1, 15)


@pytest.fixture
def surety(app, orgs):
    with app.app_context():
        client, _ = add_api_client(org_code="EJCS", name="ejcs system")
        key = add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
    return types.SimpleNamespace(client=client, key=key)


def _accept(app, surety, body, at):
    doc = body["document"]
    with app.app_context():
        return ingest.accept_revision(client=surety.client, contract_number=doc["contract_number"],
                                      number=doc["revision"], body=body,
                                      hasher=app.extensions["dsure.hasher"], clock=lambda: at)


@pytest.fixture
def post_vectors(app, surety):
    """post_vectors("01-advance-new", …) -> the auth key of revision 1 (if among them)."""
    def post(*names, start=ARRIVAL):
        auth_key = None
        for i, name in enumerate(names):
            accepted = _accept(app, surety, vector(name, surety.key.key_id), start + dt.timedelta(days=i))
            auth_key = accepted.auth_key or auth_key
        return auth_key
    return post


@pytest.fixture
def post_document(app, surety):
    def post(document, at=ARRIVAL):
        return _accept(app, surety, sign(document, surety.key.key_id), at).auth_key
    return post


@pytest.fixture
def staff_client(app, make_user, sign_in):
    """staff_client(email, org_code) -> a test client signed in as a new staff user."""
    def make(email="staff@kakuda.example.jp", org_code="042081", role="staff"):
        user = make_user(email=email, org_code=org_code, role=role)
        client = app.test_client()
        sign_in(client, user)
        client.user = user
        return client
    return make


def look_up(client, number, key):
    token = csrf_token_from(client.get("/lookup").get_data(as_text=True))
    return client.post("/lookup", data={"csrf_token": token, "contract_number": number,
                                        "auth_key": key})


def strip_csrf(html: str) -> str:
    """The page without its CSRF tokens (they are signed with a timestamp)."""
    tokens = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', html))
    tokens |= set(re.findall(r'"X-CSRFToken": "([^"]+)"', html))
    for token in tokens:
        html = html.replace(token, "CSRF")
    return html
