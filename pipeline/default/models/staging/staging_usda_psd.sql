MODEL (
  name staging_usda_psd,
  kind FULL,
  grain (commodity_code, country_code, market_year, attribute_id),
  description 'USDA PSD rows, typed; of every landed report, the latest revision of each value',
  audits (
    not_null(columns := (commodity_code, country_code, country_name, market_year, attribute_id, value, report_month)),
    unique_grain
  )
);
-- Every snapshot file lands whole, so a value appears once per landed
-- report. Calendar_Year/Month say when USDA last revised it: the newest
-- revision wins (then the file loaded last, the largest _load_id, for one
-- revision landed twice).
WITH typed AS (
  SELECT
    trim(Commodity_Code) AS commodity_code,
    trim(Commodity_Description) AS commodity_description,
    upper(trim(Country_Code)) AS country_code,
    trim(Country_Name) AS country_name,
    CAST(Market_Year AS INTEGER) AS market_year,
    CAST(CAST(Calendar_Year AS INTEGER) AS TEXT) || '-'
      || CASE WHEN CAST(Month AS INTEGER) < 10 THEN '0' ELSE '' END || CAST(CAST(Month AS INTEGER) AS TEXT)
      AS report_month,
    CAST(Attribute_ID AS INTEGER) AS attribute_id,
    trim(Attribute_Description) AS attribute_description,
    trim(Unit_Description) AS unit_description,
    CAST(Value AS DOUBLE PRECISION) AS value,
    _load_id
  FROM raw_usda_psd
  WHERE trim(Value) <> ''
),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY commodity_code, country_code, market_year, attribute_id
    ORDER BY report_month DESC, _load_id DESC) AS rn
  FROM typed
)
SELECT commodity_code, commodity_description, country_code, country_name, market_year, report_month,
       attribute_id, attribute_description, unit_description, value
FROM ranked
WHERE rn = 1
