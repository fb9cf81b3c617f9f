MODEL (
  name staging_prices,
  kind INCREMENTAL_BY_TIME_RANGE (time_column price_date),
  grain (commodity_code, price_date),
  start '2020-01-01',
  owner data,
  description 'one row per commodity and day',
  audits (
    not_null(columns := (commodity_code, price_date)),
    unique_grain,
    accepted_values(column := unit, is_in := ('USD/lb', 'USc/lb', 12, 1.5))
  )
);
WITH p AS (SELECT * FROM raw_prices WHERE d BETWEEN @start_ds AND @end_ds)
SELECT "commodity_code", [price_date], `unit`, 'it''s' AS s, 0x1F, 1e-3 -- comment
/* block */ FROM p JOIN staging_other o ON o.a || 'x' <> p.b;
