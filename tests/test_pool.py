"""Releasing a pooled connection: no reset round trip per request, never a leaked transaction."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from harness.database import run_sql

ITEMS = "/collections/public.fire_perimeters/items?limit=2"


def test_release_sends_no_reset_query(make_app: Callable[..., FastAPI], reader_url: str) -> None:
    with TestClient(make_app()) as client:
        for _ in range(20):
            assert client.get(ITEMS).status_code == 200
        # pg_stat_activity.query is the last statement each of the pool's backends ran.
        # As the service's role: only it (or a superuser) may read its sessions' statements.
        statements = run_sql(
            reader_url,
            "SELECT array_agg(query) FROM pg_stat_activity"
            " WHERE application_name = 'veda-wfs3' AND datname = current_database()",
        )
    # pg_stat_activity keeps the first 1 kB (track_activity_query_size) of a statement: the
    # items page's names its table after that, so a served page is told by being a SELECT.
    resets = [s for s in statements if "RESET ALL" in s or "UNLISTEN" in s]
    assert [s for s in statements if s.startswith("SELECT") and s not in resets], statements
    assert not resets, statements


def test_open_transaction_is_rolled_back_on_release(make_app: Callable[..., FastAPI]) -> None:
    app = make_app()

    async def leave_transaction_open() -> bool:
        pool = app.state.pool
        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE leaked (x int)")
        async with pool.acquire() as conn:
            in_transaction: bool = conn.is_in_transaction()
            leaked = await conn.fetchval("SELECT to_regclass('pg_temp.leaked') IS NOT NULL")
            return in_transaction or leaked

    with TestClient(app) as client:
        assert client.portal is not None
        assert client.portal.call(leave_transaction_open) is False
