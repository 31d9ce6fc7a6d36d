"""The application factory: our FastAPI app with tipg's OGC Features routes composed in."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import cast

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware
from starlette_cramjam.middleware import CompressionMiddleware
from tipg.collections import Collection
from tipg.factory import features_settings as tipg_features_settings
from tipg.middleware import CacheControlMiddleware

from app import __version__
from app.db import database
from app.errors import add_exception_handlers
from app.links import LinkCachingFactory
from app.observe import ObserveMiddleware, RequestMetrics
from app.openapi import install_openapi
from app.paging import PageLimitMiddleware
from app.params import collection_params, install_parameter_parsers
from app.proxy import ProxyHeadersMiddleware
from app.routes import health
from app.routes.refresh import refresh_router
from app.settings import ConfigError, Settings
from app.telemetry import Telemetry, fastapi_class, setup

# Cache-Control goes on metadata only: features change with the data, probes must not be cached.
NOT_CACHED = {r".*/items(/.*)?$", r"^/healthz$", r"^/readyz$", r"^/refresh$"}


def _check_against_tipg(settings: Settings) -> None:
    # tipg validates `limit` against its own import-time maximum before we can clamp it.
    tipg_max = tipg_features_settings.max_features_per_query
    if settings.api.max_page_size > tipg_max:
        raise ConfigError(
            f"WFS3_MAX_PAGE_SIZE ({settings.api.max_page_size}) exceeds tipg's "
            f"TIPG_MAX_FEATURES_PER_QUERY ({tipg_max}); raise that too"
        )


def _add_middleware(app: FastAPI, settings: Settings, traced: bool) -> None:
    """Added inner-most first: the proxy headers are applied before anything reads the URL.

    ObserveMiddleware sits outside compression (it counts the bytes sent) and inside the
    proxy headers (it logs the client address they name)."""
    app.add_middleware(PageLimitMiddleware, **_page_sizes(settings))
    app.add_middleware(
        CacheControlMiddleware,
        cachecontrol=settings.api.cache_control,
        cachecontrol_max_http_code=400,  # errors must not be cached
        exclude_path=NOT_CACHED,
    )
    app.add_middleware(CompressionMiddleware, minimum_size=1024, compression_level=6)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.api.cors_origins,
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=["*"],
    )
    app.add_middleware(ObserveMiddleware, request_metrics=RequestMetrics() if traced else None)
    app.add_middleware(ProxyHeadersMiddleware, trusted=settings.proxy.forwarded_allow_ips)


def _page_sizes(settings: Settings) -> dict[str, int]:
    return {"default": settings.api.default_page_size, "maximum": settings.api.max_page_size}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check()
    _check_against_tipg(settings)
    telemetry = setup(settings.telemetry)
    app = _build(settings, telemetry)
    _add_middleware(app, settings, traced=telemetry is not None)
    return app


def _build(settings: Settings, telemetry: Telemetry | None) -> FastAPI:
    """The app with its routes, parsers, OpenAPI document and error handlers."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with database(app, settings):
                yield
        finally:
            if telemetry is not None:
                # uvicorn re-raises SIGTERM after shutdown, so atexit hooks would never run.
                telemetry.shutdown()

    app = fastapi_class()(
        title=settings.api.title,
        version=__version__,
        openapi_url="/api",
        docs_url="/api.html",
        redoc_url=None,
        lifespan=lifespan,
        # FastAPI's own tracing would be a second layer of spans beside the instrumentation.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    # tipg types the dependency as sync; FastAPI awaits an async one just the same.
    lookup = cast(Callable[..., Collection], collection_params)
    features = LinkCachingFactory(title=settings.api.title, collection_dependency=lookup)
    app.include_router(features.router, tags=["OGC API - Features"])
    app.include_router(health.router)
    if settings.api.refresh_token is not None:
        app.include_router(refresh_router(settings, settings.api.refresh_token))
    install_parameter_parsers(app)
    install_openapi(app, **_page_sizes(settings))
    add_exception_handlers(app)
    return app
