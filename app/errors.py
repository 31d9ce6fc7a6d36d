"""One JSON error shape for every failure: `{"code", "description"}`.

Client mistakes are 4xx with a description that names the bad parameter. Server faults are a
generic 500/503/504 whose detail is logged here and never sent: no SQL text, stack trace or
connection string reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from opentelemetry import trace
from opentelemetry.trace import StatusCode
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Scope

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An error whose status, code and description are fit to send to the client."""

    status = 500
    code = "ServerError"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidParameter(ApiError):
    status = 400
    code = "InvalidParameterValue"


class NotFound(ApiError):
    status = 404
    code = "NotFound"


class Unauthorized(ApiError):
    status = 401
    code = "Unauthorized"


class ServiceUnavailable(ApiError):
    status = 503
    code = "ServiceUnavailable"


class PoolExhausted(ApiError):
    status = 503
    code = "ServiceUnavailable"


class QueryTimeout(ApiError):
    status = 504
    code = "QueryTimeout"


HTTP_CODES = {400: "InvalidParameterValue", 404: "NotFound", 405: "MethodNotAllowed"}

DB_UNAVAILABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InterfaceError,
    # Class 57 covers an administrator shutting the server down under us (a restart).
    asyncpg.exceptions.OperatorInterventionError,
)


TraceHeader = Callable[[], str | None]  # the current trace's `Root=1-…`, from app/otel


def error_response(
    status: int, code: str, description: str, trace_header: str | None = None
) -> JSONResponse:
    body = {"code": code, "description": description}
    if trace_header is not None:
        # The same id as the response header and X-Ray: quote it in a bug report to find the trace.
        body["traceId"] = trace_header.removeprefix("Root=")
    return JSONResponse(body, status_code=status)


@dataclass(frozen=True)
class Problem:
    """What a handler decided to tell the client."""

    status: int
    code: str
    description: str


def _api_error(request: Request, exc: Exception) -> Problem:
    assert isinstance(exc, ApiError)
    if exc.status >= 500:
        logger.warning("%s %s: %s", request.method, request.url.path, exc.description)
    return Problem(exc.status, exc.code, exc.description)


def _validation_error(request: Request, exc: Exception) -> Problem:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err.get("loc", ()) if part != "query")
        problems.append(f"{where}: {err.get('msg', 'invalid')}")
    return Problem(400, "InvalidParameterValue", "Invalid request: " + "; ".join(problems))


def _http_error(request: Request, exc: Exception) -> Problem:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 422:
        return Problem(400, "InvalidParameterValue", str(exc.detail))
    code = HTTP_CODES.get(exc.status_code, "Error")
    return Problem(exc.status_code, code, str(exc.detail))


def _database_error(request: Request, exc: Exception) -> Problem:
    """Map what PostgreSQL said to what the client may know; the rest goes to the log only."""
    if isinstance(exc, asyncpg.exceptions.QueryCanceledError):
        return _api_error(request, QueryTimeout("The query took longer than the server allows."))
    if isinstance(exc, asyncpg.exceptions.DataError):
        # Class 22 (data exception): a value in the request does not fit a column's type. The
        # server message quotes only the offending value, never the statement.
        return Problem(400, "InvalidParameterValue", f"Invalid value: {exc.args[0]}")
    logger.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
    return Problem(500, "ServerError", "The server failed to answer this request.")


def _unavailable(request: Request, exc: Exception) -> Problem:
    logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    return Problem(503, "ServiceUnavailable", "The database is not reachable right now.")


def _unexpected(request: Request, exc: Exception) -> Problem:
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Problem(500, "ServerError", "The server failed to answer this request.")


Handler = Callable[[Request, Exception], Problem]


def _record_on_span(exc: Exception, status: int) -> None:
    """The handled error also goes on the request span: its type always (`error.type`), and for
    a server fault the exception and an ERROR status."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute("error.type", type(exc).__qualname__)
        if status >= 500:
            span.record_exception(exc)
            span.set_status(StatusCode.ERROR, type(exc).__qualname__)


def _responding(handler: Handler, trace_header: TraceHeader) -> Callable[..., JSONResponse]:
    def respond(request: Request, exc: Exception) -> JSONResponse:
        problem = handler(request, exc)
        _record_on_span(exc, problem.status)
        return error_response(problem.status, problem.code, problem.description, trace_header())

    return respond


def unexpected_error(scope: Scope, exc: Exception, trace_header: str | None) -> JSONResponse:
    """The 500 for an exception no handler took: logged with its stack, recorded on the span."""
    return _responding(_unexpected, lambda: trace_header)(Request(scope), exc)


def registered_handler(
    handlers: Mapping[Any, Callable[..., Any]], exc: Exception
) -> Callable[..., Any] | None:
    """The handler `add_exception_handlers` registered for `exc`'s nearest class, as Starlette's
    ExceptionMiddleware finds it; None for one only the catch-all `Exception` takes, which
    app/edge.py answers inside the request's span."""
    for cls in type(exc).__mro__:
        if cls is Exception:
            return None
        if cls in handlers:
            return handlers[cls]
    return None


def add_exception_handlers(
    app: FastAPI,
    trace_header: TraceHeader,
    translated: Mapping[type[Exception], type[ApiError]],
) -> None:
    """Every error answered in one shape; `translated` maps a library's exceptions (tipg's, whose
    messages are written for clients) to the ApiError whose status they get."""

    def translate(request: Request, exc: Exception) -> Problem:
        return _api_error(request, translated[type(exc)](str(exc)))

    handlers: dict[type[Exception], Handler] = {
        ApiError: _api_error,
        RequestValidationError: _validation_error,
        HTTPException: _http_error,
        asyncpg.PostgresError: _database_error,
    }
    handlers.update(dict.fromkeys(translated, translate))
    handlers.update(dict.fromkeys(DB_UNAVAILABLE, _unavailable))
    # A statement timeout is also an OperatorInterventionError (class 57): keep it a 504.
    handlers[asyncpg.exceptions.QueryCanceledError] = _database_error
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, _responding(handler, trace_header))
    # Any other exception is answered by app/edge.py (unexpected_error), inside the request's
    # span: the edge is the app's outermost layer, where Starlette's ServerErrorMiddleware
    # (which would take an `Exception` handler) stood.
