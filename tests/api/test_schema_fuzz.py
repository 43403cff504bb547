"""schemathesis against the OpenAPI schema, in process: 0 server errors, 0 schema violations.

Every operation gets `LB_FUZZ_EXAMPLES` generated requests, valid and invalid mixed (default 3: about 330
cases for the ~110 operations, well under a minute), sent with an admin token through the real WSGI app;
everything written is rolled back with the test's transaction. The full run, by hand:
`LB_FUZZ_EXAMPLES=20 .venv/bin/pytest tests/api/test_schema_fuzz.py --junitxml=fuzz.xml` (over 2,000
cases; the count is the `generated_cases` property in the XML).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import make_actor

EXAMPLES = int(os.environ.get("LB_FUZZ_EXAMPLES", "3"))
# The suite's bounded run generates the same cases every time (a stable gate); a run with a chosen size
# explores new ones each time.
DERANDOMIZE = "LB_FUZZ_EXAMPLES" not in os.environ
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def wsgi_app(db: None) -> Iterator[Any]:
    """The real WSGI app, minus what would close the test's connection (and its transaction) per request.

    Django's own test client detaches the same receiver, for the same reason.
    """
    from appliance.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_every_operation_conforms_to_the_schema(wsgi_app: Any, record_testsuite_property: Any) -> None:
    auth = {"Authorization": f"Bearer {make_actor('admin', username='fuzzer').token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app, headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    failures: dict[str, str] = {}
    cases = 0
    for operation in operations:
        valid_or_not = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=valid_or_not)
        @settings(
            max_examples=EXAMPLES,
            derandomize=DERANDOMIZE,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            nonlocal cases
            cases += 1
            with transaction.atomic():  # a failing case must not abort the test's transaction
                case.call_and_validate(headers=auth, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every failing operation is reported
            failures[f"{operation.method.upper()} {operation.path}"] = str(exc)[:2000]
    record_testsuite_property("generated_cases", cases)
    assert not failures, "\n\n".join(f"{name}:\n{text}" for name, text in failures.items())
    assert len(operations) >= 40 and cases >= len(operations)
