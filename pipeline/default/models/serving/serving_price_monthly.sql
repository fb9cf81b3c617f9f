MODEL (
  name serving_price_monthly,
  kind FULL,
  grain (commodity_key, month),
  description 'front-contract prices by commodity and month: first/last/average settlement, range, return, volume; contract_rolled flags a return that spans a roll of the front contract',
  audits (
    not_null(columns := (commodity_key, month, avg_settle, last_settle, trading_days, front_contract, contract_rolled)),
    unique_grain,
    accepted_values(column := contract_rolled, is_in := (0, 1))
  )
);
-- The front is the nearest contract on each day, so it changes when a
-- contract nears expiry (the roll). return_pct compares this month's last
-- front settlement with last month's: when front_contract (the front on the
-- month's last trading day) is not the contract last month ended on (for the
-- first month: the one it started on), contract_rolled = 1 and return_pct
-- mixes two contracts (their spread, not a price move). Likewise
-- first_settle, month_low and month_high may span the roll.
WITH front AS (
  SELECT commodity_key, substr(trade_date, 1, 7) AS month, trade_date, contract, open, high, low, settle, volume,
         price_unit
  FROM foundation_fct_prices_daily
  WHERE is_front = 1
),
monthly AS (
  SELECT
    commodity_key,
    month,
    max(price_unit) AS price_unit,
    count(*) AS trading_days,
    round(CAST(avg(settle) AS NUMERIC), 4) AS avg_settle,
    min(low) AS month_low,
    max(high) AS month_high,
    (SELECT f2.settle FROM front AS f2 WHERE f2.commodity_key = front.commodity_key AND f2.month = front.month
     ORDER BY f2.trade_date LIMIT 1) AS first_settle,
    (SELECT f3.settle FROM front AS f3 WHERE f3.commodity_key = front.commodity_key AND f3.month = front.month
     ORDER BY f3.trade_date DESC LIMIT 1) AS last_settle,
    (SELECT f4.contract FROM front AS f4 WHERE f4.commodity_key = front.commodity_key AND f4.month = front.month
     ORDER BY f4.trade_date LIMIT 1) AS first_contract,
    (SELECT f5.contract FROM front AS f5 WHERE f5.commodity_key = front.commodity_key AND f5.month = front.month
     ORDER BY f5.trade_date DESC LIMIT 1) AS last_contract,
    sum(volume) AS volume
  FROM front
  GROUP BY commodity_key, month
)
SELECT
  m.commodity_key,
  d.commodity_name,
  m.month,
  m.price_unit,
  m.trading_days,
  m.first_settle,
  m.last_settle,
  m.avg_settle,
  m.month_low,
  m.month_high,
  CASE WHEN lag(m.last_settle) OVER w > 0
       THEN round(CAST((m.last_settle - lag(m.last_settle) OVER w) * 100.0 / lag(m.last_settle) OVER w AS NUMERIC), 2)
  END AS return_pct,
  m.volume,
  m.last_contract AS front_contract,
  CASE WHEN coalesce(lag(m.last_contract) OVER w, m.first_contract) <> m.last_contract THEN 1 ELSE 0 END
    AS contract_rolled
FROM monthly AS m
JOIN foundation_dim_commodity AS d ON d.commodity_key = m.commodity_key
WINDOW w AS (PARTITION BY m.commodity_key ORDER BY m.month)
ORDER BY m.commodity_key, m.month
