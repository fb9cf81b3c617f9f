MODEL (
  name staging_futures_prices,
  kind FULL,
  grain (contract, trade_date),
  description 'daily futures prices, typed: one row per contract and trading day',
  audits (
    not_null(columns := (trade_date, futures_root, contract, contract_month, settle)),
    unique_grain,
    accepted_values(column := futures_root, is_in := ('KC', 'SB', 'CC'))
  )
);
-- Settlement-only days leave open/high/low empty (NULL) in the file. Every
-- landed file is kept: of each (contract, day) the row of the file loaded
-- last (the largest _load_id) wins.
WITH typed AS (
  SELECT
    trim(trade_date) AS trade_date,
    upper(trim(symbol)) AS futures_root,
    upper(trim(contract)) AS contract,
    trim(contract_month) AS contract_month,
    CAST(open AS DOUBLE PRECISION) AS open,
    CAST(high AS DOUBLE PRECISION) AS high,
    CAST(low AS DOUBLE PRECISION) AS low,
    CAST(close AS DOUBLE PRECISION) AS close,
    CAST(settle AS DOUBLE PRECISION) AS settle,
    CAST(volume AS INTEGER) AS volume,
    CAST(open_interest AS INTEGER) AS open_interest,
    _load_id
  FROM raw_futures_prices
  WHERE settle IS NOT NULL AND trim(settle) <> ''
),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY contract, trade_date ORDER BY _load_id DESC) AS rn
  FROM typed
)
SELECT trade_date, futures_root, contract, contract_month, open, high, low, close, settle, volume, open_interest
FROM ranked
WHERE rn = 1
