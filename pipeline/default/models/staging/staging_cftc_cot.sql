MODEL (
  name staging_cftc_cot,
  kind FULL,
  grain (cftc_contract_market_code, report_date),
  description 'CFTC Commitments of Traders (legacy, futures only): one row per market and report date',
  audits (
    not_null(columns := (cftc_contract_market_code, market_name, report_date, open_interest)),
    unique_grain
  )
);
-- The history file is re-published every week; of each (market, date) the
-- row of the file loaded last (the largest _load_id) is kept. Dates arrive
-- as MM/DD/YYYY.
WITH typed AS (
  SELECT
    trim(CFTC_Contract_Market_Code) AS cftc_contract_market_code,
    trim(Market_and_Exchange_Names) AS market_name,
    substr(Report_Date_as_MM_DD_YYYY, 7, 4) || '-' || substr(Report_Date_as_MM_DD_YYYY, 1, 2) || '-'
      || substr(Report_Date_as_MM_DD_YYYY, 4, 2) AS report_date,
    CAST(Open_Interest_All AS INTEGER) AS open_interest,
    CAST(NonComm_Positions_Long_All AS INTEGER) AS noncomm_long,
    CAST(NonComm_Positions_Short_All AS INTEGER) AS noncomm_short,
    CAST(NonComm_Postions_Spread_All AS INTEGER) AS noncomm_spread,
    CAST(Comm_Positions_Long_All AS INTEGER) AS comm_long,
    CAST(Comm_Positions_Short_All AS INTEGER) AS comm_short,
    CAST(NonRept_Positions_Long_All AS INTEGER) AS nonrept_long,
    CAST(NonRept_Positions_Short_All AS INTEGER) AS nonrept_short,
    CAST(Traders_Tot_All AS INTEGER) AS traders,
    _load_id
  FROM raw_cftc_cot
),
ranked AS (
  SELECT *, row_number() OVER (
    PARTITION BY cftc_contract_market_code, report_date
    ORDER BY _load_id DESC) AS rn
  FROM typed
)
SELECT cftc_contract_market_code, market_name, report_date, open_interest, noncomm_long, noncomm_short,
       noncomm_spread, comm_long, comm_short, nonrept_long, nonrept_short, traders
FROM ranked
WHERE rn = 1
