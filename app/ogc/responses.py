"""What tipg's responses lack: `alternate` links to a resource's other representations, the
items response's `timeStamp`, and a CSV of no features.

OGC API - Features Part 1 (/req/core/fc-links, /req/core/f-links, /req/core/fc-md-links) wants
each response to link "the response document in every other media type supported by the server
(relation: alternate)". tipg serves HTML (and CSV,
GeoJSON-seq for items) but links them only from /collections/{id}.

tipg builds each JSON body as a dict and hands it to `ORJSONResponse` or `GeoJSONResponse`, names
it imports into `tipg.factory`; `install_responses` binds those two names to subclasses that
add, while rendering, an alternate link per other representation, derived from the body's own
`self` link; its CSV writer `create_csv_rows` is rebound the same way. These rebindings are
private to tipg: tests/test_tipg_hooks.py guards them. The way back exists already: tipg's HTML
templates link each page's JSON (or GeoJSON) form.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import tipg.factory
from tipg.resources.response import GeoJSONResponse, ORJSONResponse

# For a JSON body whose self link has this type: the other representations, as (f, type, title).
OTHER_FORMATS = {
    "application/json": [("html", "text/html", "This document as HTML")],
    "application/geo+json": [("html", "text/html", "This document as HTML")],
}
ITEMS_FORMATS = [
    ("csv", "text/csv", "These items as CSV"),
    ("geojsonseq", "application/geo+json-seq", "These items as GeoJSON text sequences"),
]


def with_formats(href: str, formats: list[str]) -> list[str]:
    """`href` with its `f` query parameter set to each of `formats` (others kept, in order)."""
    if "?" not in href and "#" not in href:  # an item's or a collection's URL: nothing to parse
        return [f"{href}?f={fmt}" for fmt in formats]
    parts = urlsplit(href)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return [parts._replace(query=query).geturl() for query in format_queries(pairs, formats)]


def format_queries(
    pairs: list[tuple[str, str]],
    formats: list[str],
    encode: Callable[[list[tuple[str, str]]], str] = urlencode,
) -> list[str]:
    """The query `pairs` with `f` set to each of `formats` (the others kept, in order):
    urlencode([*pairs without f, ("f", fmt)]), the common part encoded once."""
    kept = encode([(k, v) for k, v in pairs if k != "f"])
    head = f"{kept}&" if kept else ""
    return [f"{head}{encode([('f', fmt)])}" for fmt in formats]


def add_alternates(content: Any) -> Any:
    """A JSON body with an alternate link for each representation it lacks one for."""
    links = content.get("links") if isinstance(content, dict) else None
    if not isinstance(links, list):
        return content
    self_link = next((lk for lk in links if lk.get("rel") == "self"), None)
    if self_link is None:
        return content
    formats = list(OTHER_FORMATS.get(self_link.get("type", ""), []))
    if content.get("type") == "FeatureCollection":
        formats += ITEMS_FORMATS
    present = {lk.get("type") for lk in links if lk.get("rel") == "alternate"}
    missing = [
        (fmt, media_type, title) for fmt, media_type, title in formats if media_type not in present
    ]
    hrefs = with_formats(self_link["href"], [fmt for fmt, _, _ in missing])
    for href, (_, media_type, title) in zip(hrefs, missing, strict=True):
        links.append({"href": href, "rel": "alternate", "type": media_type, "title": title})
    return content


def time_stamp() -> str:
    """Now, as an items response's timeStamp: RFC 3339, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_time_stamp(content: Any) -> Any:
    """/req/core/fc-timeStamp: an items response may say when it was generated (RFC 3339, UTC);
    the OGC suite checks the time-dependent requirements only when it does."""
    if isinstance(content, dict) and content.get("type") == "FeatureCollection":
        content.setdefault("timeStamp", time_stamp())
    return content


class AlternateORJSONResponse(ORJSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(add_alternates(content))


class AlternateGeoJSONResponse(GeoJSONResponse):
    def render(self, content: Any) -> bytes:
        return super().render(add_time_stamp(add_alternates(content)))


TIPG_CSV_ROWS = tipg.factory.create_csv_rows


def csv_rows(data: Iterable[dict[str, Any]]) -> Iterator[str]:
    """tipg's CSV lines; none for no rows (tipg's own takes `next()` of an empty iterator and
    breaks the response after its 200 was sent: `f=csv` with a filter that matches nothing)."""
    rows = iter(data)
    first = next(rows, None)
    if first is not None:
        yield from TIPG_CSV_ROWS(itertools.chain([first], rows))


def install_responses() -> None:
    """Bind tipg.factory's response names and CSV writer to ours; before any factory registers
    its routes, whose `response_class` reads them then. Idempotent."""
    setattr(tipg.factory, "ORJSONResponse", AlternateORJSONResponse)  # noqa: B010 (not exported)
    setattr(tipg.factory, "GeoJSONResponse", AlternateGeoJSONResponse)  # noqa: B010
    setattr(tipg.factory, "create_csv_rows", csv_rows)  # noqa: B010
