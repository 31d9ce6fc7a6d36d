"""The ASGI entry point for uvicorn: `app.main:app`, configured from the environment."""

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


app = _app_from_environment()
