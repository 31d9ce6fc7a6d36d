"""PausingSpanExporter (app/export_pause.py): after a failed export, batches are kept (not sent),
a timer retries them, and once the collector answers everything kept goes out. End to end:
make reliability's collector rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from app.export_pause import PausingSpanExporter

OK, FAILED = SpanExportResult.SUCCESS, SpanExportResult.FAILURE


class Collector(SpanExporter):
    """Up or down as the test says; records what it received."""

    def __init__(self) -> None:
        self.up = True
        self.attempts = 0
        self.received: list[Any] = []
        self.closed = False

    def export(self, spans: Sequence[Any]) -> SpanExportResult:
        self.attempts += 1
        if not self.up:
            return FAILED
        self.received.extend(spans)
        return OK

    def shutdown(self) -> None:
        self.closed = True


class Timers:
    def __init__(self) -> None:
        self.pending: list[Callable[[], None]] = []

    def start(self, seconds: float, callback: Callable[[], None]) -> None:
        self.pending.append(callback)

    def fire(self) -> None:
        callbacks, self.pending = self.pending, []
        for callback in callbacks:
            callback()


def exporter(hold: int = 100) -> tuple[PausingSpanExporter, Collector, Timers]:
    collector, timers = Collector(), Timers()
    return PausingSpanExporter(collector, 5, hold, timers.start), collector, timers


def test_down_collector_is_tried_once_per_pause_and_gets_everything_back() -> None:
    pausing, collector, timers = exporter()
    collector.up = False
    assert pausing.export(["a", "b"]) is FAILED  # tried, failed: pause
    assert pausing.export(["c"]) is FAILED and pausing.export(["d"]) is FAILED
    assert collector.attempts == 1  # nothing sent during the pause
    timers.fire()  # still down: one more try, pause again
    assert collector.attempts == 2 and len(timers.pending) == 1
    collector.up = True
    timers.fire()  # back: the kept spans go out, oldest first, without waiting for traffic
    assert collector.received == ["a", "b", "c", "d"]
    assert pausing.export(["e"]) is OK and collector.received[-1] == "e"


def test_spans_kept_during_a_pause_are_bounded_and_the_newest_win() -> None:
    pausing, collector, timers = exporter(hold=3)
    collector.up = False
    pausing.export(["a", "b"])
    pausing.export(["c", "d", "e"])
    collector.up = True
    timers.fire()
    assert collector.received == ["c", "d", "e"]


def test_an_idle_pause_ends_and_the_next_batch_is_sent() -> None:
    pausing, collector, timers = exporter()
    collector.up = False
    pausing.export(["a"])
    collector.up = True
    timers.fire()  # the kept span goes out; nothing is paused any more
    assert pausing.export(["b"]) is OK
    assert collector.received == ["a", "b"] and not timers.pending


def test_shutdown_sends_what_is_kept() -> None:
    pausing, collector, _ = exporter()
    collector.up = False
    pausing.export(["a"])
    collector.up = True
    pausing.shutdown()
    assert collector.received == ["a"] and collector.closed
