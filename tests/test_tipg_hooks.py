"""The hooks app/ogc has into tipg, and the private APIs it leans on (listed in app/ogc's
docstring): each checked here, so that an upgrade that moves one fails a test, not a request."""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import version
from typing import Any

import tipg.factory
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from starlette.requests import Request
from tipg import dependencies as tipg_deps
from tipg.collections import PgCollection
from tipg.factory import OGCFeaturesFactory

from app.ogc.catalog import ServedCollection, _private, served
from app.ogc.crs import CRS84, epsg
from app.ogc.items import tipg_item_arguments, tipg_items_arguments
from app.ogc.items_query import PageSizes, read_items_query
from app.ogc.overrides import _route_dependants
from app.ogc.params import PARSERS
from app.ogc.paths import ITEM_PATH, ITEMS_PATH
from app.ogc.responses import AlternateGeoJSONResponse, AlternateORJSONResponse, csv_rows
from app.otel.exporters import EXPORTERS
from app.otel.telemetry import fastapi_class

CHECKED_TIPG = "1.6.1"


def test_tipg_is_the_version_the_hooks_were_checked_against() -> None:
    assert version("tipg") == CHECKED_TIPG, (
        "tipg changed: re-check every hook and private API app/ogc/__init__.py lists, then "
        "move CHECKED_TIPG"
    )


def _calls(app: FastAPI) -> set[Any]:
    calls: set[Any] = set()
    stack = list(_route_dependants(app))
    while stack:
        dependant = stack.pop()
        calls |= {sub.call for sub in dependant.dependencies}
        stack.extend(dependant.dependencies)
    return calls


def test_each_of_tipgs_parsers_is_replaced_by_ours(client: TestClient) -> None:
    calls = _calls(client.app)  # type: ignore[arg-type]
    for tipg_parser, ours in PARSERS.items():
        assert tipg_parser not in calls, f"tipg's {tipg_parser.__name__} still runs"
        assert ours in calls, f"our {ours.__name__} is not in any route"
    assert tipg_deps.ids_query not in calls, "tipg's plain-def parsers run wrapped, in the loop"


def test_private_update_openapi_serves_the_ogc_media_type(client: TestClient) -> None:
    response = client.get("/api")
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"


def test_model_construct_copies_every_field_of_a_collection(client: TestClient) -> None:
    catalog = client.app.state.collection_catalog["collections"]  # type: ignore[attr-defined]
    for collection in catalog.values():
        assert type(collection) is ServedCollection
        assert set(PgCollection.model_fields) <= set(collection.__dict__)
        plain = PgCollection.model_construct(
            _fields_set=collection.model_fields_set, **collection.__dict__
        )
        again = served({"c": plain}, ServedCollection)["c"]
        assert again.model_dump() == collection.model_dump()


def test_private_values_read_from_pydantic_private_are_the_attributes(client: TestClient) -> None:
    """catalog._private reads ServedCollection's private attributes from __pydantic_private__
    (pydantic's own path is ~20x slower): it must hold the very values the attributes give, also
    in a copy made for another CRS, and a value set through the attribute must be read back."""
    catalog = client.app.state.collection_catalog["collections"]  # type: ignore[attr-defined]
    collection = next(iter(catalog.values()))
    for name in ("_queries", "_statements", "_output_crs", "_geometry_columns"):
        assert _private(collection, name) is getattr(collection, name)
    copy = collection.in_crs(epsg(3857))
    assert _private(copy, "_output_crs") is copy._output_crs == epsg(3857)
    assert copy.queries is collection.queries is collection._queries
    assert collection.geometry_columns is collection._geometry_columns is not None


def test_private_original_fastapi_is_found_under_the_launcher() -> None:
    original = FastAPI
    instrumentor = FastAPIInstrumentor()
    instrumentor.instrument()
    try:
        import fastapi

        assert fastapi.FastAPI is not original, "the launcher swaps the class in"
        assert fastapi_class() is original
    finally:
        instrumentor.uninstrument()
    assert fastapi_class() is original


def test_tipg_builds_json_bodies_with_the_response_names_we_rebind(client: TestClient) -> None:
    """responses.py rebinds tipg.factory's ORJSONResponse/GeoJSONResponse: tipg must still
    build its JSON responses through those module-level names (and the app installed ours)."""
    source = inspect.getsource(tipg.factory)
    assert "return ORJSONResponse(data)" in source and "return GeoJSONResponse(data)" in source
    assert tipg.factory.ORJSONResponse is AlternateORJSONResponse  # type: ignore[attr-defined]
    assert tipg.factory.GeoJSONResponse is AlternateGeoJSONResponse  # type: ignore[attr-defined]
    assert "create_csv_rows(rows)" in source and tipg.factory.create_csv_rows is csv_rows


