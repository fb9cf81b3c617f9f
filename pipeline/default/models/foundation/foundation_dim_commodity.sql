MODEL (
  name foundation_dim_commodity,
  kind FULL,
  grain (commodity_key),
  description 'the conformed commodity: one key for the PSD commodity code, the CFTC market code and the futures root',
  audits (
    not_null(columns := (commodity_key, commodity_name, futures_root, cftc_contract_market_code, price_unit)),
    unique_grain,
    accepted_values(column := price_unit, is_in := ('USc/lb', 'USD/t'))
  )
);
-- The mapping is reference data; the names the sources themselves use are
-- attached when they have been seen.
WITH mapping AS (
  SELECT 'coffee' AS commodity_key, 'Coffee (arabica, green)' AS commodity_name, '0711100' AS psd_commodity_code,
         '083731' AS cftc_contract_market_code, 'KC' AS futures_root, 'ICE Futures U.S.' AS exchange,
         'USc/lb' AS price_unit, 1 AS is_focus
  UNION ALL
  SELECT 'sugar', 'Sugar No. 11 (raw cane)', '0612000', '080732', 'SB', 'ICE Futures U.S.', 'USc/lb', 0
  UNION ALL
  SELECT 'cocoa', 'Cocoa', NULL, '073732', 'CC', 'ICE Futures U.S.', 'USD/t', 0
),
psd AS (
  SELECT commodity_code, max(commodity_description) AS psd_description
  FROM staging_usda_psd GROUP BY commodity_code
),
cot AS (
  SELECT cftc_contract_market_code, max(market_name) AS cftc_market_name
  FROM staging_cftc_cot GROUP BY cftc_contract_market_code
)
SELECT m.commodity_key, m.commodity_name, m.psd_commodity_code, psd.psd_description,
       m.cftc_contract_market_code, cot.cftc_market_name, m.futures_root, m.exchange, m.price_unit, m.is_focus
FROM mapping AS m
LEFT JOIN psd ON psd.commodity_code = m.psd_commodity_code
LEFT JOIN cot ON cot.cftc_contract_market_code = m.cftc_contract_market_code
