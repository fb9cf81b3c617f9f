MODEL (
  name foundation_fct_positioning,
  kind INCREMENTAL_BY_TIME_RANGE (time_column report_date),
  grain (commodity_key, report_date),
  start '2019-01-01',
  lookback 7,
  description 'weekly Commitments of Traders positions per conformed commodity, with net positions',
  audits (
    not_null(columns := (commodity_key, report_date, open_interest, noncomm_net, comm_net)),
    unique_grain
  )
);
-- A Tuesday's positions are published on the Friday after: each run takes
-- the week before its end day again (lookback 7), so a report that arrives
-- after its day was processed still gets in.
SELECT
  c.commodity_key,
  t.report_date,
  t.open_interest,
  t.noncomm_long,
  t.noncomm_short,
  t.noncomm_spread,
  t.noncomm_long - t.noncomm_short AS noncomm_net,
  t.comm_long,
  t.comm_short,
  t.comm_long - t.comm_short AS comm_net,
  t.nonrept_long - t.nonrept_short AS nonrept_net,
  t.traders
FROM staging_cftc_cot AS t
JOIN foundation_dim_commodity AS c ON c.cftc_contract_market_code = t.cftc_contract_market_code
WHERE t.report_date BETWEEN @start_ds AND @end_ds
