"""SIGTERM during load (what ECS sends on a deploy): requests in flight complete, new connections
are refused, every answered request's span reaches the collector, and the process exits in time.
"""

from __future__ import annotations

import signal
import threading
import time

import httpx2 as httpx

from tests.otlp_receiver import OtlpReceiver
from tests.server_process import running_server
from tests.test_db_faults import ITEMS, SLOW
from tests.test_tracing import SERVER_KIND


def test_sigterm_under_load_drains_flushes_and_exits(reader_url: str, slow_view: str) -> None:
    receiver = OtlpReceiver()
    receiver.start()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_TRACES_SAMPLER": "always_on",
        "OTEL_BSP_SCHEDULE_DELAY": "60000",  # nothing leaves before shutdown flushes it
        "WFS3_DB_SCHEMAS": f"public,{slow_view}",
        "WFS3_DB_POOL_MAX_SIZE": "10",
    }
    answered: list[int] = []
    refused_after_sigterm: list[bool] = []
    try:
        with running_server(reader_url, **env) as server:
            stop = threading.Event()

            def hammer() -> None:
                while not stop.is_set():
                    try:
                        answered.append(httpx.get(f"{server.base}{ITEMS}", timeout=10).status_code)
                    except httpx.TransportError:
                        return

            def slow() -> None:
                answered.append(httpx.get(f"{server.base}{SLOW}", timeout=10).status_code)

            threads = [threading.Thread(target=hammer) for _ in range(3)]
            threads += [threading.Thread(target=slow) for _ in range(2)]
            for thread in threads:
                thread.start()
            time.sleep(1.0)  # the slow ones are mid-query (2 s each)
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            try:
                httpx.get(f"{server.base}{ITEMS}", timeout=2)
                refused_after_sigterm.append(False)
            except httpx.ConnectError:
                refused_after_sigterm.append(True)
            stop.set()
            for thread in threads:
                thread.join()
            server.process.wait(timeout=15)
            exit_seconds = time.monotonic() - started
        server_spans = [s for s in receiver.spans if s.kind == SERVER_KIND]
    finally:
        receiver.stop()
    assert answered.count(200) == len(answered), answered  # the slow two included
    assert len(answered) > 20
    assert refused_after_sigterm == [True]
    assert exit_seconds < 10
    assert len(server_spans) == len(answered), (len(server_spans), len(answered))
