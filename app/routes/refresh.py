"""POST /refresh: reload the collection catalog now. Exists only when a token is configured."""

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import SecretStr

from app.db import load_catalog
from app.errors import Unauthorized
from app.settings import Settings


def refresh_router(settings: Settings, token: SecretStr) -> APIRouter:
    router = APIRouter(tags=["Admin"])
    expected = f"Bearer {token.get_secret_value()}".encode()

    @router.post("/refresh", summary="Reload the collection catalog (admin token required).")
    async def refresh(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, int]:
        given = (authorization or "").encode()
        if not hmac.compare_digest(given, expected):
            raise Unauthorized("A valid 'Authorization: Bearer <token>' header is required.")
        return {"collections": await load_catalog(request.app, settings)}

    return router
