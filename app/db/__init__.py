"""The database: the asyncpg pool (opened by tipg's `connect_to_db`, bounded by ours), the
lifespan that opens it and keeps the catalog loaded, and the wait used by startup.sh.

What telemetry adds (the connection class, the pool-wait histogram) is handed in by the factory;
nothing here imports app/otel.
"""
