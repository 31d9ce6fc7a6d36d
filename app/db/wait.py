"""Wait, bounded, until the configured database accepts a connection (used by startup.sh).

    python -m app.db.wait SECONDS

Exits 0 once `SELECT 1` succeeds, 1 when the time is up. The service itself would start without
the database and become ready later; waiting first only keeps start-up logs quiet.
"""

import asyncio
import sys
import time

import asyncpg

from app.settings import DatabaseSettings


async def wait(seconds: float) -> bool:
    params = DatabaseSettings().connection()
    deadline = time.monotonic() + seconds
    while True:
        try:
            conn = await asyncpg.connect(
                params.dsn_without_password(),
                password=params.password.get_secret_value() if params.password else None,
                timeout=2,
            )
            await conn.fetchval("SELECT 1")
            await conn.close()
            return True
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            if time.monotonic() >= deadline:
                print(f"wait_for_db: gave up: {type(exc).__name__}", file=sys.stderr)  # noqa: T201
                return False
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    sys.exit(0 if asyncio.run(wait(float(sys.argv[1]))) else 1)
