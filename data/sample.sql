-- Deterministic sample data: three fire collections in the western United States.
--
-- The same seed gives the same rows on every run: setseed() fixes random() for this session and
-- parallel plans are switched off, so rows are generated in one order. Sizes are psql-style
-- variables set by data/load.py (:perimeters, :detections, :lines).

SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;

BEGIN;
SELECT setseed(0.2026);

CREATE TABLE public.fire_perimeters (
    id integer PRIMARY KEY,
    fire_name text NOT NULL,
    state text NOT NULL,
    cause text,
    acres double precision NOT NULL,
    containment_pct integer CHECK (containment_pct BETWEEN 0 AND 100),
    ignition_time timestamptz NOT NULL,
    contained_time timestamptz,
    geom geometry(MultiPolygon, 4326) NOT NULL
);
COMMENT ON TABLE public.fire_perimeters IS 'Wildfire perimeters (synthetic sample data)';

-- Each perimeter is a ring (an outer buffer with an inner hole, like an unburned island) and,
-- for one fire in five, a second spot-fire polygon beside it.
INSERT INTO public.fire_perimeters
SELECT
    g.id,
    (ARRAY['Cañón', 'Ōhiʻa', 'Zürich Ridge', 'Bear Creek', 'Dixie', 'Łąka', 'Caldor',
           'Mosquito', 'São Bento', 'Creek', 'Río Grande', 'Tamarack', 'Øster', 'Kincade'])
        [1 + (g.id % 14)] || ' Fire ' || g.id,
    (ARRAY['CA', 'OR', 'WA', 'ID', 'NV', 'AZ', 'NM', 'UT', 'CO', 'MT'])[1 + (g.id % 10)],
    CASE WHEN g.id % 9 = 0 THEN NULL
         ELSE (ARRAY['Lightning', 'Human', 'Equipment', 'Powerline', 'Unknown'])[1 + (g.id % 5)]
    END,
    -- ring area in square degrees, scaled to acres at the fire's latitude
    round((pi() * g.radius ^ 2 * (1 - 1.0 / 9) * 3.045e6 * cos(radians(ST_Y(g.center))))::numeric, 1)
        ::double precision,
    CASE WHEN g.id % 13 = 0 THEN NULL ELSE (g.id * 37) % 101 END,
    g.ignition,
    CASE WHEN g.id % 4 = 0 THEN NULL ELSE g.ignition + (g.id % 40 + 1) * interval '1 day' END,
    ST_Multi(
        CASE WHEN g.id % 5 = 0 THEN
            ST_Union(
                ST_Difference(ST_Buffer(g.center, g.radius, 8), ST_Buffer(g.center, g.radius / 3, 4)),
                ST_Buffer(ST_Translate(g.center, g.radius * 2.5, 0), g.radius / 4, 4))
        ELSE
            ST_Difference(ST_Buffer(g.center, g.radius, 8), ST_Buffer(g.center, g.radius / 3, 4))
        END
    )
FROM (
    SELECT
        n AS id,
        ST_SetSRID(ST_MakePoint(-124 + random() * 20, 32 + random() * 17), 4326) AS center,
        0.005 + random() * 0.05 AS radius,
        timestamptz '2015-01-01 00:00:00+00' + random() * interval '3650 days' AS ignition
    FROM generate_series(1, :perimeters) AS n
) AS g;

CREATE TABLE public.fire_detections (
    id bigint PRIMARY KEY,
    observed_at timestamptz NOT NULL,
    satellite text NOT NULL,
    confidence integer NOT NULL CHECK (confidence BETWEEN 0 AND 100),
    frp_mw double precision,
    brightness_k double precision NOT NULL,
    daynight char(1) NOT NULL,
    geom geometry(Point, 4326) NOT NULL
);
COMMENT ON TABLE public.fire_detections IS 'Active fire detections from polar-orbiting satellites (synthetic)';

INSERT INTO public.fire_detections
SELECT
    n,
    timestamptz '2015-01-01 00:00:00+00' + random() * interval '3650 days',
    (ARRAY['Terra', 'Aqua', 'Suomi NPP', 'NOAA-20', 'NOAA-21'])[1 + (n % 5)],
    (random() * 100)::integer,
    CASE WHEN n % 17 = 0 THEN NULL ELSE round((random() * 500)::numeric, 2)::double precision END,
    round((300 + random() * 100)::numeric, 2)::double precision,
    CASE WHEN n % 3 = 0 THEN 'N' ELSE 'D' END,
    ST_SetSRID(ST_MakePoint(-124 + random() * 20, 32 + random() * 17), 4326)
FROM generate_series(1, :detections) AS n;

CREATE TABLE public.fire_lines (
    id integer PRIMARY KEY,
    fire_id integer NOT NULL REFERENCES public.fire_perimeters (id),
    line_type text NOT NULL,
    built_at timestamptz NOT NULL,
    crew text,
    geom geometry(LineString, 4326) NOT NULL
);
COMMENT ON TABLE public.fire_lines IS 'Containment lines built around fires (synthetic)';

-- A containment line runs along part of its fire's outer boundary.
INSERT INTO public.fire_lines
SELECT
    row_number() OVER (ORDER BY p.id, k),
    p.id,
    (ARRAY['Dozer line', 'Hand line', 'Road', 'Wet line'])[1 + ((p.id + k) % 4)],
    p.ignition_time + (k + 1) * interval '6 hours',
    CASE WHEN (p.id + k) % 6 = 0 THEN NULL ELSE 'Crew ' || ((p.id * 7 + k) % 40 + 1) END,
    ST_LineSubstring(
        ST_ExteriorRing(ST_GeometryN(p.geom, 1)), k * 0.25, k * 0.25 + 0.2)
FROM public.fire_perimeters AS p, generate_series(0, 1) AS k
WHERE p.id <= :lines / 2;

CREATE INDEX ON public.fire_perimeters USING gist (geom);
CREATE INDEX ON public.fire_perimeters (ignition_time);
CREATE INDEX ON public.fire_detections USING gist (geom);
CREATE INDEX ON public.fire_detections (observed_at);
CREATE INDEX ON public.fire_lines USING gist (geom);
CREATE INDEX ON public.fire_lines (built_at);
COMMIT;

ANALYZE public.fire_perimeters;
ANALYZE public.fire_detections;
ANALYZE public.fire_lines;
