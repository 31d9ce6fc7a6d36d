"""The benchmark database: the sample collections at benchmark scale, loaded once and reused.

A database `wfs3_bench` beside the development one, filled by data/load.py at BENCH_SIZES; it is
rebuilt only when its row counts differ from the sizes asked for.
"""

from __future__ import annotations

import asyncio
import os
import sys
from urllib.parse import urlsplit

import asyncpg

from data.load import load
from harness.database import recreate_database

BENCH_DB = "wfs3_bench"
DEFAULT_SIZES = {"perimeters": 100_000, "detections": 1_000_000, "lines": 4_000}
TABLES = {"perimeters": "fire_perimeters", "detections": "fire_detections", "lines": "fire_lines"}


def sizes_from_env() -> dict[str, int]:
    return {k: int(os.environ.get(f"BENCH_{k.upper()}", v)) for k, v in DEFAULT_SIZES.items()}


async def _counts(url: str) -> dict[str, int] | None:
    conn = await asyncpg.connect(url)
    try:
        if not await conn.fetchval("SELECT to_regclass('public.fire_perimeters') IS NOT NULL"):
            return None
        return {
            k: await conn.fetchval(f"SELECT count(*) FROM public.{t}") for k, t in TABLES.items()
        }
    finally:
        await conn.close()


def row_counts(url: str) -> dict[str, int]:
    """The sample tables' row counts in the database at `url` (what a workload's ids range over)."""
    counts = asyncio.run(_counts(url))
    if counts is None:
        raise SystemExit(f"no sample data in {urlsplit(url).path.lstrip('/')}: run make db")
    return counts


async def _ensure(base_url: str, sizes: dict[str, int]) -> str:
    url = urlsplit(base_url)._replace(path=f"/{BENCH_DB}").geturl()
    try:
        present = await _counts(url)
    except asyncpg.InvalidCatalogNameError:
        present = None
    if present == sizes:
        return url
    print(f"bench: loading {sizes} into {BENCH_DB} (once)", file=sys.stderr, flush=True)
    await recreate_database(base_url, BENCH_DB)
    await load(url, sizes)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return url


def bench_database(base_url: str, sizes: dict[str, int]) -> str:
    """The URL of a database holding exactly `sizes` sample rows."""
    return asyncio.run(_ensure(base_url, sizes))
