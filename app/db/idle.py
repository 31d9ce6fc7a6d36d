"""Idle connections closed by a sweep every so often, not by a timer per request.

asyncpg closes a connection left idle for `max_inactive_connection_lifetime` (tipg's default:
300 s) by arming a timer on every release and cancelling it on every acquire: ~6 us of an
item request's ~150 us of CPU (`python -m bench.layers`, 151 -> 146 us with the timer off).
The pool is made with that timer off (app/db/lifespan.py) and IdleConnections does the same
job from one task: every `max_idle / SWEEPS` seconds it looks at each connection, and closes one
that sat in the pool, neither acquired nor released, for SWEEPS sweeps in a row, so after
`max_idle` to `max_idle * (1 + 1/SWEEPS)` seconds of idleness. asyncpg's own step closes it
(`_deactivate_inactive_connection`), which, as with its timer, keeps the pool's `min_size`.

Private asyncpg API (Pool._holders; PoolConnectionHolder._con, _in_use and
_deactivate_inactive_connection; Connection._pool_release_ctr, which each release moves):
listed in app/ogc/__init__.py, guarded by tests/test_idle_connections.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

SWEEPS = 5  # sweeps a connection must sit idle through: the idle limit's granularity is 1/SWEEPS


class IdleConnections:
    """Closes `pool`'s connections idle for `max_idle` seconds (see the module's docstring)."""

    def __init__(self, pool: asyncpg.Pool, max_idle: float) -> None:
        self.pool = pool
        self.every = max_idle / SWEEPS
        # holder -> (its connection, that connection's release count, sweeps seen idle)
        self._idle: dict[Any, tuple[Any, int, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="wfs3-idle-connections")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.sweep()

    def sweep(self) -> int:
        """One look at every connection; how many it closed (asyncpg keeps one of `min_size`)."""
        closed = 0
        for holder in self.pool._holders:  # type: ignore[attr-defined]  # private: see above
            if self._idle_through(holder) >= SWEEPS:
                del self._idle[holder]
                holder._deactivate_inactive_connection()
                closed += holder._con is None
        return closed

    def _idle_through(self, holder: Any) -> int:
        """How many sweeps in a row, this one the last, have found `holder`'s connection idle
        and untouched (not released since): 0 when it is in use, just released or gone."""
        connection = holder._con
        if connection is None or holder._in_use is not None or connection.is_closed():
            self._idle.pop(holder, None)
            return 0
        released = connection._pool_release_ctr
        seen, seen_released, sweeps = self._idle.get(holder, (None, -1, -1))
        untouched = seen is connection and seen_released == released
        sweeps = sweeps + 1 if untouched else 0
        self._idle[holder] = (connection, released, sweeps)
        return sweeps
