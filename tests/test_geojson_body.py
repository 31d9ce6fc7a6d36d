"""geojson_items.GeoJsonBody: the headers Starlette's own Response sends for the same answer,
pair for pair and in order, from raw pairs written once."""

from __future__ import annotations

import pytest
from starlette.responses import Response

from app.ogc.envelopes import GEOJSON
from app.ogc.geojson_items import GeoJsonBody


@pytest.mark.parametrize("body", [b"", b'{"type":"Feature"}', "é".encode() * 5000])
def test_the_headers_are_starlettes(body: bytes) -> None:
    etag = 'W/"6f1c2e"'
    ours = GeoJsonBody(body, etag)
    theirs = Response(body, media_type=GEOJSON, headers={"ETag": etag})
    assert ours.raw_headers == theirs.raw_headers
    assert (ours.status_code, ours.body, ours.media_type) == (200, body, theirs.media_type)
    assert ours.headers["content-type"] == "application/geo+json"
