-- Deterministic sample data for coordinate reference systems and the whole globe:
--
-- * public.fire_stations: stations in California stored in a projected CRS, California Albers
--   (EPSG:3310, metres), so that reprojection, `crs` and `bbox-crs` meet real projected data.
-- * public.monitoring_sites: a small global collection with sites near both poles, on the
--   equator, in the UK and on both sides of the antimeridian, the places the OGC test suite
--   draws its bounding boxes around.
--
-- Loaded by data/load.py (and docker/initdb-sample.sh) after sample.sql, into a database that
-- lacks public.fire_stations.

SET max_parallel_workers_per_gather = 0;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;

BEGIN;
SELECT setseed(0.3310);

CREATE TABLE public.fire_stations (
    id integer PRIMARY KEY,
    station_name text NOT NULL,
    agency text NOT NULL,
    engines integer NOT NULL CHECK (engines >= 0),
    staffed_year_round boolean NOT NULL,
    opened date NOT NULL,
    geom geometry(Point, 3310) NOT NULL
);
COMMENT ON TABLE public.fire_stations IS
    'Fire stations in California, stored in California Albers (EPSG:3310) (synthetic)';

INSERT INTO public.fire_stations
SELECT
    n,
    'Station ' || n,
    (ARRAY['CAL FIRE', 'USFS', 'County', 'City', 'BLM'])[1 + (n % 5)],
    1 + (n % 4),
    n % 3 <> 0,
    date '1950-01-01' + (random() * 25000)::integer,
    ST_Transform(ST_SetSRID(ST_MakePoint(-123.5 + random() * 7.5, 33.5 + random() * 8), 4326), 3310)
FROM generate_series(1, 400) AS n;

CREATE TABLE public.monitoring_sites (
    id integer PRIMARY KEY,
    site_name text NOT NULL,
    region text NOT NULL,
    elevation_m double precision,
    established date NOT NULL,
    geom geometry(Point, 4326) NOT NULL
);
COMMENT ON TABLE public.monitoring_sites IS
    'Atmospheric monitoring sites around the globe (synthetic; positions approximate)';

INSERT INTO public.monitoring_sites (id, site_name, region, elevation_m, established, geom)
SELECT id, site_name, region, elevation_m, established::date, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM (VALUES
    (1, 'Mauna Loa', 'Pacific', 3397, '1958-03-01', -155.576, 19.536),
    (2, 'Chukotka East', 'Arctic', 40, '1992-07-01', 179.40, 66.90),
    (3, 'Bering Strait West', 'Arctic', 15, '1994-06-15', 178.10, 68.20),
    (4, 'Wrangel Island', 'Arctic', 5, '1998-08-01', -179.50, 67.40),
    (5, 'Little Diomede', 'Arctic', 20, '2001-05-20', -177.80, 65.70),
    (6, 'London Kensington', 'Europe', 25, '1972-01-01', -0.175, 51.499),
    (7, 'Chilbolton', 'Europe', 84, '1967-04-01', -1.437, 51.145),
    (8, 'Cambridge', 'Europe', 12, '1985-09-01', 0.110, 52.200),
    (9, 'Quito Observatory', 'South America', 2850, '1990-02-01', -78.50, -0.20),
    (10, 'Leticia', 'South America', 96, '2005-10-01', -70.00, -4.20),
    (11, 'Iquitos', 'South America', 106, '2003-03-01', -73.25, -3.75),
    (12, 'North Pole Drift', 'Arctic', 0, '2015-04-01', 10.00, 88.50),
    (13, 'Lomonosov Ridge Buoy', 'Arctic', 0, '2019-09-01', -140.00, 86.20),
    (14, 'South Pole', 'Antarctica', 2835, '1957-01-01', 0.00, -89.50),
    (15, 'Polar Plateau', 'Antarctica', 3200, '2009-12-01', 120.00, -86.50),
    (16, 'Alert', 'Arctic', 200, '1986-07-01', -62.34, 82.45),
    (17, 'Ny-Alesund', 'Arctic', 475, '1989-06-01', 11.89, 78.91),
    (18, 'Cape Grim', 'Oceania', 94, '1976-04-01', 144.69, -40.68),
    (19, 'Suva', 'Oceania', 6, '1999-01-01', 178.44, -18.14),
    (20, 'Apia', 'Oceania', 2, '2000-01-01', -171.76, -13.83),
    (21, 'Singapore', 'Asia', 15, '2008-01-01', 103.82, 1.35),
    (22, 'Nairobi', 'Africa', 1795, '1996-01-01', 36.82, -1.29),
    (23, 'Jungfraujoch', 'Europe', 3580, '1973-01-01', 7.98, 46.55),
    (24, 'Tsukuba', 'Asia', 25, '1993-01-01', 140.12, 36.05)
) AS site (id, site_name, region, elevation_m, established, lon, lat);

CREATE INDEX ON public.fire_stations USING gist (geom);
CREATE INDEX ON public.monitoring_sites USING gist (geom);
COMMIT;

ANALYZE public.fire_stations;
ANALYZE public.monitoring_sites;
