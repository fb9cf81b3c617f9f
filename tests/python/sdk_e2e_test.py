#!/usr/bin/python3
"""End to end: a workflow whose extract stages are a Python extractor.

producers/python/examples/weather.py (kind ext.weather, served by
`python3 -m sluice.worker weather`) pages through a JSON API served here
(http.server on 127.0.0.1), one job per location; sluice-worker loads the
landing files, builds producers/python/examples/weather_models and exports
the serving database. Asserts:
  1. the run of producers/python/examples/weather_workflow.toml succeeds,
     every stage;
  2. the serving table, read with sluice.serving.ServingReader, has what
     the API served;
  3. `sluice extractions` shows one run per location with the right counts
     and cursor, and the landing files are where the rules put them;
  4. a second run hands each job its cursor (the API is asked `since` it),
     finds nothing new and skips the unchanged file; no landing file is
     added, and readers see the same rows;
  5. a row the API changes is landed by the next run, for its location only.

    /usr/bin/python3 tests/python/sdk_e2e_test.py --bin-dir build/bin
Exit codes: 0 pass, 1 fail, 77 skipped.
"""

import http.server
import json
import os
import sys
import threading
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sdk_harness import ROOT, SDK, check, run_main, sluice, wait_until  # noqa: E402

EXAMPLES = os.path.join(SDK, "examples")
PAGE = 10


