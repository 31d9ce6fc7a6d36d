"""Items queries that tipg would quietly misread are answered 400 instead.

- /req/core/query-param-unknown: a query parameter that the items operation does not define,
  neither one of the route's own parameters nor a property tipg filters on (`property=value`,
  collection_paths.filterable_properties), is refused, named. tipg ignores it, so a misspelt
  filter returned everything.
- A NUL character in a parameter (PostgreSQL text cannot hold one) is refused.
- /req/core/fc-limit-definition: `limit` is at least 1 (the standard's OpenAPI fragment, and
  what /api declares). tipg accepts 0 and serves its default page instead.

Installed as one more dependency of the items route (the route's dependency tree is extended in
place, as overrides.py does for the parsers).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.dependencies.utils import get_dependant
from starlette.requests import Request

from app.errors import InvalidParameter
from app.ogc.collection_paths import filterable_properties
from app.ogc.overrides import dependants_at
from app.ogc.params import CollectionDep, _echo

ITEMS_PATH = "/collections/{collectionId}/items"
MAX_NAMED = 5  # unknown parameters named in one error message


def declared_query_names(dependant: Dependant) -> set[str]:
    """Every query parameter name (alias) of a route, through its sub-dependencies."""

    def walk(node: Dependant) -> Iterator[str]:
        yield from (param.alias for param in node.query_params)
        for sub in node.dependencies:
            yield from walk(sub)

    return set(walk(dependant))


def _refuse_unknown(request: Request, known: set[str], properties: set[str]) -> None:
    unknown = sorted({k for k in request.query_params if k not in known and k not in properties})
    if unknown:
        named = ", ".join(f"'{_echo(name)}'" for name in unknown[:MAX_NAMED])
        raise InvalidParameter(
            f"Unknown query parameter(s): {named}. Items accept {', '.join(sorted(known))}, "
            "and property=value for the collection's lower-case property names (its items "
            "path in /api lists them; any property can be used in a CQL2 filter)."
        )


def _refuse_nul(request: Request) -> None:
    # PostgreSQL text cannot hold NUL: a property filter `name=a%00b` failed in the driver.
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise InvalidParameter(f"Query parameter '{_echo(key)}' holds a NUL character")


def _refuse_limit_below_one(request: Request, maximum: int) -> None:
    for value in request.query_params.getlist("limit"):
        if value.strip().isdigit() and int(value) < 1:
            raise InvalidParameter(f"limit must be between 1 and {maximum}: '{_echo(value)}'")


def items_query_check(known: set[str], maximum: int) -> Callable[..., Coroutine[Any, Any, None]]:
    async def check_items_query(request: Request, collection: CollectionDep) -> None:
        _refuse_nul(request)
        _refuse_limit_below_one(request, maximum)
        _refuse_unknown(request, known, filterable_properties(collection))

    return check_items_query


def install_query_checks(app: FastAPI, maximum: int) -> None:
    """Add the check to the items route; fails at start-up when tipg's route is not found."""
    for _, dependant in dependants_at(app, ITEMS_PATH):
        check = items_query_check(declared_query_names(dependant), maximum)
        dependant.dependencies.append(get_dependant(path=ITEMS_PATH, call=check))
