#!/usr/bin/python3
"""pipeline/default/generate_data.py: deterministic, writes only what changed,
and produces the shapes the default models read. Usage: generator_test.py GENERATOR"""

import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

GEN = sys.argv[1]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def generate(out, as_of):
    subprocess.run(["/usr/bin/python3", GEN, out, "--as-of", as_of], check=True, stdout=subprocess.DEVNULL)


def snapshot(root):
    """{relative path: (sha256, mtime_ns)}"""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = (hashlib.sha256(fh.read()).hexdigest(), os.stat(p).st_mtime_ns)
    return out


with tempfile.TemporaryDirectory(prefix="sluice-gen-") as tmp:
    a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    generate(a, "2025-06-15")
    first = snapshot(a)
    expected = {"psd/psd_coffee_2025-%02d.csv" % m for m in range(1, 7)} | {
        "cot/cot_softs_history.csv", "prices/softs_futures_daily.csv", "weather/growing_regions_daily.json"}
    check(set(first) == expected, "files: %s" % sorted(first))

    # Same inputs, another folder: the same bytes.
    generate(b, "2025-06-15")
    check({k: v[0] for k, v in snapshot(b).items()} == {k: v[0] for k, v in first.items()},
          "a second folder got different bytes")

    # Again into the same folder: nothing rewritten (same bytes, same mtimes).
    time.sleep(0.05)
    generate(a, "2025-06-15")
    check(snapshot(a) == first, "an unchanged file was rewritten (mtime or bytes changed)")

    # A later day: the growing files change; published snapshots stay untouched.
    generate(a, "2025-06-17")
    later = snapshot(a)
    for rel in ("psd/psd_coffee_2025-03.csv", "psd/psd_coffee_2025-06.csv"):
        check(later[rel] == first[rel], rel + " changed for a later as-of date")
    check(later["prices/softs_futures_daily.csv"][0] != first["prices/softs_futures_daily.csv"][0],
          "the prices did not grow by a day")

    # Shapes.
    with open(os.path.join(a, "psd/psd_coffee_2025-06.csv"), newline="") as f:
        rows = list(csv.reader(f))
    check(rows[0] == ["Commodity_Code", "Commodity_Description", "Country_Code", "Country_Name", "Market_Year",
                      "Calendar_Year", "Month", "Attribute_ID", "Attribute_Description", "Unit_ID",
                      "Unit_Description", "Value"], "PSD header: %s" % rows[0])
    check(all(len(r) == 12 for r in rows), "a PSD row without 12 fields")
    check(len(rows) > 3000, "PSD rows: %d" % len(rows))
    check({r[3] for r in rows[1:]} >= {"Brazil", "Vietnam", "Korea, South"}, "PSD countries")
    check({r[1] for r in rows[1:]} == {"Coffee, Green"}, "PSD commodity")
    with open(os.path.join(a, "psd/psd_coffee_2025-06.csv"), "rb") as f:
        raw = f.read()
    check(b'"Coffee, Green"' in raw and b'"Korea, South"' in raw, "quoted fields with commas")
    with open(os.path.join(a, "psd/psd_coffee_2025-05.csv"), newline="") as f:
        may = list(csv.reader(f))
    check(may != rows, "the June snapshot revises nothing of May's")

    with open(os.path.join(a, "prices/softs_futures_daily.csv"), newline="") as f:
        prices = list(csv.DictReader(f))
    check(len(prices) > 8000, "price rows: %d" % len(prices))
    check(prices[-1]["trade_date"] < "2025-06-17", "prices reach the as-of date")
    check({p["symbol"] for p in prices} == {"KC", "SB", "CC"}, "price symbols")
    with open(os.path.join(a, "cot/cot_softs_history.csv"), newline="") as f:
        cot = list(csv.DictReader(f))
    check(len(cot) > 700 and cot[0]["Report_Date_as_MM_DD_YYYY"].count("/") == 2, "COT rows / dates")
    with open(os.path.join(a, "weather/growing_regions_daily.json")) as f:
        doc = json.load(f)
    regions = doc["data"]["regions"]
    check(len(regions) >= 4 and all(len(r["daily"]) > 1500 for r in regions), "weather regions/days")

if failures:
    print("%d failures" % len(failures))
    sys.exit(1)
print("generator: ok")
