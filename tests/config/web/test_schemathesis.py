"""Schemathesis against our own OpenAPI description, in-process, as a logged-in admin.

For every operation it generates valid and invalid requests (a bounded number of each:
``BRANCHLINE_SCHEMATHESIS_EXAMPLES``, default 5) and checks that no response is a 5xx, that
every status code, content type and body is one the description declares, and that invalid
requests are refused with a 4xx. It runs over
a real appliance (WebHarness): the requests really reach the store, the accounts and the
link. Schemathesis's own pytest plugin does not run under pytest 9, so each operation is a
parametrised test driving ``operation.as_strategy(mode)`` with hypothesis.

Left out: ``GET /api/live/stream``, which streams until the client leaves (its own tests read
it with a bounded ``events``), and ``DELETE /api/session``, which would end the session every
other generated request runs in (test_api_session.py covers it).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from web_harness import WebHarness

from branchline.config import open_config_store
from branchline.config.web import create_app
from branchline.config.web.auth import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE

EXAMPLES = int(os.environ.get("BRANCHLINE_SCHEMATHESIS_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
LEFT_OUT = {("GET", "/api/live/stream"), ("DELETE", "/api/session")}


def _operations():
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(open_config_store(folder), None, data_dir=Path(folder),
                         announce=lambda message: None)
        app.state.accounts.close()
        paths = app.openapi()["paths"]
    cases = []
    for path, item in sorted(paths.items()):
        for method, operation in sorted(item.items()):
            if (method.upper(), path) in LEFT_OUT:
                continue
            cases.append(pytest.param(method.upper(), path, GenerationMode.POSITIVE,
                                      id=f"{method.upper()} {path} positive"))
            if _negatable(operation):
                cases.append(pytest.param(method.upper(), path, GenerationMode.NEGATIVE,
                                          id=f"{method.upper()} {path} negative"))
    return cases


def _negatable(operation):
    """Whether there is anything to make invalid: a body, or a parameter that is not free
    text (any string is a valid path segment)."""
    if "requestBody" in operation:
        return True
    return any(p["schema"] != {"type": "string", "title": p["schema"].get("title")}
               for p in operation.get("parameters", []))


@pytest.fixture(scope="module")
def api(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("schemathesis"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    admin = harness.client("admin", name="fuzz-admin-7f3")  # a name no generator will guess
    # A body over the size limit is refused with 413 before it is parsed: a rejection too.
    config = schemathesis.Config.from_dict({"checks": {"negative_data_rejection": {
        "expected-statuses": [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429]}}})
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", harness.web, config=config)
    yield admin, schema
    harness.close()


@pytest.mark.parametrize(("method", "path", "mode"), _operations())
def test_generated_requests_get_no_5xx_and_what_the_schema_says(api, method, path, mode):
    admin, schema = api
    operation = schema[path][method]
    calls = []

    @given(case=operation.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case):
        token = admin.headers[CSRF_HEADER]  # bound to the session
        response = case.call(headers={CSRF_HEADER: token},
                             cookies={SESSION_COOKIE: admin.cookies[SESSION_COOKIE],
                                      CSRF_COOKIE: admin.cookies[CSRF_COOKIE]})
        calls.append(response.status_code)
        case.validate_response(response, checks=CHECKS)

    check()
    assert calls, "hypothesis generated no request"
    # Still the admin: no generated request took the session away.
    assert admin.get("/api/session").status_code == 200
