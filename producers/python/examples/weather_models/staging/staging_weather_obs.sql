MODEL (
  name staging_weather_obs,
  kind FULL,
  grain (location, day),
  description 'weather observations, typed: the newest version of each (location, day)',
  audits (
    not_null(columns := (location, day, temp_c)),
    unique_grain
  )
);
-- Each run lands what changed since its cursor: of each (location, day)
-- the row of the file loaded last (the largest _load_id) wins.
WITH ranked AS (
  SELECT
    trim(location) AS location,
    trim(day) AS day,
    CAST(temp_c AS REAL) AS temp_c,
    trim(updated) AS updated,
    row_number() OVER (PARTITION BY trim(location), trim(day) ORDER BY _load_id DESC) AS rn
  FROM raw_weather_obs
)
SELECT location, day, temp_c, updated
FROM ranked
WHERE rn = 1
