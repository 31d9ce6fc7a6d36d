"""Service configuration: environment → settings objects → create_app.

No other module reads the environment. Settings never read a `.env` file: what the process
environment says is what the service runs with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(ValueError):
    """A setting is missing or malformed; the message is one line and holds no secret."""


@dataclass(frozen=True)
class ConnectionParams:
    """Where to connect, with the password kept apart so no DSN string ever carries it."""

    user: str
    password: SecretStr | None
    host: str
    port: int
    dbname: str

    def dsn_without_password(self) -> str:
        return f"postgresql://{quote(self.user, safe='')}@{self.host}:{self.port}/{self.dbname}"


DB_CONFIG_KEYS = ("username", "password", "host", "port", "dbname")


def _params_from_url(url: str) -> ConnectionParams:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql") or not parts.hostname:
        raise ConfigError("DATABASE_URL must look like postgresql://user:password@host:port/db")
    try:
        port = parts.port or 5432
    except ValueError:
        raise ConfigError("DATABASE_URL has an invalid port") from None
    return ConnectionParams(
        user=unquote(parts.username or "postgres"),
        password=SecretStr(unquote(parts.password)) if parts.password else None,
        host=parts.hostname,
        port=port,
        dbname=unquote(parts.path.lstrip("/")) or "postgres",
    )


def _params_from_db_config(raw: str) -> ConnectionParams:
    """DB_CONFIG is the JSON object ECS injects from a Secrets Manager secret."""
    try:
        config = json.loads(raw)
    except ValueError:
        raise ConfigError("DB_CONFIG is not valid JSON") from None
    if not isinstance(config, dict):
        raise ConfigError("DB_CONFIG must be a JSON object")
    missing = [key for key in DB_CONFIG_KEYS if config.get(key) in (None, "")]
    if missing:
        raise ConfigError(f"DB_CONFIG is missing the key(s): {', '.join(missing)}")
    try:
        port = int(config["port"])
    except (TypeError, ValueError):
        raise ConfigError("DB_CONFIG key 'port' must be an integer") from None
    return ConnectionParams(
        user=str(config["username"]),
        password=SecretStr(str(config["password"])),
        host=str(config["host"]),
        port=port,
        dbname=str(config["dbname"]),
    )


class DatabaseSettings(BaseSettings):
    """Where the database is: DATABASE_URL, else DB_CONFIG, else POSTGRES_* variables."""

    model_config = SettingsConfigDict(extra="ignore")

    database_url: SecretStr | None = None
    db_config: SecretStr | None = None
    postgres_user: str | None = None
    postgres_pass: SecretStr | None = None
    postgres_host: str | None = None
    postgres_port: int = 5432
    postgres_dbname: str | None = None
    # An RDS Proxy endpoint in front of the database: connect there, with the same user,
    # password, port and database as configured (deploy/README.md, "Many tasks").
    db_proxy_host: str | None = None

    def connection(self) -> ConnectionParams:
        params = self._configured()
        return replace(params, host=self.db_proxy_host) if self.db_proxy_host else params

    def _configured(self) -> ConnectionParams:
        if self.database_url is not None:
            return _params_from_url(self.database_url.get_secret_value())
        if self.db_config is not None:
            return _params_from_db_config(self.db_config.get_secret_value())
        if self.postgres_host and self.postgres_user and self.postgres_dbname:
            return ConnectionParams(
                user=self.postgres_user,
                password=self.postgres_pass,
                host=self.postgres_host,
                port=self.postgres_port,
                dbname=self.postgres_dbname,
            )
        raise ConfigError(
            "no database configured: set DATABASE_URL, DB_CONFIG, or POSTGRES_USER, "
            "POSTGRES_PASS, POSTGRES_HOST, POSTGRES_PORT and POSTGRES_DBNAME"
        )


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


CommaList = Annotated[list[str], NoDecode]


class PoolSettings(BaseSettings):
    """The asyncpg pool and what each of its connections is allowed to do."""

    model_config = SettingsConfigDict(env_prefix="WFS3_DB_", extra="ignore")

    pool_min_size: int = Field(1, ge=0)
    pool_max_size: int = Field(10, ge=1)
    statement_timeout_ms: int = Field(10_000, ge=0)
    # How long a request may wait for a free connection before it is answered 503.
    pool_acquire_timeout_ms: int = Field(5_000, ge=1)
    # A connection idle this long is closed (down to pool_min_size); 0: kept open (app/db/idle.py).
    pool_max_idle_seconds: float = Field(300, ge=0)
    # Tables and views of these schemas are published as collections.
    schemas: CommaList = ["public"]

    _split_schemas = field_validator("schemas", mode="before")(_comma_list)


class ApiSettings(BaseSettings):
    """How the API answers."""

    model_config = SettingsConfigDict(env_prefix="WFS3_", extra="ignore")

    title: str = "veda-wfs3: OGC API - Features"
    default_page_size: int = Field(10, ge=1)
    max_page_size: int = Field(10_000, ge=1)
    catalog_ttl_seconds: float = Field(300, ge=0)
    # POST /refresh exists only when this is set, and then requires it as a Bearer token.
    refresh_token: SecretStr | None = None
    cors_origins: CommaList = ["*"]
    cache_control: str = "public, max-age=60"
    # Each feature of an items page links its collection and itself (optional in the standard;
    # see docs/operations.md for what it costs and which clients read them).
    feature_links: bool = False
    # GeoJSON items and item written by PostgreSQL (app/ogc/geojson_items.py); false falls back
    # to tipg's own encoder (slower; the same documents, tests/test_geojson_sql.py).
    geojson_in_sql: bool = True
    # How GeoJSON items count numberMatched: exact | cached (exact, reused while the data is
    # unchanged) | estimate (the planner's) | none (app/ogc/counting.py).
    number_matched: Literal["exact", "cached", "estimate", "none"] = "cached"
    # OGC API - Tiles: vector tiles of every collection (app/ogc/tiles.py).
    tiles: bool = True

    _split_origins = field_validator("cors_origins", mode="before")(_comma_list)


class ProxySettings(BaseSettings):
    """Which peers may tell us the client-facing scheme, host and address (uvicorn's variable)."""

    model_config = SettingsConfigDict(extra="ignore")

    forwarded_allow_ips: CommaList = ["127.0.0.1"]

    _split_ips = field_validator("forwarded_allow_ips", mode="before")(_comma_list)


OtlpProtocol = Literal["grpc", "http/protobuf"]
ExporterChoice = Literal["otlp", "none"]
LogLevel = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR"], BeforeValidator(lambda v: str(v).upper())
]
MetricsTemporality = Annotated[
    Literal["delta", "cumulative"], BeforeValidator(lambda v: str(v).strip().lower())
]
HistogramAggregation = Literal["base2_exponential_bucket_histogram", "explicit_bucket_histogram"]
MAX_EXPORT_TIMEOUT_SECONDS = 60.0


