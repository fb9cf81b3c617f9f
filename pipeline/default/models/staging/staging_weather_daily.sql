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
-- raw_weather_regions holds one row per region and landed file; its `daily`
-- column is the JSON array of days. Of each (region, day) the row of the
-- file loaded last (the largest _load_id) wins.
WITH days AS (
  SELECT
    lower(trim(r.region)) AS region_id,
    trim(r.name) AS region_name,
    upper(trim(r.country_code)) AS country_code,
    CAST(r.lat AS REAL) AS lat,
    CAST(r.lon AS REAL) AS lon,
    CAST(r.elevation_m AS INTEGER) AS elevation_m,
    json_extract(d.value, '$.date') AS obs_date,
    CAST(json_extract(d.value, '$.tmax') AS REAL) AS tmax_c,
    CAST(json_extract(d.value, '$.tmin') AS REAL) AS tmin_c,
    CAST(json_extract(d.value, '$.precip_mm') AS REAL) AS precip_mm,
    r._load_id
  FROM raw_weather_regions AS r, json_each(r.daily) AS d
),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY region_id, obs_date ORDER BY _load_id DESC) AS rn
  FROM days
)
SELECT region_id, region_name, country_code, lat, lon, elevation_m, obs_date, tmax_c, tmin_c, precip_mm
FROM ranked
WHERE rn = 1
