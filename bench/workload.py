"""The request mix: for each kind of request, a deterministic list of paths (random windows,
ids and thresholds from a fixed seed), in the dialect of each server under test."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import morecantile

# 200 requests, cycled: after the first pass the memos (envelopes, remembered queries) answer.
# BENCH_PATHS_PER_KIND=20000 makes nearly every request of a kind new, as a panning map's are.
PATHS_PER_KIND = int(os.environ.get("BENCH_PATHS_PER_KIND", "200"))
SEED = 2026
EXTENT = (-124.0, 32.0, -104.0, 49.0)  # the sample data's lon/lat extent
FIRST_DAY = datetime(2015, 1, 1, tzinfo=UTC)
DAYS = 3650


@dataclass(frozen=True)
class Dialect:
    """How a server names collections and asks for JSON."""

    name: str
    qualified: bool  # tipg: `public.fire_perimeters`; pygeoapi: `fire_perimeters`
    json_param: str  # pygeoapi wants f=json, tipg answers JSON without it
    items_param: str = ""  # pg_featureserv orders by id only when asked (sortby=id)

    def items(self, table: str, query: str = "") -> str:
        collection = f"public.{table}" if self.qualified else table
        params = "&".join(p for p in (query, self.json_param, self.items_param) if p)
        return f"/collections/{collection}/items" + (f"?{params}" if params else "")

    def tile(self, table: str, z: int, x: int, y: int) -> str:
        collection = f"public.{table}" if self.qualified else table
        return f"/collections/{collection}/tiles/WebMercatorQuad/{z}/{x}/{y}"

    def item(self, table: str, item_id: int) -> str:
        collection = f"public.{table}" if self.qualified else table
        suffix = f"?{self.json_param}" if self.json_param else ""
        return f"/collections/{collection}/items/{item_id}{suffix}"


TIPG = Dialect("tipg", qualified=True, json_param="")
PYGEOAPI = Dialect("pygeoapi", qualified=False, json_param="f=json")
PG_FEATURESERV = Dialect("pg_featureserv", qualified=True, json_param="", items_param="sortby=id")


def _deep(sizes: dict[str, int]) -> int:
    """Where the page holding feature 90 % of the way through the perimeters starts."""
    return int(sizes["perimeters"] * 0.9) - 100


def _bbox(rng: random.Random, size: float = 2.0) -> str:
    west = rng.uniform(EXTENT[0], EXTENT[2] - size)
    south = rng.uniform(EXTENT[1], EXTENT[3] - size)
    return f"{west:.4f},{south:.4f},{west + size:.4f},{south + size:.4f}"


def _tile(rng: random.Random, zoom: int = 8) -> tuple[int, int, int]:
    """A random WebMercatorQuad tile of the data's extent at `zoom`."""
    tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(*EXTENT, zooms=[zoom]))
    tile = rng.choice(tiles)
    return tile.z, tile.x, tile.y


def _day(rng: random.Random) -> str:
    start = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    end = start + timedelta(days=1)
    return f"{start:%Y-%m-%dT%H:%M:%SZ}/{end:%Y-%m-%dT%H:%M:%SZ}"


Builder = Callable[[Dialect, random.Random, dict[str, int]], str]

# name -> (what it is, path builder). `sizes` are the loaded row counts.
KINDS: dict[str, tuple[str, Builder]] = {
    "items_10": ("perimeters, limit=10", lambda d, r, s: d.items("fire_perimeters", "limit=10")),
    "items_100": ("perimeters, limit=100", lambda d, r, s: d.items("fire_perimeters", "limit=100")),
    "items_1000": (
        "perimeters, limit=1000",
        lambda d, r, s: d.items("fire_perimeters", "limit=1000"),
    ),
    "bbox": (
        "detections in a random 2x2 degree window, limit=100",
        lambda d, r, s: d.items("fire_detections", f"limit=100&bbox={_bbox(r)}"),
    ),
    "datetime": (
        "detections of a random day, limit=100",
        lambda d, r, s: d.items("fire_detections", f"limit=100&datetime={_day(r)}"),
    ),
    "filter": (
        "perimeters, CQL2 text acres > random AND state = 'CA', limit=50",
        lambda d, r, s: d.items(
            "fire_perimeters",
            f"limit=50&filter-lang=cql2-text&filter=acres%20%3E%20{r.randrange(100, 20000)}"
            "%20AND%20state%20%3D%20%27CA%27",
        ),
    ),
    "deep_offset": (
        "perimeters, limit=100, the page at 90 % of the table by offset",
        lambda d, r, s: d.items("fire_perimeters", f"limit=100&offset={_deep(s)}"),
    ),
    "deep_cursor": (
        "perimeters, limit=100, the same page by the cursor a next link carries (after=<id>)",
        lambda d, r, s: d.items("fire_perimeters", f"limit=100&after={_deep(s)}"),
    ),
    "item": (
        "one perimeter by random id",
        lambda d, r, s: d.item("fire_perimeters", r.randrange(1, s["perimeters"] + 1)),
    ),
    "tile": (
        "a vector tile of detections, random z=8 tile of the data's extent (MVT)",
        lambda d, r, s: d.tile("fire_detections", *_tile(r)),
    ),
    "collections": (
        "/collections",
        lambda d, r, s: "/collections" + (f"?{d.json_param}" if d.json_param else ""),
    ),
}


def paths(kind: str, dialect: Dialect, sizes: dict[str, int]) -> list[str]:
    """The same PATHS_PER_KIND requests for every server, in its dialect."""
    rng = random.Random(f"{SEED}-{kind}")
    build = KINDS[kind][1]
    return [build(dialect, rng, sizes) for _ in range(PATHS_PER_KIND)]