class Api:
    """GET /api/observations?location=L&since=S&page=N over a dataset that
    the test may change; remembers every `since` asked."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rows = {loc: [{"location": loc, "day": f"2024-06-{d:02d}", "temp_c": base + d / 10,
                            "updated": "2024-07-01T00:00:00Z"} for d in range(1, 26)]
                     for loc, base in (("lisbon", 20.0), ("oslo", 10.0))}
        self.since = []
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlparse(self.path)
                q = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
                if u.path != "/api/observations" or q.get("location") not in api.rows:
                    self.send_error(404)
                    return
                since, page = q.get("since", ""), int(q.get("page", "1"))
                with api.lock:
                    if page == 1:
                        api.since.append((q["location"], since))
                    rows = [r for r in api.rows[q["location"]] if r["updated"] > since]
                chunk = rows[(page - 1) * PAGE:page * PAGE]
                more = page * PAGE < len(rows)
                body = json.dumps({"items": chunk, "next_page": page + 1 if more else None}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def landing_files(landing):
    out = []
    for d, _, files in os.walk(landing):
        out += [os.path.relpath(os.path.join(d, f), landing) for f in files]
    return sorted(out)


def extractions(p, endpoint):
    r = p.sluice("--broker", endpoint, "extractions", "--source", "weather", "--json")
    doc = json.loads(r.stdout)
    return doc["extractions"] if isinstance(doc, dict) else doc


def body(p):
    api = Api()
    try:
        return scenario(p, api)
    finally:
        api.server.shutdown()


def scenario(p, api):
    landing = os.path.join(p.tmp, "landing")
    serving = os.path.join(p.tmp, "serving", "analytics.sqlite")
    os.makedirs(os.path.dirname(serving))
    broker, endpoint = p.broker(extra=["--workflows", os.path.join(EXAMPLES, "weather_workflow.toml")])
    p.sdk_worker("py-extractor", "weather", endpoint, ["--heartbeat-ms", "300", "--slots", "2"],
                 {"PYTHONPATH": os.pathsep.join([SDK, EXAMPLES]), "LANDING_DIR": landing})
    p.cpp_worker("cpp-worker", endpoint, ["--queues", "default", "--slots", "2", "--landing", landing,
                                         "--lakehouse", os.path.join(p.tmp, "lakehouse.sqlite"),
                                         "--serving", serving, "--models-root", EXAMPLES])
    c = sluice.Client(endpoint, timeout=30)
    wait_until(lambda: len(c.workers()) == 2, 60, "both workers connected")
    passed = 0

    # 1. The run succeeds, every stage.
    run = c.run("weather", {"origin": api.origin}, wait=True, timeout=300)
    states = {s.name: s.state for s in run.stages}
    check(run.state == "succeeded" and set(states.values()) == {"succeeded"}, f"run {run.id}: {states}")
    passed += 1

    # 2. The serving table has what the API served.
    reader = sluice.serving.ServingReader(serving)
    rows = [tuple(r) for r in reader.query("SELECT location, month, days FROM serving_weather_monthly ORDER BY 1")]
    check(rows == [("lisbon", "2024-06", 25), ("oslo", "2024-06", 25)], f"serving rows {rows}")
    check(reader.version() == 1, f"export version {reader.version()}")
    passed += 1

    # 3. One extraction run per location, with its counts and cursor.
    files = landing_files(landing)
    check(len(files) == 2 and all(f.startswith("weather/") and f.endswith(".ndjson.gz") for f in files),
          f"landing files {files}")
    x = extractions(p, endpoint)
    check(len(x) == 2, f"extractions {x}")
    sizes = sorted(os.path.getsize(os.path.join(landing, f)) for f in files)
    check(sorted(r["bytes_written"] for r in x) == sizes, f"bytes_written {x} vs {sizes}")
    for r in x:
        check(r["status"] == "success" and r["files_written"] == 1 and r["files_skipped"] == 0
              and r["extractor"] == "ext.weather" and r["cursor_value"] == "2024-07-01T00:00:00Z", f"row {r}")
    check(sorted(api.since) == [("lisbon", ""), ("oslo", "")], f"first run asked since {api.since}")
    passed += 1

    # 4. A second run: each job gets its cursor, nothing new, the file skipped.
    run2 = c.run("weather", {"origin": api.origin}, wait=True, timeout=300)
    check(run2.state == "succeeded", f"second run {run2.id}: {[(s.name, s.state) for s in run2.stages]}")
    check(sorted(api.since[2:]) == [("lisbon", "2024-07-01T00:00:00Z"), ("oslo", "2024-07-01T00:00:00Z")],
          f"second run asked since {api.since}")
    x = extractions(p, endpoint)[:2]
    for r in x:
        check(r["status"] == "success" and r["files_written"] == 0 and r["files_skipped"] == 1
              and r["bytes_written"] == 0, f"second run's row {r}")
    check(landing_files(landing) == files, f"landing files after the second run: {landing_files(landing)}")
    # Nothing changed: the export has nothing new to publish (or publishes
    # the same rows again); what readers see is the same.
    v2 = reader.version()
    rows2 = [tuple(r) for r in reader.query("SELECT location, month, days FROM serving_weather_monthly ORDER BY 1")]
    check(rows2 == rows, f"serving rows after the second run: {rows2}")
    passed += 1

    # 5. A changed row lands with the next run, for its location only.
    with api.lock:
        api.rows["oslo"][-1].update(temp_c=-3.5, updated="2024-07-02T00:00:00Z")
    run3 = c.run("weather", {"origin": api.origin}, wait=True, timeout=300)
    check(run3.state == "succeeded", f"third run {run3.id}")
    x = {r["job_id"]: r for r in extractions(p, endpoint)[:2]}
    oslo = x[run3.stage("extract_oslo").job]
    lisbon = x[run3.stage("extract_lisbon").job]
    check(oslo["files_written"] == 1 and oslo["cursor_value"] == "2024-07-02T00:00:00Z", f"oslo {oslo}")
    check(lisbon["files_written"] == 0 and lisbon["files_skipped"] == 1, f"lisbon {lisbon}")
    check(len(landing_files(landing)) == 3, f"landing files {landing_files(landing)}")
    rows = reader.query("SELECT min_temp_c FROM serving_weather_monthly WHERE location='oslo'")
    check(rows[0][0] == -3.5, f"oslo's changed row did not reach serving: {tuple(rows[0])}")
    check(reader.version() > v2, f"export version {reader.version()} after a change, {v2} before")
    passed += 1
    return passed


if __name__ == "__main__":
    sys.exit(run_main("sdk-e2e", body))
