"""veda-wfs3: OGC API - Features over PostGIS, observable from the first request."""

__version__ = "0.1.0"
