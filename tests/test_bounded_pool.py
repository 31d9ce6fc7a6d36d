"""BoundedPool (app/db/pool.py) against a real asyncpg pool: a deadline only for an acquire that
has to wait, and past it the 503's PoolExhausted; a release that makes no Task (it leans on
asyncpg's private release API: these tests fail if that changes) and still rolls back a
transaction and survives a connection its user closed.

(The 503 a client gets from a running server is tests/test_db_faults.py.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from app.db.pool import BoundedPool, _idle_connection_waits
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

    @property
    def _queue(self) -> Any:  # what BoundedPool looks in for an open connection (private)
        return self.pool._queue

    async def release(self, connection: Any) -> None:
        await self.pool.release(connection)


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


def test_an_open_connection_is_found_waiting_exactly_when_asyncpg_counts_one_idle(
    database_url: str,
) -> None:
    """_idle_connection_waits reads asyncpg's private queue of free holders: it must say what
    the public get_idle_size() says, as connections are opened, taken, given back and closed."""

    async def both_ways() -> list[tuple[bool, bool]]:
        async with asyncpg.create_pool(database_url, min_size=1, max_size=3) as real:
            seen = []

            def look() -> None:
                seen.append((_idle_connection_waits(real), real.get_idle_size() > 0))

            look()  # one open, two never opened
            first = await real.acquire()
            look()  # the open one taken: only unopened holders wait
            second = await real.acquire()
            await real.release(first)
            look()  # one given back
            await real.release(second)
            for holder in real._holders:
                await holder.close()
            look()  # all closed
            return seen

    seen = asyncio.run(both_ways())
    assert [found for found, _ in seen] == [True, False, True, False]
    assert all(found == counted for found, counted in seen), seen


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


async def _tasks_made_by_releases(database_url: str, releases: int) -> tuple[int, int, set[int]]:
    """Tasks created while `releases` connections went back, the idle connections after, and
    the backends that served."""
    made = 0

    def counting_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += 1
        return asyncio.Task(coro, loop=loop, **kwargs)

    async with asyncpg.create_pool(database_url, min_size=2, max_size=2) as real:
        pool = BoundedPool(real, acquire_timeout=5.0)
        backends = set()
        loop = asyncio.get_running_loop()
        for _ in range(releases):
            async with pool.acquire() as connection:
                backends.add(await connection.fetchval("SELECT pg_backend_pid()"))
                loop.set_task_factory(counting_factory)
            loop.set_task_factory(None)
        return made, real.get_idle_size(), backends


def test_a_release_makes_no_task_and_the_connection_is_reused(database_url: str) -> None:
    """asyncpg's own release shields itself in a new Task, an extra turn of the event loop."""
    made, idle, backends = asyncio.run(_tasks_made_by_releases(database_url, 5))
    assert made == 0
    assert idle == 2, "every connection back in the pool"
    assert len(backends) == 1, "the same connection each time: released, not replaced"


def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    async def leave_a_transaction_open() -> tuple[bool, int, int]:
        async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as real:
            pool = BoundedPool(real, acquire_timeout=5.0)
            async with pool.acquire() as connection:
                await connection.execute("BEGIN")
                first = await connection.fetchval("SELECT pg_backend_pid()")
            async with pool.acquire() as connection:
                open_after = connection.is_in_transaction()
                second = await connection.fetchval("SELECT pg_backend_pid()")
            return open_after, first, second

    open_after, first, second = asyncio.run(leave_a_transaction_open())
    assert not open_after
    assert first == second, "rolled back and kept, not terminated"


def test_a_connection_closed_by_its_user_leaves_the_pool_usable(database_url: str) -> None:
    async def close_inside() -> tuple[int, int]:
        async with asyncpg.create_pool(database_url, min_size=1, max_size=1) as real:
            pool = BoundedPool(real, acquire_timeout=5.0)
            async with pool.acquire() as connection:
                await connection.close()
            async with pool.acquire() as connection:
                answer = await connection.fetchval("SELECT 1")
            return answer, real.get_idle_size()

    assert asyncio.run(close_inside()) == (1, 1)
