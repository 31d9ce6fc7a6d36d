"""POST /refresh: reload the collection catalog now. Exists only when a token is configured."""

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Request
from pydantic import SecretStr

from app.errors import Unauthorized


def refresh_router(token: SecretStr, reload: Callable[[FastAPI], Awaitable[int]]) -> APIRouter:
    """The route; `reload(app)` reloads the catalog and says how many collections it has."""
    router = APIRouter(tags=["Admin"])
    expected = f"Bearer {token.get_secret_value()}".encode()

    @router.post("/refresh", summary="Reload the collection catalog (admin token required).")
    async def refresh(
        request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> dict[str, int]:
        given = (authorization or "").encode()
        if not hmac.compare_digest(given, expected):
            raise Unauthorized("A valid 'Authorization: Bearer <token>' header is required.")
        return {"collections": await reload(request.app)}

    return router
