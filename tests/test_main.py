"""The served process's entry point, app.main, as uvicorn imports it."""

from __future__ import annotations

import os
import subprocess
import sys


def test_served_process_keeps_its_start_up_objects_out_of_the_collector() -> None:
    # A full collection would otherwise traverse every module, route and model the import made.
    code = "import gc, app.main; print(gc.get_freeze_count())"
    env = {
        **os.environ,
        "DATABASE_URL": "postgresql://u:p@127.0.0.1:9/d",  # never connected to at import
        "OTEL_SDK_DISABLED": "true",
    }
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 0
