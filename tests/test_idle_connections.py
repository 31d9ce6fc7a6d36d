"""Idle connections closed by app/db/idle.py's sweeps, against a real asyncpg pool: one idle
through SWEEPS sweeps is closed, one in use or used between sweeps is kept, so is the pool's
min_size; the served pool arms no timer per release. These lean on asyncpg's private pool API
(see idle.py) and fail if it changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.idle import SWEEPS, IdleConnections

ITEM = "/collections/public.fire_perimeters/items/1"
DEADLINE_SECONDS = 30.0


def _connected(pool: asyncpg.Pool) -> int:
    return sum(holder._con is not None for holder in pool._holders)


def _pool(url: str, min_size: int = 0) -> Any:
    """A pool as the service makes it: asyncpg's own idle timer off."""
    return asyncpg.create_pool(
        url, min_size=min_size, max_size=2, max_inactive_connection_lifetime=0
    )


def test_an_idle_connection_is_closed_after_its_sweeps_and_one_in_use_is_kept(
    database_url: str,
) -> None:
    async def sweeps() -> list[int]:
        async with _pool(database_url) as pool:
            idle = IdleConnections(pool, 300)
            held, released = await pool.acquire(), await pool.acquire()
            await pool.release(released)
            closed = [idle.sweep() for _ in range(SWEEPS + 1)]  # seen idle, then SWEEPS more
            await pool.release(held)
            closed += [idle.sweep() for _ in range(SWEEPS + 1)]
            return [*closed, _connected(pool)]

    none = [0] * SWEEPS
    assert asyncio.run(sweeps()) == [*none, 1, *none, 1, 0]


def test_a_connection_used_between_sweeps_is_kept(database_url: str) -> None:
    async def sweeps() -> tuple[int, int]:
        async with _pool(database_url) as pool:
            idle = IdleConnections(pool, 300)
            closed = 0
            for _ in range(3 * SWEEPS):
                async with pool.acquire() as connection:
                    await connection.fetchval("SELECT 1")
                closed += idle.sweep()
            return closed, _connected(pool)

    assert asyncio.run(sweeps()) == (0, 1)


def test_the_pools_min_size_is_kept(database_url: str) -> None:
    async def sweeps() -> tuple[int, int]:
        async with _pool(database_url, min_size=1) as pool:
            idle = IdleConnections(pool, 300)
            closed = sum(idle.sweep() for _ in range(3 * SWEEPS))
            return closed, _connected(pool)

    assert asyncio.run(sweeps()) == (0, 1)


def test_the_sweeps_run_on_their_own(database_url: str) -> None:
    """Started, the sweeps close an idle connection (waited for with a deadline), and stop."""

    async def closed_by_the_task() -> bool:
        async with _pool(database_url) as pool:
            idle = IdleConnections(pool, 0.05)
            async with pool.acquire() as connection:
                await connection.fetchval("SELECT 1")
            idle.start()
            deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
            while _connected(pool) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.01)
            await idle.stop()
            return _connected(pool) == 0

    assert asyncio.run(closed_by_the_task())


def _served_pool_state(app: FastAPI) -> tuple[list[Any], Any]:
    with TestClient(app) as client:
        for _ in range(3):
            assert client.get(ITEM).status_code == 200
        pool = app.state.pool
        timers = [holder._inactive_callback for holder in pool.pool._holders]
        return timers, pool.idle


def test_the_served_pool_arms_no_timer_per_release(make_app: Callable[..., FastAPI]) -> None:
    timers, idle = _served_pool_state(make_app())
    assert timers and all(timer is None for timer in timers)
    assert idle.every == 300 / SWEEPS and idle._task is not None


def test_max_idle_zero_keeps_connections_open(
    make_app: Callable[..., FastAPI], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WFS3_DB_POOL_MAX_IDLE_SECONDS", "0")
    timers, idle = _served_pool_state(make_app())
    assert all(timer is None for timer in timers)
    assert idle._task is None
