"""schemathesis against the OpenAPI schema, as a logged-in user: no input may produce a server error.

CI runs a small profile (KYOSEI_FUZZ_EXAMPLES, default 8 examples per operation); `make fuzz` runs a fuller one.
"""

import os
import re

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from infra.database.embedded import free_port
from tests.live import serve
from tests.sessions import open_session

EXAMPLES = int(os.environ.get("KYOSEI_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def fuzz_server(settings, database_urls):
    from core.app import create_app

    with serve(create_app(settings, app_database_url=database_urls.app), free_port()) as url:
        yield url


@pytest.fixture(scope="module")
def fuzz_session(database_urls):
    return open_session(database_urls, "394017", ("staff", "coordinator", "tenant-admin"))


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(f"{fuzz_server}/api/schema/openapi.json")


def test_no_input_makes_the_api_fail(api_schema, fuzz_server, fuzz_session):
    """Every operation of the schema, EXAMPLES generated inputs each; any 5xx fails with the operation named."""
    from hypothesis import given

    headers = {"Cookie": f"kyosei_session={fuzz_session.raw}", "X-CSRF-Token": fuzz_session.csrf}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations, "the OpenAPI schema lists no operations"
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
        def exercise(case):
            response = case.call(base_url=fuzz_server, headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        exercise()


def test_no_api_operation_answers_without_credentials(app, fuzz_server):
    """Authentication bypass check over the app's own route table: every /api route but the schema wants a login."""
    import re

    for route in app.routes:
        if not route.path.startswith("/api/") or route.path.startswith("/api/schema"):
            continue
        path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", route.path)
        for method in sorted(getattr(route, "methods", ())):
            if method in ("HEAD", "OPTIONS"):
                continue
            response = httpx.request(method, f"{fuzz_server}{path}", json={} if method in ("POST", "PUT", "PATCH") else None)
            assert response.status_code == 401, f"{method} {route.path} answered {response.status_code} without login"


def test_hostile_text_in_query_strings_and_json_bodies_never_makes_the_api_fail(fuzz_server, fuzz_session):
    """The Japanese input corpus's refused values and bad bytes, in every query parameter and every JSON field name
    the schema knows, to every operation: refused (4xx) or accepted, never a 5xx."""
    import json

    from tests.japanese_input import HOSTILE_BYTES, REFUSED

    document = httpx.get(f"{fuzz_server}/api/schema/openapi.json").json()
    singles = ("q", "tag", "assignee", "area", "after", "text", "status")  # one alone: no other refusal comes first
    fields = sorted({name for schema in document.get("components", {}).get("schemas", {}).values()
                     for name in schema.get("properties", {})} | set(singles))
    headers = {"Cookie": f"kyosei_session={fuzz_session.raw}", "X-CSRF-Token": fuzz_session.csrf}
    failures = []
    with httpx.Client(base_url=fuzz_server, headers=headers, timeout=30) as client:
        for path, methods in document["paths"].items():
            concrete = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)
            for method in methods:
                if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                    continue
                for raw in HOSTILE_BYTES:
                    for query in ("&".join(f"{f}={raw}" for f in fields), *(f"{f}={raw}" for f in singles)):
                        response = client.request(method.upper(), f"{concrete}?{query}")
                        if response.status_code >= 500:
                            failures.append(f"{method.upper()} {path}?{query[:20]} -> {response.status_code}")
                if method.upper() in ("POST", "PUT", "PATCH"):
                    for value, _ in REFUSED:
                        body = json.dumps({f: value for f in fields}).encode()
                        response = client.request(method.upper(), concrete, content=body,
                                                  headers={"content-type": "application/json"})
                        if response.status_code >= 500:
                            failures.append(f"{method.upper()} {path} {value!r} -> {response.status_code}")
    assert failures == []
