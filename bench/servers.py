"""The servers under test, each one uvicorn worker on a loopback port, and the collector."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from bench.workload import PG_FEATURESERV, PYGEOAPI, TIPG, Dialect
from harness.server_process import ROOT, Server, free_port, running_server

PYGEOAPI_VENV = ROOT / ".cache/pygeoapi-venv"
UV = ROOT / ".cache/uv/bin/uv"


@dataclass
class Case:
    name: str
    label: str
    dialect: Dialect = TIPG
    env: dict[str, str] = field(default_factory=dict)
    command: list[str] | None = None  # None: startup.sh, as production
    ready_path: str = "/readyz"
    external: str | None = None  # a server started by hand, at this address (not ours to start)
    kinds: frozenset[str] | None = None  # the request kinds it answers; None: every kind

    def serves(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds


@dataclass
class ExternalServer:
    """A server someone else runs: only its address is known (no process, no memory figure)."""

    base: str
    process: None = None


# pg_featureserv (CrunchyData) is measured by hand: built from its source outside the
# repository, serving wfs3_bench with `sortby=id` and the same pool size; its address here.
PG_FEATURESERV_VARIABLE = "BENCH_PG_FEATURESERV"


def uvicorn(python_bin: Path, target: str, workers: int = 1) -> list[str]:
    return [str(python_bin / "uvicorn"), target, "--workers", str(workers), "--no-access-log"]


def cases(collector_endpoint: str, pygeoapi_env: dict[str, str]) -> list[Case]:
    traced = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector_endpoint}
    return [
        Case("traced", "(a) ours, traced 100 %", env=traced),
        Case(
            "traced_10",
            "(b) ours, traced 10 %",
            env={
                **traced,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": "0.1",
            },
        ),
        Case("untraced", "(c) ours, OTEL_SDK_DISABLED", env={"OTEL_SDK_DISABLED": "true"}),
        Case(
            "tipg",
            "(d) stock tipg",
            command=uvicorn(ROOT / ".venv/bin", "tipg.main:app"),
            ready_path="/healthz",
        ),
        Case(
            "pygeoapi",
            "(e) pygeoapi",
            dialect=PYGEOAPI,
            env=pygeoapi_env,
            command=uvicorn(PYGEOAPI_VENV / "bin", "pygeoapi.starlette_app:APP"),
            ready_path="/conformance?f=json",
        ),
        *_pg_featureserv(),
    ]


def _pg_featureserv() -> list[Case]:
    address = os.environ.get(PG_FEATURESERV_VARIABLE, "").rstrip("/")
    if not address:
        return []  # the report then says "not measured"
    return [Case("pg_featureserv", "(h) pg_featureserv", PG_FEATURESERV, external=address)]


@contextlib.contextmanager
def start(case: Case, database_url: str) -> Iterator[Server | ExternalServer]:
    if case.external is not None:
        yield ExternalServer(case.external)
        return
    # WEB_CONCURRENCY=1 unless the case says otherwise; the collector's own logs stay quiet.
    env = {"WEB_CONCURRENCY": "1", **case.env}
    with running_server(database_url, case.command, ready_path=case.ready_path, **env) as server:
        yield server


@contextlib.contextmanager
def collector(log: Path) -> Iterator[str]:
    """The locally built collector with bench/otelcol.yaml: receive, batch, count."""
    binary = subprocess.run(
        [str(ROOT / "scripts/collector.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    port = free_port()
    env = {**os.environ, "OTELCOL_OTLP_GRPC_PORT": str(port)}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "--config", str(ROOT / "bench/otelcol.yaml")], env=env, stdout=out, stderr=out
        )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def pygeoapi_setup(database_url: str, workdir: Path) -> dict[str, str]:
    """A venv with the pinned pygeoapi, its config for the sample tables, its OpenAPI file."""
    if not (PYGEOAPI_VENV / "bin/uvicorn").exists():
        env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
        subprocess.run(
            [str(UV), "venv", "-q", "--python", "python3", str(PYGEOAPI_VENV)], check=True, env=env
        )
        subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "-q",
                "--python",
                str(PYGEOAPI_VENV / "bin/python"),
                "-r",
                str(ROOT / "bench/pygeoapi-requirements.txt"),
            ],
            check=True,
            env=env,
        )
    config = workdir / "pygeoapi.yml"
    config.write_text(yaml.safe_dump(_pygeoapi_config(database_url)))
    openapi = workdir / "pygeoapi-openapi.yml"
    subprocess.run(
        [
            str(PYGEOAPI_VENV / "bin/pygeoapi"),
            "openapi",
            "generate",
            str(config),
            "--output-file",
            str(openapi),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "PYGEOAPI_CONFIG": str(config)},
    )
    return {"PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}


def _pygeoapi_resource(table: str, time_field: str, dsn: dict[str, object]) -> dict[str, object]:
    return {
        "type": "collection",
        "title": table,
        "description": f"sample {table}",
        "keywords": ["fire"],
        "extents": {"spatial": {"bbox": [-180, -90, 180, 90]}},
        "providers": [
            {
                "type": "feature",
                "name": "PostgreSQL",
                "data": dsn,
                "id_field": "id",
                "table": table,
                "geom_field": "geom",
                "time_field": time_field,
            }
        ],
    }


def _pygeoapi_config(database_url: str) -> dict[str, object]:
    url = urlsplit(database_url)
    dsn = {
        "host": url.hostname,
        "port": url.port,
        "dbname": url.path.lstrip("/"),
        "user": url.username,
        "password": url.password,
        "search_path": ["public"],
    }
    contact = {"name": "bench", "email": "bench@example.org", "url": "http://example.org"}
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": 5000},
            "url": "http://127.0.0.1:5000",
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "bench",
                "description": "bench",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "http://example.org",
                "url": "http://example.org",
            },
            "license": {"name": "CC-BY 4.0", "url": "http://example.org"},
            "provider": {"name": "bench", "url": "http://example.org"},
            "contact": {**contact, "role": "pointOfContact"},
        },
        "resources": {
            "fire_perimeters": _pygeoapi_resource("fire_perimeters", "ignition_time", dsn),
            "fire_detections": _pygeoapi_resource("fire_detections", "observed_at", dsn),
        },
    }
