"""An extractor in Python: a paginated JSON API, one location per job,
with a cursor kept between runs (producers/python/README.md).

    GET {url}?location=L&since=CURSOR&page=N
      -> {"items": [{"location", "day", "temp_c", "updated"}, ...], "next_page": N+1 or null}

Each run asks for what changed since the newest `updated` it has seen (its
cursor, kept by the broker per (source, cursor_key)), lands those items as
one NDJSON file and reports the new cursor. A run that finds nothing new
lands nothing and counts the file as skipped (unchanged).

    PYTHONPATH=producers/python:producers/python/examples \\
      python3 -m sluice.worker weather --broker tcp://127.0.0.1:5555
"""

import json
import urllib.error
import urllib.parse
import urllib.request

import sluice

worker = sluice.Worker()


def get_json(url, job):
    try:
        with urllib.request.urlopen(url, timeout=float(job.params.get("timeout_s", 30))) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        if e.code == 429 or e.code >= 500:
            raise sluice.Retryable(f"GET {url}: HTTP {e.code}", retry_after=30)
        raise sluice.Final(f"GET {url}: HTTP {e.code}")  # a 404 will not pass on a retry
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        raise sluice.Retryable(f"GET {url}: {e}")


@worker.kind("ext.weather")
def weather(job):
    location = job.params["location"]
    since = job.cursor or ""
    items, page = [], 1
    while page:
        job.raise_if_cancelled()  # CANCEL, the timeout, a SIGTERM past its grace
        query = urllib.parse.urlencode({"location": location, "since": since, "page": page})
        body = get_json(f"{job.params['url']}?{query}", job)
        items += body["items"]
        page = body.get("next_page")
    if not items:
        job.skipped()  # nothing new: the cursor stays
        return {"location": location, "items": 0, "since": since}
    ndjson = "".join(json.dumps(item, sort_keys=True) + "\n" for item in items)
    landed = job.land(ndjson, ext="ndjson")  # {landing}/{source}/YYYY/MM/{sha16}.ndjson.gz
    job.cursor = max(item["updated"] for item in items)
    return {"location": location, "items": len(items), "since": since, "path": landed.path}
