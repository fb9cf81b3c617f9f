#!/usr/bin/python3
"""Deterministic synthetic data for the default pipeline (coffee-market analytics).

Writes an HTTP origin folder that nginx serves to the extract stages:

  psd/psd_coffee_YYYY-MM.csv        USDA PSD-like supply & demand, one snapshot
                                    per report month (the last --snapshots months
                                    up to the --as-of month); each snapshot revises
                                    the recent market years
  cot/cot_softs_history.csv         CFTC Commitments of Traders-like weekly rows
                                    (legacy futures-only layout) for coffee C,
                                    sugar No. 11 and cocoa, newest first
  prices/softs_futures_daily.csv    daily futures prices (two nearest contracts of
                                    KC, SB, CC) from 2020-01-02 to the day before
                                    --as-of
  weather/growing_regions_daily.json daily weather of coffee growing regions:
                                    {"meta": ..., "data": {"regions": [{..., "daily": [...]}]}}

Everything derives from --seed and --as-of (default: today, UTC): the same
inputs give byte-identical files, and values for a past date never depend on
--as-of (a later as-of only appends). A file whose content would not change is
not rewritten, so its mtime (and nginx's ETag / Last-Modified) stays the same.

Usage: generate_data.py OUT_DIR [--as-of YYYY-MM-DD] [--seed N] [--snapshots N]
Standard library only.
"""

import argparse
import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import random
import sys
import tempfile

START_DATE = dt.date(2020, 1, 1)  # first day of prices and weather
COT_START = dt.date(2019, 1, 1)   # a Tuesday
FIRST_MARKET_YEAR = 2013