def _export_timeout(value: float | None) -> float | None:
    # The Python SDK reads OTEL_EXPORTER_OTLP_*TIMEOUT in seconds, where the specification says
    # milliseconds (opentelemetry-python #4044): a spec-minded 10000 would let one failing export
    # hold the export thread for hours.
    if value is not None and not 0 < value <= MAX_EXPORT_TIMEOUT_SECONDS:
        raise ValueError(
            f"is read in seconds by the Python SDK, not milliseconds: give more than 0 and at "
            f"most {MAX_EXPORT_TIMEOUT_SECONDS:.0f} (the default is 10)"
        )
    return value


ExportTimeout = Annotated[float | None, AfterValidator(_export_timeout)]


ExemplarFilterChoice = Literal["always_on", "always_off", "trace_based"]


class TelemetrySettings(BaseSettings):
    """The standard OTEL_* variables that our code reads itself.

    Everything else (headers, timeouts, sampler, resource attributes, export intervals)
    is read by the OpenTelemetry SDK from its own OTEL_* variables.
    """

    model_config = SettingsConfigDict(extra="ignore")

    otel_sdk_disabled: bool = False
    # Read here, once, for the exporters and the collector gate alike (app/otel/endpoint.py).
    otel_exporter_otlp_endpoint: str | None = None
    otel_exporter_otlp_traces_endpoint: str | None = None
    otel_exporter_otlp_metrics_endpoint: str | None = None
    otel_exporter_otlp_logs_endpoint: str | None = None
    # Read by the SDK too; ours only to refuse milliseconds (see _export_timeout).
    otel_exporter_otlp_timeout: ExportTimeout = None
    otel_exporter_otlp_traces_timeout: ExportTimeout = None
    otel_exporter_otlp_metrics_timeout: ExportTimeout = None
    otel_exporter_otlp_logs_timeout: ExportTimeout = None
    otel_exporter_otlp_protocol: OtlpProtocol = "grpc"
    otel_exporter_otlp_traces_protocol: OtlpProtocol | None = None
    otel_exporter_otlp_metrics_protocol: OtlpProtocol | None = None
    otel_exporter_otlp_logs_protocol: OtlpProtocol | None = None
    # "none" switches one signal's export off (logs, say, when stdout is shipped already).
    otel_traces_exporter: ExporterChoice = "otlp"
    otel_metrics_exporter: ExporterChoice = "otlp"
    otel_logs_exporter: ExporterChoice = "otlp"
    # CloudWatch's EMF exporter forwards histograms as they come: cumulative counts would grow
    # for the life of the process, and explicit buckets reach CloudWatch as min/max/sum/count
    # only (no percentiles). Hence delta and base-2 exponential by default (the SDK's are
    # cumulative and explicit); the standard variables still override.
    otel_exporter_otlp_metrics_temporality_preference: MetricsTemporality = "delta"
    otel_exporter_otlp_metrics_default_histogram_aggregation: HistogramAggregation = (
        "base2_exponential_bucket_histogram"
    )
    # Exemplars cost every histogram record a look at the current span (three records per
    # request), and CloudWatch's EMF exporter drops them; the standard variable turns them on.
    otel_metrics_exemplar_filter: ExemplarFilterChoice = "always_off"
    # Lowest level of the log lines also sent over OTLP. Every line is on stdout, which ECS ships
    # to CloudWatch Logs already; the access lines (INFO) over OTLP too cost a tenth of the
    # throughput of a small request (bench.overhead) for a copy the collector only counts.
    wfs3_otlp_log_level: LogLevel = "WARNING"
    # Set on ECS (task metadata v4): the resource then carries the task's cluster, ARN and id.
    ecs_container_metadata_uri_v4: str | None = None
    # OTEL_TRACES_SAMPLER=xray is ours (app/otel/xray_sampler.py): X-Ray's sampling rules, polled
    # through the collector's awsproxy, with OTEL_TRACES_SAMPLER_ARG as the ratio to fall back
    # on. Any other sampler is the SDK's, which reads both variables itself.
    otel_traces_sampler: str = "parentbased_always_on"
    otel_traces_sampler_arg: str | None = None
    wfs3_xray_sampling_endpoint: str = "http://localhost:2000"
    wfs3_xray_rules_interval: float = Field(default=300.0, gt=0)

    def xray_fallback_ratio(self) -> float:
        """OTEL_TRACES_SAMPLER_ARG as the xray sampler's fallback ratio (1.0 when unset, as the
        SDK's traceidratio)."""
        if self.otel_traces_sampler_arg is None:
            return 1.0
        try:
            ratio = float(self.otel_traces_sampler_arg)
        except ValueError:
            ratio = -1.0
        if not 0.0 <= ratio <= 1.0:
            raise ConfigError(
                "OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1 with OTEL_TRACES_SAMPLER=xray "
                "(the share of new traces sampled while X-Ray's rules cannot be read)"
            )
        return ratio

    def protocol(self, signal: Literal["traces", "metrics", "logs"]) -> OtlpProtocol | None:
        """The OTLP protocol one signal is exported with; None when its exporter is "none"."""
        if getattr(self, f"otel_{signal}_exporter") == "none":
            return None
        specific: OtlpProtocol | None = getattr(self, f"otel_exporter_otlp_{signal}_protocol")
        return specific or self.otel_exporter_otlp_protocol


class Settings(BaseModel):
    """Everything create_app needs, one object per concern; each part reads its own variables."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    pool: PoolSettings = Field(default_factory=PoolSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)

    def check(self) -> None:
        """Fail fast, with one line, on combinations no single field can validate."""
        self.database.connection()
        if self.api.default_page_size > self.api.max_page_size:
            raise ConfigError("WFS3_DEFAULT_PAGE_SIZE must not exceed WFS3_MAX_PAGE_SIZE")
        if self.pool.pool_min_size > self.pool.pool_max_size:
            raise ConfigError("WFS3_DB_POOL_MIN_SIZE must not exceed WFS3_DB_POOL_MAX_SIZE")
        if self.telemetry.otel_traces_sampler == "xray":
            self.telemetry.xray_fallback_ratio()
