"""Schemathesis drives the API from its own OpenAPI document, with a real surety token
and signing key, on both databases: whatever it sends (valid and invalid data), the
answer is never a 5xx, its status is one the document declares for that operation, and
its body fits the declared schema.

Each operation's strategy runs under Hypothesis here rather than through
``schemathesis.pytest``, whose fixture loader does not run on pytest 9.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from registry.organisations import add_api_client, add_signing_key
from tests.factories import TEST_PUBLIC_PEM

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
EXAMPLES = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture
def token(app, orgs):
    with app.app_context():
        _, token = add_api_client(org_code="EJCS", name="schemathesis")
        add_signing_key(org_code="EJCS", pem=TEST_PUBLIC_PEM)
    app.config["API_RATE_LIMIT"] = "1000000 per minute"
    app.config["API_AUTH_FAILURE_LIMIT"] = "1000000 per minute"
    return token


def _has_input(operation) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("parameters") or raw.get("requestBody"))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=lambda mode: mode.value)
def test_the_api_answers_only_what_it_declares(app, token, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 4  # schemathesis leaves out the document itself

    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _has_input(operation):
            continue  # nothing to send wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @EXAMPLES
        def check(case):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        check()
