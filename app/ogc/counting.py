"""numberMatched without counting the whole filtered table on every page (WFS3_NUMBER_MATCHED).

- `exact`: tipg's `SELECT count(*)` with every page.
- `cached` (default): exact, but counted once per collection and filter and reused while the
  data PostgreSQL shows is the same. Each page statement also returns its snapshot
  (`pg_current_snapshot()`: xmin, xmax and the transactions in progress); two statements with
  the same snapshot see exactly the same committed transactions, so the same rows and the same
  count. Any write anywhere that commits changes it, so a change is seen at once, with no
  trigger and no polling of statistics (which PostgreSQL reports up to seconds late).
- `estimate`: the planner's row estimate for the filter (EXPLAIN), labelled so in the docs.
- `none`: no numberMatched (the standard allows it); `next` is offered while pages are full.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Literal

import asyncpg
import orjson
from cql2 import Expr
from tipg.collections import PgCollection

CountMode = Literal["exact", "cached", "estimate", "none"]
CACHED_FILTERS = 1024  # (collection, filter) counts kept; the least recently used go first


def _from_where(
    collection: PgCollection, where: Expr | None, functions: dict[str, str]
) -> tuple[str, list[Any]]:
    params: list[Any] = []
    sql = " ".join([collection._from(functions, params), collection._where_clause(where)])
    return sql, params


class MatchedCounter:
    """numberMatched for a page, in one of the modes above; one per app."""

    def __init__(self, mode: CountMode) -> None:
        self.mode = mode
        self._counts: OrderedDict[tuple[Any, ...], tuple[int, str]] = OrderedDict()

    async def matched(
        self,
        collection: PgCollection,
        conn: asyncpg.Connection,
        where: Expr | None,
        functions: dict[str, str],
        snapshot: str,
    ) -> int | None:
        if self.mode == "none":
            return None
        tail, params = _from_where(collection, where, functions)
        if self.mode == "estimate":
            return await _estimate(conn, tail, params)
        if self.mode == "exact":
            return int(await conn.fetchval(f"SELECT count(*) {tail}", *params))
        return await self._cached(conn, (collection.id, tail, *params), tail, params, snapshot)

    async def _cached(
        self,
        conn: asyncpg.Connection,
        key: tuple[Any, ...],
        tail: str,
        params: list[Any],
        snapshot: str,
    ) -> int:
        hit = self._counts.get(key)
        if hit is not None and hit[1] == snapshot:
            self._counts.move_to_end(key)
            return hit[0]
        sql = f"SELECT count(*), pg_current_snapshot()::text {tail}"
        row = await conn.fetchrow(sql, *params)
        assert row is not None  # an aggregate always returns one row
        self._counts[key] = (int(row[0]), row[1])
        self._counts.move_to_end(key)
        while len(self._counts) > CACHED_FILTERS:
            self._counts.popitem(last=False)
        return int(row[0])


async def _estimate(conn: asyncpg.Connection, tail: str, params: list[Any]) -> int:
    plan = await conn.fetchval(f"EXPLAIN (FORMAT JSON) SELECT 1 {tail}", *params)
    document = orjson.loads(plan) if isinstance(plan, str | bytes) else plan
    return int(document[0]["Plan"]["Plan Rows"])
