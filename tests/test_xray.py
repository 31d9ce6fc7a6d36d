"""X-Ray header parsing and formatting (our own logic, no exporter needed)."""

from __future__ import annotations

import pytest

from app.otel.xray import format_trace_id, parse_root


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Root=1-67891233-abcdef012345678912345678", 0x67891233ABCDEF012345678912345678),
        (
            "Self=1-67891234-12456789abcdef012345678;Root=1-67891233-abcdef012345678912345678",
            0x67891233ABCDEF012345678912345678,
        ),
        ("Root=1-67891233-abcdef012345678912345678;Sampled=1", 0x67891233ABCDEF012345678912345678),
        ("Root=1-00000000-000000000000000000000000", None),
        ("Root=1-6789123-abcdef012345678912345678", None),
        ("Root=2-67891233-abcdef012345678912345678", None),
        ("root=garbage", None),
        ("", None),
    ],
)
def test_parse_root(header: str, expected: int | None) -> None:
    assert parse_root(header) == expected


def test_format_round_trips() -> None:
    trace_id = 0x5759E988BD862E3FE1BE46A994272793
    assert format_trace_id(trace_id) == "1-5759e988-bd862e3fe1be46a994272793"
    assert parse_root(f"Root={format_trace_id(trace_id)}") == trace_id


@pytest.mark.parametrize(
    ("trace_id", "expected"),
    [
        (1, "1-00000000-000000000000000000000001"),
        (1 << 96, "1-00000001-000000000000000000000000"),
        ((1 << 128) - 1, "1-ffffffff-ffffffffffffffffffffffff"),
    ],
)
def test_format_pads_both_parts(trace_id: int, expected: str) -> None:
    assert format_trace_id(trace_id) == expected
    assert parse_root(f"Root={expected}") == trace_id
