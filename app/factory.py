"""The application factory: composes the OGC layer (app/ogc), the database (app/db), our own
routes and the telemetry object (app/otel) into one FastAPI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette_cramjam.middleware import CompressionMiddleware
from tipg.middleware import CacheControlMiddleware

from app import __version__, ogc
from app.db.lifespan import Database
from app.errors import add_exception_handlers
from app.ogc import paths
from app.ogc.metadata import MetadataMiddleware
from app.otel.middleware import ObserveMiddleware
from app.otel.telemetry import Telemetry, fastapi_class, setup
from app.proxy import ProxyHeadersMiddleware
from app.routes import health
from app.routes.refresh import refresh_router
from app.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _add_middleware(app: FastAPI, settings: Settings, telemetry: Telemetry) -> None:
    """Added inner-most first (app/ogc's slash-collapsing middleware is already inside them
    all): the proxy headers are applied before anything reads the URL.

    ObserveMiddleware sits outside compression (it counts the bytes sent) and inside the
    proxy headers (it logs the client address they name)."""
    # Inside Cache-Control, which then marks a 304 as it would the 200.
    app.add_middleware(MetadataMiddleware)
    app.add_middleware(
        CacheControlMiddleware,
        cachecontrol=settings.api.cache_control,
        cachecontrol_max_http_code=400,  # errors must not be cached
        exclude_path=set(paths.NOT_CACHED),
    )
    app.add_middleware(CompressionMiddleware, minimum_size=1024, compression_level=6)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api.cors_origins,
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["*"],
    )
    app.add_middleware(ObserveMiddleware, request_metrics=telemetry.request_metrics)
    app.add_middleware(ProxyHeadersMiddleware, trusted=settings.proxy.forwarded_allow_ips)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check()
    telemetry = setup(settings.telemetry)
    # The lifespan runs at start-up, by when `database` below is defined.
    app = _new_app(settings, lambda app: _running(app, database, telemetry))
    catalog_loader = ogc.install(app, settings, telemetry.collection_class)
    database = Database(
        settings,
        catalog_loader,
        telemetry.connection_class,
        telemetry.observe_pool(lambda: getattr(app.state, "pool", None)),
    )
    telemetry.observe_freshness(lambda: getattr(app.state, "collection_catalog", None))
    app.include_router(health.router)
    if settings.api.refresh_token is not None:
        app.include_router(refresh_router(settings.api.refresh_token, database.reload))
    add_exception_handlers(app, telemetry.trace_header, translated=ogc.TIPG_ERRORS)
    _add_middleware(app, settings, telemetry)
    return app


@contextlib.asynccontextmanager
async def _running(app: FastAPI, database: Database, telemetry: Telemetry) -> AsyncIterator[None]:
    try:
        async with database.lifespan(app):
            yield
    finally:
        # uvicorn re-raises SIGTERM after shutdown, so atexit hooks would never run.
        telemetry.shutdown()


def _new_app(settings: Settings, lifespan: Lifespan) -> FastAPI:
    app = fastapi_class()(
        title=settings.api.title,
        version=__version__,
        openapi_url="/api",
        docs_url="/api.html",
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own tracing would be a second layer of spans beside our own.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    return app
