"""The ASGI entry point for uvicorn: `app.main:app`, configured from the environment."""

import gc

from fastapi import FastAPI
from pydantic import ValidationError

from app.factory import create_app
from app.settings import ConfigError


def _one_line(exc: ValidationError) -> str:
    # Field names and reasons only: pydantic's own text would echo the (secret) input values.
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
    )


def _app_from_environment() -> FastAPI:
    try:
        return create_app()
    except ConfigError as exc:
        raise SystemExit(f"veda-wfs3: configuration error: {exc}") from None
    except ValidationError as exc:
        raise SystemExit(f"veda-wfs3: configuration error: {_one_line(exc)}") from None


def _freeze_start_up_objects() -> None:
    """Move what the import made (modules, routes, models, the telemetry: ~100k objects, kept for
    the process's life) out of the collector's reach. Each full collection traversed them all:
    under load one every few seconds, a pause of tens of ms that every request in flight waits
    out (the p99 of `make bench`). Garbage is collected first, so none is kept for good."""
    gc.collect()
    gc.freeze()


app = _app_from_environment()
_freeze_start_up_objects()
