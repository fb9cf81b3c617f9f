MODEL (
  name staging_weather_daily,
  kind FULL,
  grain (region_id, obs_date),
  description 'daily weather per growing region: the regions JSON exploded, one row per region and day',
  audits (
    not_null(columns := (region_id, region_name, country_code, obs_date)),
    unique_grain
  )
);
-- PostgreSQL's variant of staging_weather_daily.sql (whose header rules):
-- the `daily` JSON array exploded with json_array_elements and read with
-- ->> where SQLite has json_each and json_extract. Raw columns are text on
-- PostgreSQL, so `daily` is cast to json.
WITH days AS (
  SELECT
    lower(trim(r.region)) AS region_id,
    trim(r.name) AS region_name,
    upper(trim(r.country_code)) AS country_code,
    CAST(r.lat AS DOUBLE PRECISION) AS lat,
    CAST(r.lon AS DOUBLE PRECISION) AS lon,
    CAST(r.elevation_m AS INTEGER) AS elevation_m,
    d.value ->> 'date' AS obs_date,
    CAST(d.value ->> 'tmax' AS DOUBLE PRECISION) AS tmax_c,
    CAST(d.value ->> 'tmin' AS DOUBLE PRECISION) AS tmin_c,
    CAST(d.value ->> 'precip_mm' AS DOUBLE PRECISION) AS precip_mm,
    r._load_id
  FROM raw_weather_regions AS r, json_array_elements(CAST(r.daily AS json)) AS d
),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY region_id, obs_date ORDER BY _load_id DESC) AS rn
  FROM days
)
SELECT region_id, region_name, country_code, lat, lon, elevation_m, obs_date, tmax_c, tmin_c, precip_mm
FROM ranked
WHERE rn = 1
