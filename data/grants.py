"""The service's read-only database role: what it may do, granted by the database's owner.

    python -m data.grants --database-url OWNER_URL --role wfs3_reader [--schema public ...]

The service only reads. Its role (created by a superuser: scripts/db.sh here, Terraform on AWS)
gets exactly:

    GRANT CONNECT, TEMPORARY ON DATABASE <db> TO <role>;
    GRANT USAGE ON SCHEMA <schema> TO <role>;
    GRANT SELECT ON ALL TABLES IN SCHEMA <schema> TO <role>;   -- tables, views, matviews
    ALTER DEFAULT PRIVILEGES IN SCHEMA <schema> GRANT SELECT ON TABLES TO <role>;

TEMPORARY is what tipg needs: on every new connection it creates its catalog functions in the
session's own pg_temp schema (gone with the session). The role owns nothing, has no CREATE on any
schema (PostgreSQL 15 no longer grants it on public) and no INSERT/UPDATE/DELETE/TRUNCATE
anywhere; the default privileges make tables the owner adds later readable without a new grant.
A read-only transaction default would be tighter still, but PostgreSQL refuses even temporary
CREATE FUNCTION in a read-only transaction, so tipg could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

import asyncpg


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_statements(database: str, role: str, schemas: list[str]) -> list[str]:
    who = quote_ident(role)
    statements = [f"GRANT CONNECT, TEMPORARY ON DATABASE {quote_ident(database)} TO {who}"]
    for schema in map(quote_ident, schemas):
        statements += [
            f"GRANT USAGE ON SCHEMA {schema} TO {who}",
            f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {who}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {who}",
        ]
    return statements


async def grant_read_only(owner_url: str, role: str, schemas: list[str]) -> None:
    """Run the grants as the database owner; safe to run again."""
    conn = await asyncpg.connect(owner_url)
    try:
        database = await conn.fetchval("SELECT current_database()")
        for statement in grant_statements(database, role, schemas):
            await conn.execute(statement)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True, help="the database owner's URL")
    parser.add_argument("--role", required=True)
    parser.add_argument("--schema", action="append", dest="schemas")
    args = parser.parse_args()
    schemas = args.schemas or ["public"]
    asyncio.run(grant_read_only(args.database_url, args.role, schemas))
    print(f"db: {args.role} may read {', '.join(schemas)}", file=sys.stderr)  # noqa: T201


if __name__ == "__main__":
    main()
