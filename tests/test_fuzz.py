"""Property-based fuzzing of every operation in /api with schemathesis, against a real server
process: no server error, and every response conforms to the schema we publish (status code,
content type, headers, body). At least 2,000 generated requests in all (counted, and checked by
the last test of this module).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from harness.server_process import Server, running_server

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

EXAMPLES_PER_OPERATION = 600  # 9 operations; the parameterless ones have few inputs to try
MINIMUM_REQUESTS = 2000
COLLECTIONS = ["public.fire_perimeters", "public.fire_detections", "public.fire_lines"]


@pytest.fixture(scope="module")
def fuzz_server(reader_url: str) -> Iterator[Server]:
    with running_server(reader_url, OTEL_SDK_DISABLED="true") as server:
        yield server


def steer(case: Any) -> None:
    """Two thirds of the generated collection ids become real ones, so the fuzzing reaches the
    items code and not only the 404 (the choice follows the generated value: reproducible)."""
    generated = (case.path_parameters or {}).get("collectionId")
    if generated is not None:
        pick = zlib.crc32(str(generated).encode()) % (len(COLLECTIONS) + 1)
        if pick < len(COLLECTIONS):
            case.path_parameters["collectionId"] = COLLECTIONS[pick]


def fuzz(operation: Any, base: str) -> int:
    """Run one operation's generated cases; return how many requests were sent."""
    sent = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same inputs on every run: a failure in CI reproduces locally
        database=None,
    )
    def check(case: Any) -> None:
        nonlocal sent
        steer(case)
        sent += 1
        # Every response check; not "positive data acceptance": a filter or bbox can be a
        # string the schema allows and still be invalid, and then a 400 is the right answer.
        case.call_and_validate(
            base_url=base, timeout=10, excluded_checks=[positive_data_acceptance]
        )

    check()
    return sent


def test_every_operation_in_the_published_schema(fuzz_server: Server) -> None:
    # (schemathesis's own pytest plugin does not run under pytest 9: hypothesis directly.)
    schema = schemathesis.openapi.from_url(f"{fuzz_server.base}/api")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    total = sum(fuzz(operation, fuzz_server.base) for operation in operations)
    assert total >= MINIMUM_REQUESTS, total
