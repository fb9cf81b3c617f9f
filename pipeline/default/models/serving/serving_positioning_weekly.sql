MODEL (
  name serving_positioning_weekly,
  kind FULL,
  grain (commodity_key, report_date),
  description 'weekly speculator and hedger positioning with its change and the front settlement of that day',
  audits (
    not_null(columns := (commodity_key, report_date, open_interest, noncomm_net, noncomm_net_pct_oi)),
    unique_grain
  )
);
-- The front settlement is the one of the report date (a Tuesday), else of
-- the last trading day before it.
SELECT
  p.commodity_key,
  p.report_date,
  p.open_interest,
  p.noncomm_long,
  p.noncomm_short,
  p.noncomm_net,
  round(p.noncomm_net * 100.0 / p.open_interest, 2) AS noncomm_net_pct_oi,
  p.noncomm_net - lag(p.noncomm_net) OVER w AS noncomm_net_change,
  p.comm_net,
  (SELECT f.settle FROM foundation_fct_prices_daily AS f
   WHERE f.commodity_key = p.commodity_key AND f.is_front = 1 AND f.trade_date <= p.report_date
   ORDER BY f.trade_date DESC LIMIT 1) AS front_settle
FROM foundation_fct_positioning AS p
WHERE p.open_interest > 0
WINDOW w AS (PARTITION BY p.commodity_key ORDER BY p.report_date)
ORDER BY p.commodity_key, p.report_date
