"""tipg's own exceptions and the status each gets: their messages are written for clients."""

from __future__ import annotations

from tipg import errors as tipg_errors

from app.errors import ApiError, InvalidParameter, NotFound, ServiceUnavailable

MAX_ECHO = 80  # characters of client input quoted back in an error message


def echo(value: str) -> str:
    """Client input as an error message quotes it: cut short, so a message stays readable."""
    return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"


TIPG_ERRORS: dict[type[Exception], type[ApiError]] = {
    tipg_errors.NotFound: NotFound,
    tipg_errors.InvalidBBox: InvalidParameter,
    tipg_errors.InvalidDatetime: InvalidParameter,
    tipg_errors.InvalidLimit: InvalidParameter,
    tipg_errors.InvalidPropertyName: InvalidParameter,
    tipg_errors.InvalidGeometryColumnName: InvalidParameter,
    tipg_errors.InvalidDatetimeColumnName: InvalidParameter,
    tipg_errors.MissingDatetimeColumn: InvalidParameter,
    tipg_errors.MissingGeometryColumn: InvalidParameter,
    tipg_errors.MissingFunctionParameter: InvalidParameter,
    tipg_errors.NoPrimaryKey: NotFound,
    tipg_errors.MissingCollectionCatalog: ServiceUnavailable,
}
