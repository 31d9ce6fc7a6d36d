"""Our own small routers (health probes, catalog refresh); the OGC routes come from app/ogc."""
