MODEL (
  name foundation_fct_weather_daily,
  kind FULL,
  grain (location, day),
  description 'one row per location and day, with its month',
  audits (
    not_null(columns := (location, day, month, temp_c)),
    unique_grain
  )
);
SELECT location, day, substr(day, 1, 7) AS month, temp_c
FROM staging_weather_obs
