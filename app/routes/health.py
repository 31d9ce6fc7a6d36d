"""Liveness and readiness probes for the load balancer and ECS."""

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from app.db.lifespan import readiness_problem
from app.errors import error_response

router = APIRouter(tags=["Health"])


@router.get("/healthz", summary="Liveness: the process answers (no database call).")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and the catalog is loaded.",
    responses={503: {"description": "Not ready, with the reason."}},
)
async def readyz(request: Request) -> JSONResponse:
    problem = await readiness_problem(request.app)
    if problem is not None:
        return error_response(503, "ServiceUnavailable", f"Not ready: {problem}")
    collections = len(request.app.state.collection_catalog["collections"])
    return JSONResponse({"status": "ready", "collections": collections})
