"""BoundedPool (app/db/pool.py) against a real asyncpg pool: a deadline only for an acquire that
has to wait, and past it the 503's PoolExhausted.

(The 503 a client gets from a running server is tests/test_db_faults.py.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from app.db.pool import BoundedPool
from app.errors import PoolExhausted


class RecordingPool:
    """The real pool, with the deadline of every acquire it is asked for written down."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.deadlines: list[float | None] = []

    def acquire(self, *, timeout: float | None = None) -> Any:
        self.deadlines.append(timeout)
        return self.pool.acquire(timeout=timeout)

    def get_idle_size(self) -> int:
        return self.pool.get_idle_size()


async def _acquire_twice(database_url: str) -> tuple[list[float | None], bool]:
    """The deadlines asked of asyncpg: one acquire with the one connection idle, one while it is
    held; and whether the second failed as PoolExhausted."""
    async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as real:
        recording = RecordingPool(real)
        pool = BoundedPool(recording, acquire_timeout=0.05)  # type: ignore[arg-type]
        exhausted = False
        async with pool.acquire() as connection:
            assert await connection.fetchval("SELECT 1") == 1
            try:
                async with pool.acquire():
                    pass
            except PoolExhausted:
                exhausted = True
        return recording.deadlines, exhausted


def test_only_an_acquire_that_waits_gets_the_deadline(database_url: str) -> None:
    deadlines, exhausted = asyncio.run(_acquire_twice(database_url))
    assert deadlines == [None, 0.05], "an idle connection needs no deadline; a wait gets it"
    assert exhausted, "the wait ended at the deadline, as the 503"


def test_a_free_but_unopened_connection_still_gets_the_deadline(database_url: str) -> None:
    """min_size=0: nothing is idle yet, and opening a connection is a wait like any other."""

    async def acquire_once() -> list[float | None]:
        async with asyncpg.create_pool(database_url, min_size=0, max_size=1) as real:
            recording = RecordingPool(real)
            pool = BoundedPool(recording, acquire_timeout=5.0)  # type: ignore[arg-type]
            async with pool.acquire():
                pass
            return recording.deadlines

    assert asyncio.run(acquire_once()) == [5.0]


def test_a_timeout_given_by_the_caller_is_the_deadline(database_url: str) -> None:
    given = 0.2

    async def acquire_held() -> list[float | None]:
        async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as real:
            recording = RecordingPool(real)
            pool = BoundedPool(recording, acquire_timeout=5.0)  # type: ignore[arg-type]
            async with pool.acquire():
                with pytest.raises(PoolExhausted):
                    async with pool.acquire(timeout=given):
                        pass
            return recording.deadlines

    assert asyncio.run(acquire_held()) == [None, given]