def test_private_geom_expr_is_where_tipg_builds_the_output_geometry() -> None:
    """catalog.ServedCollection overrides PgCollection._geom_expr (private) to reproject into
    the requested CRS: tipg must still call it, with these arguments, for every geometry it
    selects (GeoJSON and WKT alike)."""
    parameters = list(inspect.signature(PgCollection._geom_expr).parameters)
    assert parameters == ["self", "geometry_column", "bbox_only", "simplify"]
    assert "self._geom_expr(geometry_column, bbox_only, simplify)" in inspect.getsource(
        PgCollection._select
    )
    assert ServedCollection._geom_expr is not PgCollection._geom_expr


def test_private_query_builders_geojson_sql_reuses() -> None:
    """app/ogc/geojson_sql.py builds its page, and counting.py its count, from tipg's private
    query pieces: their names and arguments must stay as they are."""
    expected = {
        "_from": ["self", "function_parameters", "params"],
        "_where_clause": ["where"],
        "_sortby": ["self", "sortby"],
        "_select_id": ["self"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(PgCollection, name)).parameters) == parameters


def test_tipgs_item_routes_are_replaced_by_ours_and_their_endpoints_take_our_arguments(
    client: TestClient,
) -> None:
    """app/ogc/items.py puts its endpoints where tipg's items and item routes were (found by name
    on tipg's factory router) and calls tipg's endpoint functions for the other formats with the
    keyword arguments tipg_items_arguments / tipg_item_arguments give: each must be one of the
    function's parameters, and every parameter of it must be given."""
    factory = OGCFeaturesFactory()
    tipg_routes = {r.name: r for r in factory.router.routes if isinstance(r, APIRoute)}
    request = Request({"type": "http", "query_string": b"", "headers": []})
    query = read_items_query(b"", None, _a_collection(client), PageSizes(10, 100))
    given = {
        "items": set(tipg_items_arguments(request, None, query)),
        "item": set(tipg_item_arguments(request, None, "1", query)),
    }
    for name, arguments in given.items():
        assert tipg_routes[name].path == {"items": ITEMS_PATH, "item": ITEM_PATH}[name]
        assert set(inspect.signature(tipg_routes[name].endpoint).parameters) == arguments, name
    served = [r for r in client.app.routes if getattr(r, "path", None) in (ITEMS_PATH, ITEM_PATH)]
    served += [
        c.original_route
        for r in client.app.routes
        for c in getattr(r, "effective_route_contexts", list)()
        if c.path_format in (ITEMS_PATH, ITEM_PATH)
    ]
    assert sorted(getattr(r, "name", "") for r in served) == ["item", "items"]
    assert {r.endpoint.__module__ for r in served} == {"app.ogc.items"}  # type: ignore[attr-defined]


def _a_collection(client: TestClient) -> Any:
    return next(iter(client.app.state.collection_catalog["collections"].values()))  # type: ignore[attr-defined]


def test_private_otel_log_names_are_where_we_take_them_from() -> None:
    """app/otel/telemetry.py sets the logger provider through `opentelemetry._logs` and builds
    the SDK's `_logs` handler; app/otel/exporters.py imports the OTLP exporters' `_log_exporter`
    modules by name (all private in the OpenTelemetry packages)."""
    from opentelemetry import _logs
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler  # noqa: F401

    assert callable(_logs.set_logger_provider) and callable(_logs.get_logger_provider)
    for (signal, _), target in EXPORTERS.items():
        module, name = target.split(":")
        assert getattr(importlib.import_module(module), name), (signal, target)


def test_a_collection_in_another_crs_is_the_same_collection(client: TestClient) -> None:
    """catalog.ServedCollection.in_crs is pydantic's shallow model_copy: every field and the
    statement memo are the same objects; only the output CRS differs, and the original keeps
    CRS84."""
    collection = _a_collection(client)
    projected = collection.in_crs(epsg(3857))
    assert projected.__dict__ == collection.__dict__
    assert projected._statements is collection._statements
    assert (projected._output_crs, collection._output_crs) == (epsg(3857), CRS84)
    assert collection.in_crs(CRS84) is collection
