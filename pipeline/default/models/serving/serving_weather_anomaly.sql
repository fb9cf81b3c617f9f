MODEL (
  name serving_weather_anomaly,
  kind FULL,
  grain (region_id, month),
  description 'monthly weather per growing region against its own climatology (all complete years of the same calendar month); a month not fully observed is flagged (is_partial_month) and gets no anomaly',
  audits (
    not_null(columns := (region_id, month, tavg_c, clim_tavg_c, days, days_in_month, is_partial_month)),
    unique_grain,
    accepted_values(column := is_partial_month, is_in := (0, 1))
  )
);
-- A month is complete when every one of its days is observed (days =
-- days_in_month). The climatology averages complete months only, and a
-- partial month (the month in progress, or one with missing days) keeps its
-- row with the days observed so far, is_partial_month = 1 and NULL
-- anomalies: its means and sums cover only `days` days, so comparing them
-- with a full month's climatology would be wrong (3 days of rain against a
-- month's reads as a -97 % drought).
WITH monthly AS (
  SELECT
    region_id,
    max(region_name) AS region_name,
    max(country_code) AS country_code,
    substr(obs_date, 1, 7) AS month,
    count(*) AS days,
    avg(tavg_c) AS tavg_c,
    sum(precip_mm) AS precip_mm,
    sum(is_dry_day) AS dry_days,
    sum(frost_risk) AS frost_days
  FROM foundation_fct_weather_daily
  GROUP BY region_id, substr(obs_date, 1, 7)
),
sized AS (
  -- the calendar, not date functions: SQLite's and PostgreSQL's differ
  SELECT *,
    substr(month, 6, 2) AS calendar_month,
    CASE WHEN substr(month, 6, 2) IN ('04', '06', '09', '11') THEN 30
         WHEN substr(month, 6, 2) <> '02' THEN 31
         WHEN CAST(substr(month, 1, 4) AS INTEGER) % 4 = 0
              AND (CAST(substr(month, 1, 4) AS INTEGER) % 100 <> 0
                   OR CAST(substr(month, 1, 4) AS INTEGER) % 400 = 0) THEN 29
         ELSE 28 END AS days_in_month
  FROM monthly
),
flagged AS (
  SELECT *, CASE WHEN days < days_in_month THEN 1 ELSE 0 END AS is_partial_month
  FROM sized
),
climatology AS (
  SELECT region_id, calendar_month, avg(tavg_c) AS clim_tavg_c, avg(precip_mm) AS clim_precip_mm
  FROM flagged
  WHERE is_partial_month = 0
  GROUP BY region_id, calendar_month
)
SELECT
  m.region_id,
  m.region_name,
  m.country_code,
  m.month,
  m.days,
  round(CAST(m.tavg_c AS NUMERIC), 2) AS tavg_c,
  round(CAST(c.clim_tavg_c AS NUMERIC), 2) AS clim_tavg_c,
  CASE WHEN m.is_partial_month = 0 THEN round(CAST(m.tavg_c - c.clim_tavg_c AS NUMERIC), 2) END AS tavg_anomaly_c,
  round(CAST(m.precip_mm AS NUMERIC), 1) AS precip_mm,
  round(CAST(c.clim_precip_mm AS NUMERIC), 1) AS clim_precip_mm,
  CASE WHEN m.is_partial_month = 0 AND c.clim_precip_mm > 0
       THEN round(CAST((m.precip_mm - c.clim_precip_mm) * 100.0 / c.clim_precip_mm AS NUMERIC), 1) END
    AS precip_anomaly_pct,
  m.dry_days,
  m.frost_days,
  m.days_in_month,
  m.is_partial_month
FROM flagged AS m
JOIN climatology AS c ON c.region_id = m.region_id AND c.calendar_month = m.calendar_month
ORDER BY m.region_id, m.month
