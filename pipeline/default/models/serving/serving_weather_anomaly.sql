MODEL (
  name serving_weather_anomaly,
  kind FULL,
  grain (region_id, month),
  description 'monthly weather per growing region against its own climatology (all years of the same calendar month)',
  audits (
    not_null(columns := (region_id, month, tavg_c, clim_tavg_c, tavg_anomaly_c, days)),
    unique_grain
  )
);
WITH monthly AS (
  SELECT
    region_id,
    max(region_name) AS region_name,
    max(country_code) AS country_code,
    substr(obs_date, 1, 7) AS month,
    substr(obs_date, 6, 2) AS calendar_month,
    count(*) AS days,
    avg(tavg_c) AS tavg_c,
    sum(precip_mm) AS precip_mm,
    sum(is_dry_day) AS dry_days,
    sum(frost_risk) AS frost_days
  FROM foundation_fct_weather_daily
  GROUP BY region_id, substr(obs_date, 1, 7)
),
climatology AS (
  -- complete months only (at least 28 days)
  SELECT region_id, calendar_month, avg(tavg_c) AS clim_tavg_c, avg(precip_mm) AS clim_precip_mm
  FROM monthly
  WHERE days >= 28
  GROUP BY region_id, calendar_month
)
SELECT
  m.region_id,
  m.region_name,
  m.country_code,
  m.month,
  m.days,
  round(m.tavg_c, 2) AS tavg_c,
  round(c.clim_tavg_c, 2) AS clim_tavg_c,
  round(m.tavg_c - c.clim_tavg_c, 2) AS tavg_anomaly_c,
  round(m.precip_mm, 1) AS precip_mm,
  round(c.clim_precip_mm, 1) AS clim_precip_mm,
  CASE WHEN c.clim_precip_mm > 0 THEN round((m.precip_mm - c.clim_precip_mm) * 100.0 / c.clim_precip_mm, 1) END
    AS precip_anomaly_pct,
  m.dry_days,
  m.frost_days
FROM monthly AS m
JOIN climatology AS c ON c.region_id = m.region_id AND c.calendar_month = m.calendar_month
ORDER BY m.region_id, m.month
