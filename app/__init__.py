"""veda-wfs3: OGC API - Features over PostGIS, observable from the first request.

- app/ogc: the OGC layer, tipg's engine extended from the outside (`ogc.install`).
- app/db: the asyncpg pool, the lifespan that keeps it and the catalog loaded, the start-up wait.
- app/otel: telemetry, built once into one object that the factory hands to the others.
- app/routes: our own routes (health probes, catalog refresh).
- At the top: settings (the environment, read once), errors (one JSON shape), proxy (trusted
  forwarded headers), edge (the one middleware every request goes through), factory (composes
  the above) and main (uvicorn's entry point).
"""

__version__ = "0.1.0"
