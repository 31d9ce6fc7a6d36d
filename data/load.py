"""Load the deterministic sample collections into a database that has none of them yet.

python -m data.load --database-url postgresql://... [--perimeters N --detections N --lines N]
"""

import argparse
import asyncio
import re
import sys
from pathlib import Path

import asyncpg

SAMPLE_SQL = Path(__file__).with_name("sample.sql")
# Collections in other CRSs and around the globe: their own file, so that a database loaded
# before they existed gets them too.
CRS_SAMPLE_SQL = Path(__file__).with_name("sample_crs.sql")
# The collections the sample files create (both files), as the service lists them.
SAMPLE_COLLECTIONS = frozenset(
    f"public.{table}"
    for table in ("fire_perimeters", "fire_detections", "fire_lines", "fire_stations")
    + ("monitoring_sites",)
)
DEFAULT_SIZES = {"perimeters": 10_000, "detections": 100_000, "lines": 4_000}


def render_sample_sql(sizes: dict[str, int]) -> str:
    """Substitute the psql-style size variables (`:perimeters`), leaving `::casts` alone."""
    pattern = re.compile(r"(?<!:):(" + "|".join(sizes) + r")\b")
    return pattern.sub(lambda m: str(int(sizes[m.group(1)])), SAMPLE_SQL.read_text())


async def load(database_url: str, sizes: dict[str, int]) -> bool:
    """Create and fill the sample tables that are missing; return False when none were."""
    scripts = {"public.fire_perimeters": render_sample_sql(sizes)}
    scripts["public.fire_stations"] = CRS_SAMPLE_SQL.read_text()
    loaded = False
    conn = await asyncpg.connect(database_url)
    try:
        for marker, script in scripts.items():
            if not await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", marker):
                await conn.execute(script)
                loaded = True
        return loaded
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    for name, size in DEFAULT_SIZES.items():
        parser.add_argument(f"--{name}", type=int, default=size)
    args = parser.parse_args()
    sizes = {name: getattr(args, name) for name in DEFAULT_SIZES}
    loaded = asyncio.run(load(args.database_url, sizes))
    message = f"loaded sample data {sizes}" if loaded else "sample data already present"
    print(f"db: {message}", file=sys.stderr)  # noqa: T201 (a command-line tool)


if __name__ == "__main__":
    main()
