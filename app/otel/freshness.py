"""How old each collection's newest row is: `ogc.collection.data_age`, a gauge in seconds.

A stalled ingest shows, from the service, as a collection whose newest row stops advancing.
tipg's catalog query already reads each temporal column's maximum (`max()`, exact) on every
catalog load, every WFS3_CATALOG_TTL_SECONDS, so this gauge costs no query of its own and
nothing per request: on export it reports now minus that maximum for each collection with a
temporal column (tipg's default one: its first timestamp or date column). It moves when the
catalog is reloaded, so it lags the data by up to one TTL. A newest row dated in the future
gives a negative age.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from app.ogc.catalog import COLLECTION_ID


def newest_rows(collections: Iterable[Any]) -> Iterator[tuple[str, datetime]]:
    """(collection id, its temporal column's maximum at the last catalog load)."""
    for collection in collections:
        column = getattr(collection, "datetime_column", None)
        if column is None or not column.maxdt:
            continue
        newest = datetime.fromisoformat(column.maxdt)
        yield collection.id, newest if newest.tzinfo else newest.replace(tzinfo=UTC)


def observe_freshness(current_catalog: Callable[[], dict[str, Any] | None]) -> None:
    """Register the gauge, read from `current_catalog()` (tipg's catalog in app.state)."""

    def ages(options: CallbackOptions) -> Iterable[Observation]:
        catalog = current_catalog()
        if not catalog:
            return
        now = datetime.now(UTC)
        for collection_id, newest in newest_rows(catalog["collections"].values()):
            age = (now - newest).total_seconds()
            yield Observation(round(age, 3), {COLLECTION_ID: collection_id})

    metrics.get_meter(__name__).create_observable_gauge(
        "ogc.collection.data_age",  # a literal: deploy/metrics.py finds instruments by it
        [ages],
        unit="s",
        description="Age of the collection's newest row (its temporal column's maximum).",
    )
