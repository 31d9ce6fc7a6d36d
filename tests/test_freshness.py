"""ogc.collection.data_age (app/otel/freshness.py), exported over OTLP by a real server: a newer
row makes it drop within one catalog reload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from harness.otlp_receiver import OtlpReceiver
from harness.server_process import running_server
from harness.traces import otlp_env

pytestmark = pytest.mark.server  # a real server process: left out of make test-fast

DATA_AGE = "ogc.collection.data_age"
DETECTIONS = "public.fire_detections"
NEW_ROW = (
    "INSERT INTO public.fire_detections (id, observed_at, satellite, confidence,"
    " brightness_k, daynight, geom) VALUES ($1, now(), 'test', 50, 300, 'D',"
    " ST_SetSRID(ST_MakePoint(-120, 38), 4326))"
)
NEW_ID = 987_654_321


def ages(receiver: OtlpReceiver, collection: str) -> list[float]:
    return [
        float(p.value or 0)
        for p in receiver.points
        if p.metric == DATA_AGE and p.attributes == {"ogc.collection.id": collection}
    ]


def test_a_newer_row_makes_the_data_age_drop(database_url: str, sql: Callable[..., Any]) -> None:
    receiver = OtlpReceiver()
    receiver.start()
    env = {**otlp_env(receiver), "WFS3_CATALOG_TTL_SECONDS": "1"}
    newest = sql("SELECT max(observed_at) FROM public.fire_detections")
    try:
        with running_server(database_url, **env):
            [before, *_] = receiver.wait_until(lambda: ages(receiver, DETECTIONS))
            expected = (datetime.now(UTC) - newest).total_seconds()
            assert before == pytest.approx(expected, abs=120)
            assert before > 3600, "the sample's newest detection is older than an hour"
            seen = len(ages(receiver, DETECTIONS))
            sql(NEW_ROW, NEW_ID)

            def dropped() -> list[float]:
                return [age for age in ages(receiver, DETECTIONS)[seen:] if age < 60]

            [after, *_] = receiver.wait_until(dropped, seconds=30)
            print(f"{DATA_AGE} of {DETECTIONS}: {before:.0f} s, then {after:.0f} s")  # noqa: T201
        points = [p for p in receiver.points if p.metric == DATA_AGE]
        collections = {p.attributes["ogc.collection.id"] for p in points}
        assert {DETECTIONS, "public.monitoring_sites"} <= collections  # a date column counts too
    finally:
        sql("DELETE FROM public.fire_detections WHERE id = $1", NEW_ID)
        receiver.stop()
