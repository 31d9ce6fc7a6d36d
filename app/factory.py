"""The application factory: composes the OGC layer (app/ogc), the database (app/db), our own
routes and the telemetry object (app/otel) into one FastAPI app."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any, cast

from fastapi import FastAPI
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp

from app import __version__, ogc
from app.db.lifespan import Database
from app.edge import Edge
from app.errors import add_exception_handlers
from app.ogc.items import ItemsRoutes
from app.ogc.metadata import MetadataMiddleware
from app.otel import access_log
from app.otel.telemetry import Telemetry, fastapi_class, setup
from app.routes import health
from app.routes.refresh import refresh_router
from app.settings import Settings

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _add_middleware(
    app: FastAPI, settings: Settings, telemetry: Telemetry, first_routes: ItemsRoutes
) -> None:
    """The edge outermost (ServedApp), outside app/ogc's metadata memo, which then answers from
    memory after the proxy headers are applied and the slashes collapsed, and is observed and
    marked for caching as a rendered answer would be."""
    app.add_middleware(MetadataMiddleware)
    app.edge = partial(  # type: ignore[attr-defined]
        Edge,
        settings=settings,
        request_metrics=telemetry.request_metrics,
        first_routes=first_routes,
    )


def _served_app_class() -> type[FastAPI]:
    """FastAPI (the original class under the launcher: fastapi_class) whose middleware stack has
    the edge (app/edge.py) outermost, in place of Starlette's ServerErrorMiddleware: the edge
    answers every exception itself, inside the request's span, so that layer only passed
    through."""
    base: Any = fastapi_class()

    class ServedApp(base):  # type: ignore[misc]  # a base chosen at run time
        edge: Callable[[ASGIApp], ASGIApp]

        def build_middleware_stack(self) -> ASGIApp:
            stack = super().build_middleware_stack()
            if not isinstance(stack, ServerErrorMiddleware):  # tests/test_edge.py
                raise RuntimeError("Starlette's outermost layer changed: re-check app/factory.py")
            return self.edge(stack.app)

    return cast(type[FastAPI], ServedApp)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.check()
    telemetry = setup(settings.telemetry)
    # The lifespan runs at start-up, by when `database` below is defined.
    app = _new_app(settings, lambda app: _running(app, database, telemetry))
    installed = ogc.install(app, settings, telemetry.collection_class)
    database = Database(
        settings,
        installed.loader,
        telemetry.connection_class,
        telemetry.observe_pool(lambda: getattr(app.state, "pool", None)),
    )
    telemetry.observe_freshness(lambda: getattr(app.state, "collection_catalog", None))
    app.include_router(health.router)
    if settings.api.refresh_token is not None:
        app.include_router(refresh_router(settings.api.refresh_token, database.reload))
    add_exception_handlers(app, telemetry.trace_header, translated=ogc.TIPG_ERRORS)
    _add_middleware(app, settings, telemetry, installed.first_routes)
    return app


@contextlib.asynccontextmanager
async def _running(app: FastAPI, database: Database, telemetry: Telemetry) -> AsyncIterator[None]:
    try:
        async with database.lifespan(app):
            yield
    finally:
        # uvicorn re-raises SIGTERM after shutdown, so atexit hooks would never run.
        access_log.flush_all()
        telemetry.shutdown()


def _new_app(settings: Settings, lifespan: Lifespan) -> FastAPI:
    app = _served_app_class()(
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
