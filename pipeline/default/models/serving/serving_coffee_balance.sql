MODEL (
  name serving_coffee_balance,
  kind FULL,
  grain (country_code, market_year),
  description 'the coffee balance by country and market year, plus a WORLD row per year (1000 60-kg bags); stocks_to_use is ending stocks over use: domestic consumption plus exports for a country, consumption alone for WORLD',
  audits (
    not_null(columns := (country_code, country_name, market_year, production, ending_stocks, role)),
    unique_grain,
    accepted_values(column := role, is_in := ('producer', 'consumer', 'world'))
  )
);
-- stocks_to_use = ending stocks / use. A country's use is its domestic
-- consumption plus its exports (USDA's "total use"). The world's is world
-- consumption alone: every bag exported is imported by another country and
-- is consumed (or stocked) there, so adding world exports would count trade
-- twice.
WITH coffee AS (
  SELECT f.*
  FROM foundation_fct_supply_demand AS f
  JOIN foundation_dim_commodity AS c ON c.commodity_key = f.commodity_key
  WHERE c.commodity_key = 'coffee'
),
world AS (
  SELECT 'WORLD' AS country_code, 'World' AS country_name, market_year,
         sum(beginning_stocks) AS beginning_stocks, sum(production) AS production,
         sum(arabica_production) AS arabica_production, sum(robusta_production) AS robusta_production,
         sum(imports) AS imports, sum(exports) AS exports, sum(domestic_consumption) AS domestic_consumption,
         sum(ending_stocks) AS ending_stocks, max(report_month) AS report_month, 'world' AS role
  FROM coffee
  GROUP BY market_year
),
countries AS (
  SELECT country_code, country_name, market_year, beginning_stocks, production, arabica_production,
         robusta_production, imports, exports, domestic_consumption, ending_stocks, report_month,
         CASE WHEN production > imports THEN 'producer' ELSE 'consumer' END AS role
  FROM coffee
),
balance AS (
  SELECT * FROM countries
  UNION ALL
  SELECT * FROM world
)
SELECT
  country_code,
  country_name,
  market_year,
  role,
  production,
  arabica_production,
  robusta_production,
  imports,
  exports,
  domestic_consumption,
  ending_stocks,
  CASE WHEN role = 'world'
       THEN CASE WHEN domestic_consumption > 0 THEN round(CAST(ending_stocks * 1.0 / domestic_consumption AS NUMERIC), 4) END
       WHEN domestic_consumption + exports > 0
       THEN round(CAST(ending_stocks * 1.0 / (domestic_consumption + exports) AS NUMERIC), 4) END AS stocks_to_use,
  CASE WHEN lag(production) OVER w > 0
       THEN round(CAST((production - lag(production) OVER w) * 100.0 / lag(production) OVER w AS NUMERIC), 2) END AS production_yoy_pct,
  report_month
FROM balance
WINDOW w AS (PARTITION BY country_code ORDER BY market_year)
ORDER BY market_year, country_code
