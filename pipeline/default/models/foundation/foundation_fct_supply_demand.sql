MODEL (
  name foundation_fct_supply_demand,
  kind FULL,
  grain (commodity_key, country_code, market_year),
  description 'the PSD balance sheet, one row per commodity, country and market year (1000 60-kg bags)',
  audits (
    not_null(columns := (commodity_key, country_code, country_name, market_year, production, total_supply,
                         ending_stocks, report_month)),
    unique_grain
  )
);
SELECT
  c.commodity_key,
  p.country_code,
  max(p.country_name) AS country_name,
  p.market_year,
  max(p.unit_description) AS unit,
  max(CASE WHEN p.attribute_id = 20 THEN p.value END) AS beginning_stocks,
  max(CASE WHEN p.attribute_id = 28 THEN p.value END) AS production,
  max(CASE WHEN p.attribute_id = 53 THEN p.value END) AS arabica_production,
  max(CASE WHEN p.attribute_id = 54 THEN p.value END) AS robusta_production,
  max(CASE WHEN p.attribute_id = 57 THEN p.value END) AS imports,
  max(CASE WHEN p.attribute_id = 86 THEN p.value END) AS total_supply,
  max(CASE WHEN p.attribute_id = 88 THEN p.value END) AS exports,
  max(CASE WHEN p.attribute_id = 125 THEN p.value END) AS domestic_consumption,
  max(CASE WHEN p.attribute_id = 176 THEN p.value END) AS ending_stocks,
  max(CASE WHEN p.attribute_id = 178 THEN p.value END) AS total_distribution,
  max(p.report_month) AS report_month
FROM staging_usda_psd AS p
JOIN foundation_dim_commodity AS c ON c.psd_commodity_code = p.commodity_code
GROUP BY c.commodity_key, p.country_code, p.market_year
