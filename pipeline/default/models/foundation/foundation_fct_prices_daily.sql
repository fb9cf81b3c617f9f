MODEL (
  name foundation_fct_prices_daily,
  kind INCREMENTAL_BY_TIME_RANGE (time_column trade_date),
  grain (commodity_key, contract, trade_date),
  start '2020-01-01',
  description 'daily futures prices per conformed commodity and contract; the nearest contract is the front',
  audits (
    not_null(columns := (commodity_key, trade_date, contract, contract_month, settle, is_front)),
    unique_grain,
    accepted_values(column := is_front, is_in := (0, 1))
  )
);
-- Settlement-only days: open, high and low fall back to the settlement
-- (and the close, when there is one: high is the larger, low the smaller;
-- CASE, which both engines have, for SQLite's max(a, b) / PostgreSQL's
-- greatest(a, b)).
SELECT
  c.commodity_key,
  p.trade_date,
  p.contract,
  p.contract_month,
  CASE WHEN row_number() OVER (PARTITION BY c.commodity_key, p.trade_date ORDER BY p.contract_month) = 1
       THEN 1 ELSE 0 END AS is_front,
  coalesce(p.open, p.settle) AS open,
  coalesce(p.high, CASE WHEN p.close > p.settle THEN p.close ELSE p.settle END) AS high,
  coalesce(p.low, CASE WHEN p.close < p.settle THEN p.close ELSE p.settle END) AS low,
  coalesce(p.close, p.settle) AS close,
  p.settle,
  p.volume,
  p.open_interest,
  c.price_unit
FROM staging_futures_prices AS p
JOIN foundation_dim_commodity AS c ON c.futures_root = p.futures_root
WHERE p.trade_date BETWEEN @start_ds AND @end_ds
