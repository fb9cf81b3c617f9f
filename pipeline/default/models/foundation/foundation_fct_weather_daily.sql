MODEL (
  name foundation_fct_weather_daily,
  kind INCREMENTAL_BY_TIME_RANGE (time_column obs_date),
  grain (region_id, obs_date),
  start '2020-01-01',
  description 'daily weather per growing region with derived measures (mean temperature, degree days, dry days)',
  audits (
    not_null(columns := (region_id, obs_date, country_code, tmax_c, tmin_c)),
    unique_grain,
    accepted_values(column := is_dry_day, is_in := (0, 1))
  )
);
SELECT
  w.region_id,
  w.region_name,
  w.country_code,
  w.obs_date,
  w.tmax_c,
  w.tmin_c,
  round(CAST((w.tmax_c + w.tmin_c) / 2.0 AS NUMERIC), 2) AS tavg_c,
  -- growing degree days above 10 °C (round over NUMERIC: PostgreSQL rounds
  -- no double precision to places)
  CASE WHEN (w.tmax_c + w.tmin_c) / 2.0 > 10.0 THEN round(CAST((w.tmax_c + w.tmin_c) / 2.0 - 10.0 AS NUMERIC), 2)
       ELSE 0.0 END AS gdd_base10,
  w.precip_mm,
  CASE WHEN w.precip_mm IS NULL THEN NULL WHEN w.precip_mm < 1.0 THEN 1 ELSE 0 END AS is_dry_day,
  CASE WHEN w.tmin_c <= 2.0 THEN 1 ELSE 0 END AS frost_risk
FROM staging_weather_daily AS w
WHERE w.obs_date BETWEEN @start_ds AND @end_ds
  AND w.tmax_c IS NOT NULL AND w.tmin_c IS NOT NULL
