"""The paths our code names, each defined once, and which requests are about data.

Data (items and tiles) changes with the database; everything else the OGC layer serves
(landing page, conformance, collections, queryables, schemas, /api, tilesets, tile matrix sets)
comes from the catalog in memory. Probes and the reload endpoint are neither, and are never cached.
"""

from __future__ import annotations

import re

ITEMS_PATH = "/collections/{collectionId}/items"
ITEM_PATH = "/collections/{collectionId}/items/{itemId}"
COLLECTIONS_PATH = "/collections"
COLLECTION_PATH = "/collections/{collectionId}"

# Regular expressions on a request's path (tipg's CacheControlMiddleware takes them as strings).
ITEMS = r".*/items(/.*)?$"
TILE = r".*/tiles/+[^/]+/+[^/]+/+[^/]+/+[^/]+/*$"  # .../tiles/{tileMatrixSetId}/{z}/{x}/{y}
PROBES = r"^/(healthz|readyz|refresh)$"

# Cache-Control goes on metadata and tiles: items change with every commit, probes must be live.
NOT_CACHED = frozenset({ITEMS, PROBES})
# Not metadata, which is rendered once per catalog (metadata.py); items have ETags of their own.
# Tileset lists, tilesets, TileJSON and tile matrix sets are metadata: they come from the catalog.
NOT_METADATA = re.compile("|".join((ITEMS, TILE, PROBES)))
