"""Where the database comes from, and that its password never shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr, ValidationError

from app.factory import create_app
from app.settings import (
    ApiSettings,
    ConfigError,
    DatabaseSettings,
    PoolSettings,
    Settings,
    TelemetrySettings,
)

SECRET = "hunter2-not-in-logs"
UNTRACED = TelemetrySettings(otel_sdk_disabled=True)


def db_config_for(url: str) -> dict[str, Any]:
    parts = urlsplit(url)
    return {
        "username": parts.username,
        "password": parts.password,
        "host": parts.hostname,
        "port": parts.port,
        "dbname": parts.path.lstrip("/"),
    }


def test_database_url_wins_over_db_config_and_postgres_vars() -> None:
    settings = DatabaseSettings(
        database_url=SecretStr("postgresql://a:pw@first:5433/one"),
        db_config=SecretStr(
            json.dumps(
                {"username": "b", "password": "x", "host": "second", "port": 1, "dbname": "two"}
            )
        ),
        postgres_user="c",
        postgres_host="third",
        postgres_dbname="three",
    )
    params = settings.connection()
    assert (params.host, params.port, params.dbname, params.user) == ("first", 5433, "one", "a")


def test_db_config_wins_over_postgres_vars() -> None:
    config = {"username": "b", "password": "x", "host": "second", "port": "6543", "dbname": "two"}
    settings = DatabaseSettings(
        database_url=None,  # the suite's own DATABASE_URL must not win here
        db_config=SecretStr(json.dumps(config)),
        postgres_user="c",
        postgres_host="third",
        postgres_dbname="three",
    )
    assert settings.connection().host == "second"
    assert settings.connection().port == 6543


def test_db_proxy_host_replaces_only_the_host() -> None:
    config = {
        "username": "b",
        "password": "x",
        "host": "db.internal",
        "port": "6543",
        "dbname": "two",
    }
    settings = DatabaseSettings(
        database_url=None, db_config=SecretStr(json.dumps(config)), db_proxy_host="proxy.internal"
    )
    params = settings.connection()
    assert (params.host, params.port, params.dbname, params.user) == (
        "proxy.internal",
        6543,
        "two",
        "b",
    )
    assert params.password is not None and params.password.get_secret_value() == "x"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('{"username": "u", "password": "p", "host": "h", "dbname": "d"}', "port"),
        ('{"password": "p", "host": "h", "port": 5432}', "username, dbname"),
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ('{"username": "u", "password": "p", "host": "h", "port": "x", "dbname": "d"}', "port"),
    ],
)
def test_malformed_db_config_names_the_problem(config: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        DatabaseSettings(database_url=None, db_config=SecretStr(config)).connection()
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_password_is_in_no_repr_or_dsn() -> None:
    settings = DatabaseSettings(database_url=SecretStr(f"postgresql://u:{SECRET}@h:5432/d"))
    assert SECRET not in repr(settings) and SECRET not in str(settings)
    params = settings.connection()
    assert SECRET not in repr(params)
    assert SECRET not in params.dsn_without_password()
    assert params.password is not None and params.password.get_secret_value() == SECRET


def start_main(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL",)}
    return subprocess.run(
        [sys.executable, "-c", "import app.main"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bad_db_config_stops_start_with_one_line() -> None:
    config = {"username": "u", "password": SECRET, "host": "h", "dbname": "d"}
    result = start_main({"DB_CONFIG": json.dumps(config)})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == ["veda-wfs3: configuration error: DB_CONFIG is missing the key(s): port"]
    assert SECRET not in result.stderr + result.stdout


def test_bad_number_setting_stops_start_with_one_line() -> None:
    result = start_main(
        {"DATABASE_URL": f"postgresql://u:{SECRET}@h/d", "WFS3_DB_POOL_MAX_SIZE": "lots"}
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pool_max_size" in lines[0]
    assert SECRET not in result.stderr


@pytest.mark.parametrize(
    "variable",
    ["OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"],
)
def test_an_export_timeout_in_milliseconds_stops_start_with_one_line(variable: str) -> None:
    result = start_main({"DATABASE_URL": f"postgresql://u:{SECRET}@h/d", variable: "10000"})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable.lower() in lines[0] and "in seconds" in lines[0], lines


@pytest.mark.parametrize("ratio", ["10%", "1.5"])
def test_an_xray_fallback_that_is_no_ratio_stops_start_with_one_line(ratio: str) -> None:
    environment = {"OTEL_TRACES_SAMPLER": "xray", "OTEL_TRACES_SAMPLER_ARG": ratio}
    result = start_main({"DATABASE_URL": f"postgresql://u:{SECRET}@h/d", **environment})
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "OTEL_TRACES_SAMPLER_ARG must be a ratio" in lines[0], lines


def test_the_sdk_reads_export_timeouts_in_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the check above rests on; should an SDK upgrade switch to milliseconds (as the
    specification has it), this fails and the check must go."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "7")
    assert OTLPSpanExporter(insecure=True)._timeout == 7.0
    assert TelemetrySettings().otel_exporter_otlp_timeout == 7.0


def test_service_runs_from_db_config(database_url: str) -> None:
    settings = Settings(
        database=DatabaseSettings(
            database_url=None, db_config=SecretStr(json.dumps(db_config_for(database_url)))
        ),
        pool=PoolSettings(),
        api=ApiSettings(),
        telemetry=UNTRACED,
    )
    with TestClient(create_app(settings)) as app_client:
        assert app_client.get("/readyz").status_code == 200


def test_service_runs_from_postgres_variables(database_url: str) -> None:
    config = db_config_for(database_url)
    database = DatabaseSettings(
        database_url=None,
        db_config=None,
        postgres_user=config["username"],
        postgres_pass=SecretStr(config["password"]),
        postgres_host=config["host"],
        postgres_port=config["port"],
        postgres_dbname=config["dbname"],
    )
    settings = Settings(
        database=database, pool=PoolSettings(), api=ApiSettings(), telemetry=UNTRACED
    )
    with TestClient(create_app(settings)) as app_client:
        assert app_client.get("/readyz").status_code == 200


def test_wrong_password_is_not_logged(
    make_app: Callable[..., Any], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    parts = urlsplit(database_url)
    wrong = parts._replace(netloc=f"{parts.username}:{SECRET}@{parts.hostname}:{parts.port}")
    caplog.set_level("DEBUG")
    with TestClient(make_app(wrong.geturl()), raise_server_exceptions=False) as app_client:
        response = app_client.get("/readyz")
        assert response.status_code == 503
        assert app_client.get("/collections/public.fire_lines/items").status_code == 503
    assert "database not ready" in caplog.text
    assert SECRET not in caplog.text
    assert SECRET not in response.text


def test_inconsistent_page_sizes_are_refused(database_url: str) -> None:
    settings = Settings(
        database=DatabaseSettings(database_url=SecretStr(database_url)),
        pool=PoolSettings(),
        api=ApiSettings(default_page_size=500, max_page_size=100),
        telemetry=UNTRACED,
    )
    with pytest.raises(ConfigError, match="WFS3_DEFAULT_PAGE_SIZE"):
        create_app(settings)


def test_otlp_protocol_per_signal_and_exporters_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_LOGS_EXPORTER", "none")
    telemetry = TelemetrySettings()
    assert telemetry.protocol("traces") == "grpc"
    assert telemetry.protocol("metrics") == "http/protobuf"
    assert telemetry.protocol("logs") is None
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    with pytest.raises(ValidationError):
        TelemetrySettings()


def test_metrics_are_delta_and_exponential_unless_told_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = TelemetrySettings()
    assert defaults.otel_exporter_otlp_metrics_temporality_preference == "delta"
    assert (
        defaults.otel_exporter_otlp_metrics_default_histogram_aggregation
        == "base2_exponential_bucket_histogram"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "CUMULATIVE")
    monkeypatch.setenv(
        "OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION", "explicit_bucket_histogram"
    )
    told = TelemetrySettings()
    assert told.otel_exporter_otlp_metrics_temporality_preference == "cumulative"
    assert told.otel_exporter_otlp_metrics_default_histogram_aggregation == (
        "explicit_bucket_histogram"
    )
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "lowmemory")
    with pytest.raises(ValidationError):  # not one we support: said at start, not ignored
        TelemetrySettings()


def test_exemplars_are_off_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TelemetrySettings().otel_metrics_exemplar_filter == "always_off"
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "trace_based")
    assert TelemetrySettings().otel_metrics_exemplar_filter == "trace_based"
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")
    with pytest.raises(ValidationError):
        TelemetrySettings()