def rng(seed, *parts):
    """A Random seeded from the seed and the parts (stable across Python versions)."""
    key = ":".join([str(seed)] + [str(p) for p in parts]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def add_months(year, month, n):
    m = year * 12 + (month - 1) + n
    return m // 12, m % 12 + 1


def csv_bytes(header, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # quotes only fields that need it
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode()


class Writer:
    """Writes files under a root only when their bytes change (atomic rename)."""

    def __init__(self, root):
        self.root = root
        self.written = []
        self.unchanged = []

    def put(self, relative, data, rows):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    self.unchanged.append((relative, rows, len(data)))
                    return
        except FileNotFoundError:
            pass
        fd, tmp = tempfile.mkstemp(prefix=".gen-", dir=os.path.dirname(path))
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        self.written.append((relative, rows, len(data)))


# --------------------------------------------------------------------------
# USDA PSD-like supply & demand

PSD_COMMODITY = ("0711100", "Coffee, Green")
PSD_UNIT = (2, "(1000 60 KG BAGS)")
# id, description (PSD's own spelling, commas included)
PSD_ATTRIBUTES = [
    (20, "Beginning Stocks"),
    (28, "Production"),
    (53, "Arabica Production"),
    (54, "Robusta Production"),
    (57, "Imports"),
    (63, "Bean Imports"),
    (86, "Total Supply"),
    (88, "Exports"),
    (78, "Bean Exports"),
    (125, "Domestic Consumption"),
    (130, "Rst,Ground Dom. Consum"),
    (131, "Soluble Dom. Cons."),
    (176, "Ending Stocks"),
    (178, "Total Distribution"),
]
# code, name, production (1000 bags, first market year), arabica share,
# export share of production, imports, stock ratio (of production + imports)
PSD_COUNTRIES = [
    ("BR", "Brazil", 55000, 0.70, 0.62, 600, 0.08),
    ("VM", "Vietnam", 27000, 0.05, 0.88, 900, 0.06),
    ("CO", "Colombia", 13500, 1.00, 0.88, 1400, 0.05),
    ("ID", "Indonesia", 10500, 0.12, 0.62, 700, 0.08),
    ("ET", "Ethiopia", 7200, 1.00, 0.52, 0, 0.04),
    ("HO", "Honduras", 5800, 1.00, 0.92, 0, 0.03),
    ("IN", "India", 5300, 0.28, 0.72, 1200, 0.10),
    ("UG", "Uganda", 4800, 0.18, 0.95, 0, 0.02),
    ("MX", "Mexico", 3800, 0.92, 0.65, 1500, 0.08),
    ("PE", "Peru", 4000, 1.00, 0.92, 0, 0.04),
    ("GT", "Guatemala", 3500, 0.97, 0.90, 0, 0.04),
    ("E4", "European Union", 0, 0.0, 0.0, 46000, 0.22),
    ("US", "United States", 60, 1.00, 0.0, 27000, 0.22),
    ("JA", "Japan", 0, 0.0, 0.0, 7400, 0.40),
    ("RS", "Russia", 0, 0.0, 0.0, 5200, 0.10),
    ("CA", "Canada", 0, 0.0, 0.0, 3900, 0.15),
    ("KS", "Korea, South", 0, 0.0, 0.0, 3000, 0.20),
    ("CH", "China", 1900, 0.98, 0.45, 3600, 0.12),
    ("SZ", "Switzerland", 0, 0.0, 0.0, 2700, 0.10),
    ("AS", "Australia", 0, 0.0, 0.0, 1900, 0.10),
]
REEXPORT_SHARE = {"E4": 0.22, "US": 0.10, "SZ": 0.75, "CA": 0.08, "KS": 0.06, "JA": 0.01, "RS": 0.05, "AS": 0.04}


def last_market_year(report_year, report_month):
    # From the May report on, the next market year is forecast.
    return report_year + (1 if report_month >= 5 else 0)


def psd_revision(seed, code, my, report_year, report_month):
    """(factor, (year, month)) of the latest revision of (country, market year)
    published at or before the report month."""
    # A market year is first forecast in May of the year before it ends and
    # revised now and then until two years after.
    y, m = my - 1, 5
    factor, when = 1.0, (y, m)
    while (y, m) <= (report_year, report_month) and (y, m) <= (my + 1, 12):
        r = rng(seed, "psd-rev", code, my, y, m)
        if (y, m) != (my - 1, 5) and r.random() < 0.3:
            factor = 1.0 + r.gauss(0.0, 0.035)
            when = (y, m)
        y, m = add_months(y, m, 1)
    return factor, when


def psd_snapshot(seed, report_year, report_month):
    rows = []
    last_my = last_market_year(report_year, report_month)
    for code, name, prod0, arabica, export_share, imports0, stock_ratio in sorted(PSD_COUNTRIES, key=lambda c: c[1]):
        ending_prev = None
        for my in range(FIRST_MARKET_YEAR - 1, last_my + 1):
            base = rng(seed, "psd-base", code, my)
            trend = (1.0 + 0.015) ** (my - FIRST_MARKET_YEAR)
            factor, when = psd_revision(seed, code, my, report_year, report_month)
            noise = 1.0 + base.gauss(0.0, 0.07)
            if code in ("BR",):  # on-/off-year cycle of arabica
                noise *= 1.05 if my % 2 == 0 else 0.95
            production = int(round(prod0 * trend * noise * factor))
            arabica_p = int(round(production * arabica))
            robusta_p = production - arabica_p
            imports = int(round(imports0 * trend * (1.0 + base.gauss(0.0, 0.04)) * (1.0 + (factor - 1.0) / 3)))
            bean_imports = int(round(imports * (0.82 + base.random() * 0.1)))
            beginning = ending_prev if ending_prev is not None else int(round((production + imports) * stock_ratio))
            supply = beginning + production + imports
            exports = int(round(production * export_share + imports * REEXPORT_SHARE.get(code, 0.05)))
            bean_exports = int(round(exports * (0.80 + base.random() * 0.15)))
            target_stocks = int(round((production + imports) * stock_ratio * (1.0 + base.gauss(0.0, 0.08))))
            consumption = max(0, supply - exports - target_stocks)
            ending = supply - exports - consumption
            roast_ground = int(round(consumption * (0.72 + base.random() * 0.15)))
            soluble = consumption - roast_ground
            distribution = exports + consumption + ending
            ending_prev = ending
            if my < FIRST_MARKET_YEAR:
                continue  # only seeds the first year's beginning stocks
            values = {
                20: beginning, 28: production, 53: arabica_p, 54: robusta_p, 57: imports,
                63: bean_imports, 86: supply, 88: exports, 78: bean_exports, 125: consumption,
                130: roast_ground, 131: soluble, 176: ending, 178: distribution,
            }
            cal_year, month = when
            for attr_id, attr_desc in PSD_ATTRIBUTES:
                rows.append([PSD_COMMODITY[0], PSD_COMMODITY[1], code, name, my, cal_year, "%02d" % month,
                             attr_id, attr_desc, PSD_UNIT[0], PSD_UNIT[1], values[attr_id]])
    header = ["Commodity_Code", "Commodity_Description", "Country_Code", "Country_Name", "Market_Year",
              "Calendar_Year", "Month", "Attribute_ID", "Attribute_Description", "Unit_ID",
              "Unit_Description", "Value"]
    return csv_bytes(header, rows), len(rows)


# --------------------------------------------------------------------------
# Futures prices (daily) and CFTC positioning (weekly)

# root, name, exchange, contract months (letters), start price, daily vol, decimals
FUTURES = [
    ("KC", "Coffee C", "ICE Futures U.S.", "HKNUZ", 128.0, 0.021, 2),
    ("SB", "Sugar No. 11", "ICE Futures U.S.", "HKNV", 13.6, 0.019, 2),
    ("CC", "Cocoa", "ICE Futures U.S.", "HKNUZ", 2540.0, 0.020, 0),
]
MONTH_CODES = {"F": 1, "G": 2, "H": 3, "J": 4, "K": 5, "M": 6, "N": 7, "Q": 8, "U": 9, "V": 10, "X": 11, "Z": 12}


def is_trading_day(d):
    if d.weekday() >= 5:
        return False
    return (d.month, d.day) not in ((1, 1), (7, 4), (12, 25))


def next_contracts(root_months, day, count):
    """The `count` nearest contracts (letter, year, month) still trading on `day`
    (a contract stops trading on the 15th of its delivery month)."""
    out = []
    y = day.year
    while len(out) < count:
        for letter in root_months:
            m = MONTH_CODES[letter]
            if (y, m, 15) >= (day.year, day.month, day.day) and len(out) < count:
                out.append((letter, y, m))
        y += 1
    return out


def fmt(x, decimals):
    return ("%." + str(decimals) + "f") % x


def futures_prices(seed, end_exclusive):
    """Rows of the daily futures file and the front settle per (root, date)."""
    header = ["trade_date", "symbol", "contract", "contract_month", "open", "high", "low", "close",
              "settle", "volume", "open_interest"]
    rows = []
    front = {}
    for root, _, _, months, price0, vol, decimals in FUTURES:
        r = rng(seed, "prices", root)
        log_p = math.log(price0)
        prev_settle = {}
        d = START_DATE
        while d < end_exclusive:
            if is_trading_day(d):
                shock = r.gauss(0.0002, vol)
                log_p += shock
                # a slow cycle so the years differ
                level = math.exp(log_p + 0.25 * math.sin((d - START_DATE).days / 365.0 * 2.1))
                contracts = next_contracts(months, d, 2)
                for i, (letter, y, m) in enumerate(contracts):
                    carry = 1.0 + 0.012 * i + r.gauss(0.0, 0.002)
                    settle = round(level * carry, decimals)
                    code = "%s%s%02d" % (root, letter, y % 100)
                    p_prev = prev_settle.get(code, settle * (1.0 - shock))
                    opn = round(p_prev * (1.0 + r.gauss(0.0, vol / 4)), decimals)
                    hi = round(max(opn, settle) * (1.0 + abs(r.gauss(0.0, vol / 2))), decimals)
                    lo = round(min(opn, settle) * (1.0 - abs(r.gauss(0.0, vol / 2))), decimals)
                    close = round(min(hi, max(lo, settle * (1.0 + r.gauss(0.0, vol / 8)))), decimals)
                    volume = int(abs(r.gauss(18000 if i == 0 else 7000, 4000)))
                    oi = int(abs(r.gauss(95000 if i == 0 else 60000, 6000)))
                    thin = r.random() < 0.01  # settlement-only day: no open/high/low
                    prev_settle[code] = settle
                    rows.append([d.isoformat(), root, code, "%04d-%02d" % (y, m),
                                 "" if thin else fmt(opn, decimals), "" if thin else fmt(hi, decimals),
                                 "" if thin else fmt(lo, decimals), fmt(close, decimals),
                                 fmt(settle, decimals), volume, oi])
                    if i == 0:
                        front[(root, d)] = settle
            d += dt.timedelta(days=1)
    rows.sort(key=lambda row: (row[0], row[1], row[3]))
    return csv_bytes(header, rows), len(rows)


COT_MARKETS = [
    ("KC", "COFFEE C - ICE FUTURES U.S.", "083731", 210000),
    ("SB", "SUGAR NO. 11 - ICE FUTURES U.S.", "080732", 900000),
    ("CC", "COCOA - ICE FUTURES U.S.", "073732", 280000),
]


def cot_history(seed, as_of):
    header = ["Market_and_Exchange_Names", "As_of_Date_In_Form_YYMMDD", "Report_Date_as_MM_DD_YYYY",
              "CFTC_Contract_Market_Code", "CFTC_Market_Code", "CFTC_Region_Code", "Open_Interest_All",
              "NonComm_Positions_Long_All", "NonComm_Positions_Short_All", "NonComm_Postions_Spread_All",
              "Comm_Positions_Long_All", "Comm_Positions_Short_All", "Tot_Rept_Positions_Long_All",
              "Tot_Rept_Positions_Short_All", "NonRept_Positions_Long_All", "NonRept_Positions_Short_All",
              "Traders_Tot_All"]
    rows = []
    for root, name, code, oi0 in COT_MARKETS:
        r = rng(seed, "cot", code)
        net_share = 0.0  # speculators' net long, share of open interest (mean-reverting)
        oi = float(oi0)
        d = COT_START
        while d + dt.timedelta(days=3) <= as_of:  # a Tuesday's positions are out on Friday
            net_share = 0.85 * net_share + r.gauss(0.0, 0.045)
            oi = max(oi0 * 0.5, oi * (1.0 + r.gauss(0.0, 0.03)) + 0.02 * (oi0 - oi))
            total = int(oi)
            spread = int(total * (0.18 + r.random() * 0.06))
            nonrept_long = int(total * (0.05 + r.random() * 0.02))
            nonrept_short = int(total * (0.04 + r.random() * 0.02))
            nc_gross = total * (0.30 + r.random() * 0.05)
            nc_long = int(nc_gross * (0.5 + net_share / 2))
            nc_short = int(nc_gross * (0.5 - net_share / 2))
            comm_long = total - spread - nonrept_long - nc_long
            comm_short = total - spread - nonrept_short - nc_short
            traders = int(300 + r.random() * 120)
            rows.append([name, d.strftime("%y%m%d"), d.strftime("%m/%d/%Y"), code, "ICUS", "NYC", total,
                         nc_long, nc_short, spread, comm_long, comm_short, total - nonrept_long,
                         total - nonrept_short, nonrept_long, nonrept_short, traders])
            d += dt.timedelta(days=7)
    rows.sort(key=lambda row: (row[1], row[3]), reverse=True)  # newest first, as the CFTC publishes
    return csv_bytes(header, rows), len(rows)


# --------------------------------------------------------------------------
# Weather

# id, name, country, lat, lon, elevation, mean temp, seasonal amplitude (°C),
# annual rain (mm), month of peak rain
REGIONS = [
    ("sul_de_minas", "Sul de Minas", "BR", -21.6, -45.4, 900, 19.5, 3.5, 1550, 1),
    ("cerrado_mineiro", "Cerrado Mineiro", "BR", -18.9, -46.9, 1000, 21.5, 2.5, 1600, 12),
    ("central_highlands", "Central Highlands (Dak Lak)", "VN", 12.7, 108.1, 500, 24.0, 2.0, 1800, 9),
    ("huila", "Huila", "CO", 2.5, -75.7, 1500, 20.0, 0.8, 1300, 4),
    ("sidama", "Sidama", "ET", 6.7, 38.5, 1800, 18.5, 1.5, 1200, 5),
]


def weather(seed, as_of):
    regions = []
    count = 0
    for rid, name, country, lat, lon, elev, tmean, amp, rain, peak in REGIONS:
        r = rng(seed, "weather", rid)
        hemisphere = -1.0 if lat < 0 else 1.0
        anomaly = 0.0
        daily = []
        d = START_DATE
        while d < as_of:
            doy = d.timetuple().tm_yday
            season = hemisphere * amp * math.sin((doy - 105) / 365.25 * 2 * math.pi)
            anomaly = 0.8 * anomaly + r.gauss(0.0, 0.7)
            tavg = tmean + season + anomaly
            spread = 9.0 + r.gauss(0.0, 1.2)
            tmax = round(tavg + spread / 2, 1)
            tmin = round(tavg - spread / 2, 1)
            wet = 0.55 + 0.4 * math.cos((d.month - peak) / 12.0 * 2 * math.pi)
            precip = 0.0
            if r.random() < wet * 0.75:
                precip = round(r.expovariate(1.0) * rain / 365.0 / max(wet * 0.75, 0.05) * wet * 1.3, 1)
            rec = {"date": d.isoformat(), "tmax": tmax, "tmin": tmin, "precip_mm": precip}
            if r.random() < 0.004:  # a station gap
                rec["precip_mm"] = None
            daily.append(rec)
            d += dt.timedelta(days=1)
        count += len(daily)
        regions.append({"region": rid, "name": name, "country_code": country, "lat": lat, "lon": lon,
                        "elevation_m": elev, "daily": daily})
    doc = {
        "meta": {"source": "sluice synthetic growing-region weather", "units": {"tmax": "degC", "tmin": "degC",
                 "precip_mm": "mm"}, "first_date": START_DATE.isoformat()},
        "data": {"regions": regions},
    }
    return (json.dumps(doc, separators=(",", ":")) + "\n").encode(), count


# --------------------------------------------------------------------------


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--as-of", default=None, help="YYYY-MM-DD (default: today, UTC)")
    p.add_argument("--seed", type=int, default=20240601)
    p.add_argument("--snapshots", type=int, default=6, help="PSD report months to publish (default 6)")
    args = p.parse_args(argv)
    if args.as_of:
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError:
            p.error("--as-of must be YYYY-MM-DD")
    else:
        as_of = dt.datetime.now(dt.timezone.utc).date()
    if as_of < dt.date(2021, 1, 1) or args.snapshots < 1 or args.snapshots > 60:
        p.error("--as-of must be 2021-01-01 or later; --snapshots 1-60")

    w = Writer(args.out_dir)
    for back in range(args.snapshots - 1, -1, -1):
        y, m = add_months(as_of.year, as_of.month, -back)
        data, n = psd_snapshot(args.seed, y, m)
        w.put("psd/psd_coffee_%04d-%02d.csv" % (y, m), data, n)
    data, n = cot_history(args.seed, as_of)
    w.put("cot/cot_softs_history.csv", data, n)
    data, n = futures_prices(args.seed, as_of)
    w.put("prices/softs_futures_daily.csv", data, n)
    data, n = weather(args.seed, as_of)
    w.put("weather/growing_regions_daily.json", data, n)

    total = 0
    for label, items in (("written", w.written), ("unchanged", w.unchanged)):
        for rel, rows, size in items:
            print("%-9s %-38s %7d rows %9d bytes" % (label, rel, rows, size))
            total += rows
    print("generate_data: as of %s, %d files (%d written, %d unchanged), %d rows" %
          (as_of.isoformat(), len(w.written) + len(w.unchanged), len(w.written), len(w.unchanged), total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
