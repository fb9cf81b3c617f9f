MODEL (
  name serving_weather_monthly,
  kind FULL,
  grain (location, month),
  description 'monthly temperature by location',
  audits (
    not_null(columns := (location, month, days, avg_temp_c)),
    unique_grain
  )
);
SELECT
  location,
  month,
  count(*) AS days,
  round(avg(temp_c), 2) AS avg_temp_c,
  min(temp_c) AS min_temp_c,
  max(temp_c) AS max_temp_c
FROM foundation_fct_weather_daily
GROUP BY location, month
