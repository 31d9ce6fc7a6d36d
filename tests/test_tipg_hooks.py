"""The hooks app/ogc has into tipg, and the private APIs it leans on (listed in app/ogc's
docstring): each checked here, so that an upgrade that moves one fails a test, not a request."""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

import tipg.factory
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from tipg import dependencies as tipg_deps
from tipg.collections import PgCollection

from app.ogc.catalog import ServedCollection, served
from app.ogc.overrides import _route_dependants
from app.ogc.overrides import route_dependants as _route_dependants_with_paths
from app.ogc.params import PARSERS
from app.ogc.responses import AlternateGeoJSONResponse, AlternateORJSONResponse, csv_rows
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
    """app/ogc/geojson_sql.py builds its page from tipg's private query pieces: their names and
    arguments must stay as they are."""
    expected = {
        "_from": ["self", "function_parameters", "params"],
        "_where_clause": ["where"],
        "_sortby": ["self", "sortby"],
        "_select_id": ["self"],
        "_features_count_query": ["self", "conn", "where", "function_parameters"],
    }
    for name, parameters in expected.items():
        assert list(inspect.signature(getattr(PgCollection, name)).parameters) == parameters


def test_fastapi_calls_the_endpoint_through_the_dependant(client: TestClient) -> None:
    """app/ogc/fast_items.py replaces `Dependant.call` of tipg's items and item routes:
    FastAPI must call the endpoint through it at each request (and the fast path answers)."""
    import fastapi.routing

    assert "await dependant.call(**values)" in inspect.getsource(fastapi.routing)
    calls = {path: dependant.call for path, dependant in _route_dependants_with_paths(client.app)}
    for path in ("/collections/{collectionId}/items", "/collections/{collectionId}/items/{itemId}"):
        assert getattr(calls[path], "__module__", "") == "app.ogc.fast_items"
