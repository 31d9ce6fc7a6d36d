"""/api is a valid OpenAPI 3.0 document, served with the OGC media type."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from app.ogc.openapi import to_openapi_30


def test_api_is_valid_openapi_30(client: TestClient) -> None:
    response = client.get("/api")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.oai.openapi+json;version=3.0"
    document = response.json()
    assert document["openapi"].startswith("3.0.")
    validate(document)  # raises on any schema error


def test_limit_documents_our_page_sizes(client: TestClient) -> None:
    document = client.get("/api").json()
    parameters = document["paths"]["/collections/{collectionId}/items"]["get"]["parameters"]
    limit = next(p for p in parameters if p["name"] == "limit")
    assert limit["schema"]["default"] == 10
    assert limit["schema"]["maximum"] == 10_000


def test_document_lists_every_ogc_path(client: TestClient) -> None:
    paths = set(client.get("/api").json()["paths"])
    assert {
        "/",
        "/conformance",
        "/collections",
        "/collections/{collectionId}",
        "/collections/{collectionId}/queryables",
        "/collections/{collectionId}/items",
        "/collections/{collectionId}/items/{itemId}",
    } <= paths


def test_31_forms_become_30_forms() -> None:
    schema: dict[str, Any] = {
        "anyOf": [{"type": "integer", "exclusiveMinimum": 0}, {"type": "null"}],
        "examples": [5],
        "title": "Limit",
    }
    assert to_openapi_30(schema) == {
        "type": "integer",
        "minimum": 0,
        "exclusiveMinimum": True,
        "nullable": True,
        "example": 5,
        "title": "Limit",
    }
    assert to_openapi_30({"const": "Feature"}) == {"enum": ["Feature"]}
    assert to_openapi_30({"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}) == {
        "allOf": [{"$ref": "#/x"}],
        "nullable": True,
    }


def test_validator_rejects_a_31_document(client: TestClient) -> None:
    """The check above can fail: FastAPI's own 3.1 output, labelled 3.0, does not validate."""
    from fastapi.openapi.utils import get_openapi

    raw = get_openapi(title="t", version="1", routes=client.app.routes)  # type: ignore[attr-defined]
    raw["openapi"] = "3.0.3"
    try:
        validate(raw)
    except OpenAPIValidationError:
        return
    raise AssertionError("a 3.1 document passed as 3.0")
