"""Schemathesis drives the API from its own OpenAPI document, with a real surety token
and signing key, on both databases: its coverage phase (boundary and schema-breaking
values, undeclared methods) and random valid and invalid data. Whatever it sends, the
answer is never a 5xx, its status is one the document declares for that operation, its
body fits the declared schema, an undeclared method answers 405 with ``Allow``, and
data that breaks the schema is refused.

Not checked: that schema-valid data is accepted. A valid signature over a generated
document cannot be generated; test_api.py covers acceptance with signed documents.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dsure_portal.openapi import openapi_document
from registry.accounts.organisations import add_api_client, add_signing_key
from tests.factories import TEST_PUBLIC_PEM

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def token(app, orgs):
    with app.app_context():
        _, token = add_api_client(org_code="EJCS", name="schemathesis")
        add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
    # The run is a flood by design; the limits have their own tests.
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    app.config["API_AUTH_FAILURE_LIMIT"] = "1000000 per minute"
    return token


@schema.parametrize()
@settings(max_examples=30, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_the_api_answers_only_what_it_declares(case, app, token):
    response = case.call(app=app, base_url="http://localhost/api/v1",
                         headers={"Authorization": f"Bearer {token}"})
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
