"""The service's database role can read the published tables and nothing else (data/grants.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

WRITES = [
    "INSERT INTO fire_perimeters (fire_name, state, acres, geom) VALUES ('x', 'CA', 1, NULL)",
    "UPDATE fire_perimeters SET acres = 0",
    "DELETE FROM fire_perimeters",
    "TRUNCATE fire_perimeters",
    "DROP TABLE fire_perimeters",
    "ALTER TABLE fire_perimeters ADD COLUMN x int",
    "CREATE TABLE public.planted (x int)",
    "CREATE VIEW public.planted AS SELECT 1",
    "CREATE SCHEMA planted",
    "CREATE FUNCTION public.planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "COPY fire_perimeters (fire_name) FROM STDIN",
    "SELECT lo_import('/etc/passwd')",
    "SELECT pg_read_file('/etc/passwd')",
    "CREATE ROLE planted",
    "CREATE DATABASE planted",
]


def as_reader(reader_url: str, query: str) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(reader_url)
        try:
            return await conn.fetch(query)
        finally:
            await conn.close()

    return asyncio.run(go())


@pytest.mark.parametrize("statement", WRITES)
def test_no_write_is_possible_through_the_service_role(reader_url: str, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        as_reader(reader_url, statement)


def test_the_role_is_plain_and_reads_every_published_table(reader_url: str, sql: Any) -> None:
    [role] = as_reader(
        reader_url,
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls FROM pg_roles"
        " WHERE rolname = current_user",
    )
    assert not any(role.values())
    privileges = as_reader(
        reader_url,
        "SELECT table_name, array_agg(privilege_type::text ORDER BY privilege_type) AS granted"
        " FROM information_schema.table_privileges"
        " WHERE grantee = current_user GROUP BY table_name",
    )
    tables = sql(
        "SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_tables"
        " WHERE schemaname = 'public' AND tablename NOT LIKE 'spatial_ref_sys'"
    )
    granted = {row["table_name"]: row["granted"] for row in privileges}
    assert {t: granted.get(t) for t in tables} == dict.fromkeys(tables, ["SELECT"])


def test_the_service_serves_through_it(client: TestClient, sql: Any) -> None:
    assert client.get("/readyz").status_code == 200
    page = client.get("/collections/public.fire_perimeters/items", params={"limit": 3}).json()
    assert page["numberReturned"] == 3
    users = sql(
        "SELECT array_agg(DISTINCT usename::text) FROM pg_stat_activity"
        " WHERE application_name = 'veda-wfs3' AND datname = current_database()"
    )
    assert users == ["wfs3_reader"]
