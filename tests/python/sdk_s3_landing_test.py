#!/usr/bin/python3
"""sdk_s3_landing_test.py: sluice.landing into an s3:// landing zone (the
SDK's own SigV4 signer and S3 client, producers/python/sluice/s3.py) against
the verifying test store: s3rver behind tests/s3/s3_front.py, which checks
every signature with botocore and enforces If-None-Match: *.

Run:  /usr/bin/python3 tests/python/sdk_s3_landing_test.py [--bin-dir DIR]
Needs `npm ci --prefix tests/s3`, Debian's nodejs and python3-botocore;
exits 77 (skipped, with the reason) where one is missing. With --bin-dir
(sluice-broker, sluice-worker, sluice) it also runs an SDK extractor that
lands into the bucket and a C++ `load` that reads from it. The front is
started in a temporary folder and stopped by PID, also on failure.
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SDK = os.path.join(ROOT, "producers", "python")
FRONT = os.path.join(ROOT, "tests", "s3", "s3_front.py")
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
AWS = "/usr/bin/aws"
AK, SK, REGION = "AKIDSLUICETEST", "sluice-test-secret", "us-east-1"
BUCKET = "sdk-landing"
BIN_DIR = sys.argv[sys.argv.index("--bin-dir") + 1] if "--bin-dir" in sys.argv[1:-1] else None


def skip(reason):
    print(f"SKIPPED: {reason}", file=sys.stderr)
    sys.exit(77)


try:
    import botocore.session
    from botocore.config import Config as BotoConfig
except ImportError as e:
    skip(f"botocore is missing ({e}; apt-get install python3-botocore)")

sys.path.insert(0, SDK)
sys.path.insert(0, HERE)
try:
    from sluice import landing, s3  # noqa: E402
except ImportError as e:  # the package imports python3-zmq and python3-msgpack
    skip(f"{e} (apt-get install python3-zmq python3-msgpack; run with /usr/bin/python3)")


class Failed(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failed(msg)


class Front:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port_file = os.path.join(tmp, "front.port")
        self.log_path = os.path.join(tmp, "front.log")
        self.proc = None

    def start(self):
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, FRONT, "--data", os.path.join(self.tmp, "data"), "--port-file", self.port_file,
             "--bucket", BUCKET, "--access-key", AK, "--secret-key", SK, "--region", REGION],
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not os.path.exists(self.port_file):
            rc = self.proc.poll()
            if rc is not None:
                self.proc = None
                out = self.log().strip()
                if rc == 77:
                    skip(out.splitlines()[-1] if out else "the S3 front skipped")
                raise Failed(f"the front exited with {rc} before it was ready:\n{out}")
            if time.monotonic() > deadline:
                raise Failed(f"the front was not ready within 90 s:\n{self.log()}")
            time.sleep(0.1)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()

    def control(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path)
            r = c.getresponse()
            body = r.read()
            if r.status != 200:
                raise Failed(f"front control {method} {path}: {r.status} {body[:200]!r}")
            return body
        finally:
            c.close()

    def requests(self):
        """The S3 requests seen since the last clear. The front logs a
        request after it answered it, so the log is read until it stops
        growing (a client may have its reply a moment before)."""
        seen = json.loads(self.control("GET", "/_front/log"))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            time.sleep(0.05)
            again = json.loads(self.control("GET", "/_front/log"))
            if len(again) == len(seen):
                break
            seen = again
        return seen

    def clear(self):
        self.control("POST", "/_front/log/clear")


def env_for(front, **over):
    env = {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK, "AWS_REGION": REGION,
           "AWS_ENDPOINT_URL_S3": front.url}
    env.update(over)
    return {k: v for k, v in env.items() if v is not None}


def boto(front):
    return botocore.session.get_session().create_client(
        "s3", endpoint_url=front.url, region_name=REGION, aws_access_key_id=AK, aws_secret_access_key=SK,
        config=BotoConfig(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


def sample(n_lines=20000, tag="a"):
    return "".join(f'{{"row": {i}, "tag": "{tag}", "v": {i * 7 % 1013}}}\n' for i in range(n_lines)).encode()


class Test:
    def __init__(self, front, tmp):
        self.front = front
        self.tmp = tmp
        self.spool = os.path.join(tmp, "spool")
        self.config = s3.Config.from_env(env_for(front))
        self.config.backoff_initial = 0.05
        self.zone = landing.LandingZone(f"s3://{BUCKET}/zone/py", config=self.config, spool_dir=self.spool)
        self.s3 = boto(front)

    def get(self, key):
        return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()

    def spool_empty(self):
        left = os.listdir(self.spool) if os.path.isdir(self.spool) else []
        expect(left == [], f"the spool folder kept {left}")

    # -- the steps ---------------------------------------------------------------------

    def check_config(self):
        expect(isinstance(self.zone, landing.S3LandingZone), f"LandingZone(s3://) is {type(self.zone).__name__}")
        for env, want in [
            (env_for(self.front, AWS_ACCESS_KEY_ID=None), "AWS_ACCESS_KEY_ID is not set"),
            (env_for(self.front, AWS_SECRET_ACCESS_KEY=None), "AWS_SECRET_ACCESS_KEY is not set"),
            (env_for(self.front, AWS_REGION="EU West"), "is not a region name"),
            (env_for(self.front, AWS_ENDPOINT_URL_S3="ftp://x"), "AWS_ENDPOINT_URL_S3 must be an http"),
            (env_for(self.front, AWS_ENDPOINT_URL_S3="http://h/path"), "no path"),
        ]:
            try:
                s3.Config.from_env(env)
                raise Failed(f"Config.from_env accepted {env}")
            except s3.S3Error as e:
                expect(want in str(e) and e.kind == "final", f"config error {e!r}, wanted {want!r}")
        c = s3.Config.from_env(env_for(self.front, AWS_REGION=None, AWS_DEFAULT_REGION="eu-west-1",
                                       AWS_ENDPOINT_URL_S3=None, AWS_ENDPOINT_URL=self.front.url + "/"))
        expect(c.region == "eu-west-1" and c.endpoint == self.front.url and c.path_style, f"config {c}")
        aws = s3.Config.from_env({"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK})
        expect(s3.object_url(aws, "my-bucket", "a b/c+d.gz") ==
               "https://my-bucket.s3.us-east-1.amazonaws.com/a%20b/c%2Bd.gz", "virtual-hosted URL")
        expect(s3.object_url(aws, "my.bucket", "k") == "https://s3.us-east-1.amazonaws.com/my.bucket/k",
               "a dotted bucket is addressed path-style")
        expect(s3.canonical_query([("uploads", ""), ("prefix", "a/b c"), ("list-type", "2")]) ==
               "list-type=2&prefix=a%2Fb%20c&uploads=", "canonical query")
        for bad in ["s3://Bad_Bucket/x", "s3://ab/x", "s3://bucket/a//b", "s3://bucket/a/../b",
                    "s3://bucket/a\\b", "s3://bucket/a\x01b", "s3://" + "b" * 64, "s3://bucket/" + "p" * 513]:
            try:
                landing.LandingZone(bad, config=self.config, spool_dir=self.spool)
                raise Failed(f"the location {bad!r} was accepted")
            except landing.LandingError as e:
                expect(not e.retryable, f"{bad!r}: retryable")
        # sluice.worker checks an s3:// landing zone at start, as sluice-worker does.
        r = subprocess.run([PYTHON, "-m", "sluice.worker", "sdk_kinds", "--landing", f"s3://{BUCKET}/w"],
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join([SDK, HERE])),
                           capture_output=True, text=True, timeout=60)
        expect(r.returncode == 2 and "AWS_ACCESS_KEY_ID is not set" in r.stderr,
               f"sluice.worker without credentials: {r.returncode} {r.stderr[-500:]}")
        r = subprocess.run([PYTHON, "-m", "sluice.worker", "sdk_kinds", "--landing", "s3://Bad_Bucket/w"],
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join([SDK, HERE]), **env_for(self.front)),
                           capture_output=True, text=True, timeout=60)
        expect(r.returncode == 2 and "not a valid bucket name" in r.stderr,
               f"sluice.worker with a bad bucket: {r.returncode} {r.stderr[-500:]}")
        loc = s3.parse_location("s3://bucket/a/b/")
        expect((loc.bucket, loc.prefix, loc.key("x/y"), loc.relative("a/b/x/y"), str(loc)) ==
               ("bucket", "a/b", "a/b/x/y", "x/y", "s3://bucket/a/b"), f"location {loc}")
        # Known SigV4 test vector (AWS docs, "GET Object" example of s3 sigv4).
        import datetime
        cfg = s3.Config("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
        hdrs = {"host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"}
        s3.sign_headers(cfg, "GET", "/test.txt", "", hdrs, s3.EMPTY_SHA256,
                        now=datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc))
        expect(hdrs["authorization"].endswith(
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
            f"the AWS example's signature: {hdrs['authorization']}")

    def check_land(self):
        self.front.clear()
        data = sample()
        landed = self.zone.write("sdk_src", data, ext="ndjson")
        expect(landed.written and landed.bytes_written > 0, f"first landing: {landed}")
        digest = hashlib.sha256(data).hexdigest()
        expect(landed.sha256 == digest, "the landed SHA-256 is not the data's")
        m = re.fullmatch(r"sdk_src/(\d{4})/(\d{2})/([0-9a-f]{16})\.ndjson\.gz", landed.path)
        expect(m and m.group(3) == digest[:16], f"landing path {landed.path}")
        key = "zone/py/" + landed.path
        expect(landed.url == f"s3://{BUCKET}/{key}", f"landed url {landed.url}")
        body = self.get(key)
        expect(len(body) == landed.bytes_written, f"object is {len(body)} bytes, reported {landed.bytes_written}")
        expect(gzip.decompress(body) == data, "the object does not gunzip to the data")
        reqs = self.front.requests()
        ours = [(r["method"], r["status"]) for r in reqs if r["path"].endswith(landed.path)]
        expect(ours[:2] == [("HEAD", 404), ("PUT", 200)], f"requests {ours}")
        put = [r for r in reqs if r["method"] == "PUT"][0]
        expect(put["headers"].get("if-none-match") == "*", f"PUT headers {put['headers']}")
        expect(put["headers"].get("x-amz-content-sha256") == hashlib.sha256(body).hexdigest(),
               "x-amz-content-sha256 is not the body's SHA-256")
        expect(put["headers"].get("content-type") == "application/gzip", "content type")
        self.spool_empty()
        self.first = (key, data, landed)

    def check_again(self):
        key, data, first = self.first
        self.front.clear()
        again = self.zone.write("sdk_src", io.BytesIO(data), ext="ndjson")
        expect(not again.written and again.bytes_written == 0 and again.path == first.path,
               f"the same data again: {again}")
        reqs = self.front.requests()
        expect([r["method"] for r in reqs] == ["HEAD"] and reqs[0]["status"] == 200,
               f"the second landing sent {[(r['method'], r['status']) for r in reqs]}")
        # The race: HEAD says missing (injected 404), the PUT's If-None-Match
        # meets the object: 412, skipped, the object untouched.
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=404&count=1&method=HEAD&path_contains=sdk_src")
        raced = self.zone.write("sdk_src", data, ext="ndjson")
        seen = [(r["method"], r["status"]) for r in self.front.requests()]
        expect(not raced.written and ("PUT", 412) in seen, f"HEAD 404 then the PUT: {raced} {seen}")
        expect(gzip.decompress(self.get(key)) == data, "the object changed")
        self.spool_empty()

    def check_etag_names(self):
        url = "https://example.org/psd/2025-06.csv?x=1"
        landed = self.zone.write("etag_src", b"a,b\n1,2\n", ext="csv", url=url, etag='W/"abc 123"')
        url8 = hashlib.sha256(url.encode()).hexdigest()[:8]
        expect(landed.written and landed.path.endswith(f"/e{url8}-abc%20123.csv.gz"), f"ETag landing {landed}")
        # The object key carries the '%' (encoded %25 on the wire).
        got = self.get("zone/py/" + landed.path)
        expect(gzip.decompress(got) == b"a,b\n1,2\n", "ETag-named object")

        def never():
            raise Failed("the data was read although its ETag names a landed object")
            yield b""
        self.front.clear()
        again = self.zone.write("etag_src", never(), ext="csv", url=url, etag='"abc 123"')
        expect(not again.written and again.path == landed.path, f"the same ETag again: {again}")
        expect([r["method"] for r in self.front.requests()] == ["HEAD"], "ETag skip sent more than a HEAD")
        # Odd prefix characters are signed as S3 canonicalises them.
        odd = landing.LandingZone(f"s3://{BUCKET}/odd prefix+é~(1)/x=y", config=self.config, spool_dir=self.spool)
        o = odd.write("odd", "héllo\n", ext="txt")
        expect(o.written and gzip.decompress(self.get(f"odd prefix+é~(1)/x=y/{o.path}")) == "héllo\n".encode(),
               f"odd prefix: {o}")

    def check_credentials(self):
        secret = "wrong-secret-Zx9Qv7"
        token = "session-token-Kp4Wm2"
        for over, want_code, hidden in [
            (dict(AWS_SECRET_ACCESS_KEY=secret), "SignatureDoesNotMatch", secret),
            (dict(AWS_ACCESS_KEY_ID="AKIDUNKNOWN"), "InvalidAccessKeyId", SK),
            (dict(AWS_SESSION_TOKEN=token), "InvalidToken", token),
        ]:
            cfg = s3.Config.from_env(env_for(self.front, **over))
            zone = landing.LandingZone(f"s3://{BUCKET}/zone/py", config=cfg, spool_dir=self.spool)
            self.front.clear()
            try:
                zone.write("sdk_src", sample(10, "creds"), ext="ndjson")
                raise Failed(f"{want_code}: the landing succeeded")
            except landing.LandingError as e:
                msg = str(e)
                expect(not e.retryable, f"{want_code}: retryable: {msg}")
                for part in ("HEAD s3://sdk-landing/zone/py/sdk_src/", "HTTP 403", want_code,
                             f"access key {cfg.access_key_id}", self.front.url):
                    expect(part in msg, f"{want_code}: {part!r} is not in {msg!r}")
                expect(hidden not in msg and SK not in msg, f"{want_code}: the message shows a secret: {msg}")
            expect(all(r["method"] != "PUT" for r in self.front.requests()), f"{want_code}: a PUT was sent")
        self.spool_empty()

    def check_retries(self):
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=503&count=2&method=PUT")
        data = sample(300, "retry")
        landed = self.zone.write("retry_src", data, ext="ndjson")
        puts = [r["status"] for r in self.front.requests() if r["method"] == "PUT"]
        expect(landed.written and puts == [503, 503, 200], f"503 twice: {landed} PUTs {puts}")
        expect(gzip.decompress(self.get("zone/py/" + landed.path)) == data, "object after retries")
        # A dropped connection, a 500 on the HEAD, a 429 with Retry-After.
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=0&count=1&method=PUT")
        self.front.control("POST", "/_front/fail?status=500&count=1&method=HEAD")
        landed = self.zone.write("retry_src", sample(300, "drop"), ext="ndjson")
        seen = [(r["method"], r["status"]) for r in self.front.requests()]
        expect(landed.written and seen[-1] == ("PUT", 200), f"dropped connection: {landed} {seen}")
        # Unavailable throughout: retryable, after max_attempts.
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=503&count=-1&method=PUT")
        try:
            cfg = s3.Config.from_env(env_for(self.front))
            cfg.max_attempts, cfg.backoff_initial = 3, 0.02
            zone = landing.LandingZone(f"s3://{BUCKET}/zone/py", config=cfg, spool_dir=self.spool)
            zone.write("retry_src", sample(300, "down"), ext="ndjson")
            raise Failed("a store answering 503 took the file")
        except landing.LandingError as e:
            expect(e.retryable and "HTTP 503" in str(e) and "PUT s3://sdk-landing/zone/py/retry_src/" in str(e),
                   f"503 throughout: {e} (retryable {e.retryable})")
        finally:
            self.front.control("POST", "/_front/reset")
        puts = [r["status"] for r in self.front.requests() if r["method"] == "PUT"]
        expect(puts == [503, 503, 503], f"PUTs under 503: {puts}")
        # A store that never answers: the connection refused, retryable.
        cfg = s3.Config.from_env(env_for(self.front, AWS_ENDPOINT_URL_S3="http://127.0.0.1:9"))
        cfg.max_attempts, cfg.backoff_initial = 2, 0.01
        try:
            landing.LandingZone(f"s3://{BUCKET}/p", config=cfg, spool_dir=self.spool).write("x", b"1", ext="txt")
            raise Failed("landing to a closed port succeeded")
        except landing.LandingError as e:
            expect(e.retryable and "2 attempts" in str(e) and "127.0.0.1:9" in str(e), f"closed port: {e}")
        self.spool_empty()

    def check_aws_cli(self):
        key, data, landed = self.first
        if not os.access(AWS, os.X_OK):
            print("     (no /usr/bin/aws: read back with botocore only)")
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(HOME=self.tmp, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_DEFAULT_REGION=REGION,
                   AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="",
                   AWS_EC2_METADATA_DISABLED="true")
        out = os.path.join(self.tmp, "back.gz")
        r = subprocess.run([AWS, "--endpoint-url", self.front.url, "s3", "cp", "--quiet", f"s3://{BUCKET}/{key}", out],
                           env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        expect(r.returncode == 0, f"aws s3 cp: {r.stderr.decode(errors='replace')}")
        with gzip.open(out, "rb") as f:
            expect(f.read() == data, "awscli's copy does not gunzip to the data")

    def check_list(self):
        c = s3.Client(self.config)
        objs = c.list(BUCKET, "zone/py/")
        keys = [o.key for o in objs]
        expect(self.first[0] in keys and all(k.startswith("zone/py/") for k in keys), f"listing {keys}")


    def check_connections_and_stop(self):
        # A kept-alive connection gone stale is replaced at once, not
        # counted as an attempt (max_attempts 1 would fail otherwise).
        cfg = s3.Config.from_env(env_for(self.front))
        cfg.max_attempts = 1
        zone = landing.LandingZone(f"s3://{BUCKET}/zone/py", config=cfg, spool_dir=self.spool)
        zone.write("conn_src", b"first\n", ext="txt")
        conns = list(zone.client._local.conns.values())
        expect(len(conns) == 1 and conns[0].sock is not None, "no kept-alive connection")
        import socket
        conns[0].sock.shutdown(socket.SHUT_RDWR)
        landed = zone.write("conn_src", b"second\n", ext="txt")
        expect(landed.written, f"after a stale connection: {landed}")
        # stop() ends the retries at once: retryable, "stopped".
        self.front.control("POST", "/_front/fail?status=503&count=-1&method=PUT")
        try:
            cfg = s3.Config.from_env(env_for(self.front))
            cfg.backoff_initial = 2.0
            zone = landing.LandingZone(f"s3://{BUCKET}/zone/py", config=cfg, spool_dir=self.spool)
            t0 = time.monotonic()
            try:
                zone.write("conn_src", b"third\n", ext="txt", stop=lambda: time.monotonic() - t0 > 0.5)
                raise Failed("a stopped landing succeeded")
            except landing.LandingError as e:
                took = time.monotonic() - t0
                expect(e.retryable and "stopped" in str(e) and took < 1.5, f"stop: {e} after {took:.1f} s")
        finally:
            self.front.control("POST", "/_front/reset")
        self.spool_empty()

    def check_multipart(self):
        """From multipart_threshold a body goes up in parts (the front checks
        their sizes, ETags and order), completed with If-None-Match: *."""
        cfg = s3.Config.from_env(env_for(self.front))
        cfg.multipart_threshold, cfg.part_size, cfg.backoff_initial = 6 << 20, 5 << 20, 0.02
        zone = landing.LandingZone(f"s3://{BUCKET}/zone/mp", config=cfg, spool_dir=self.spool)
        data = os.urandom(12 << 20)  # incompressible: 3 parts of 5, 5 and ~2 MiB
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=503&count=1&method=PUT&query_contains=partNumber%3D2")
        try:
            landed = zone.write("mp_src", data, ext="bin")
        finally:
            self.front.control("POST", "/_front/reset")
        seen = [(r["method"], r["status"], r["query"]) for r in self.front.requests()]
        parts = [q for m, st, q in seen if m == "PUT" and st == 200 and "partNumber" in q]
        expect(landed.written and len(parts) == 3, f"multipart landing {landed}: {seen}")
        expect(any(m == "PUT" and st == 503 for m, st, _ in seen), f"no retried part: {seen}")
        completes = [(st, q) for m, st, q in seen if m == "POST" and "uploadId" in q]
        expect([st for st, _ in completes] == [200], f"completion {completes}")
        complete = [r for r in self.front.requests() if r["method"] == "POST" and "uploadId" in r["query"]][0]
        expect(complete["headers"].get("if-none-match") == "*", "the completion is not conditional")
        body = self.get("zone/mp/" + landed.path)
        expect(len(body) == landed.bytes_written and gzip.decompress(body) == data, "the multipart object differs")
        # HEAD says missing, the completion meets the object: 412, skipped,
        # the upload aborted, the object untouched.
        self.front.clear()
        self.front.control("POST", "/_front/fail?status=404&count=1&method=HEAD&path_contains=mp_src")
        raced = zone.write("mp_src", data, ext="bin")
        seen = [(r["method"], r["status"], r["query"]) for r in self.front.requests()]
        expect(not raced.written and any(m == "POST" and st == 412 for m, st, _ in seen) and
               any(m == "DELETE" and "uploadId" in q for m, st, q in seen), f"multipart race: {raced} {seen}")
        expect(self.get("zone/mp/" + landed.path) == body, "the object changed")
        self.spool_empty()

    def check_bounded_memory(self):
        """64 MiB of incompressible data land with a peak RSS far below it:
        streamed through the spool file, never held in memory."""
        size = 64 << 20
        code = (
            "import os, re, sys\n"
            "def hwm():  # the peak RSS of this process image (ru_maxrss survives exec)\n"
            "    return int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
            "sys.path.insert(0, sys.argv[1])\n"
            "from sluice import landing\n"
            "zone = landing.LandingZone(sys.argv[2], spool_dir=sys.argv[3])\n"
            "before = hwm()\n"
            f"chunks = (os.urandom(1 << 20) for _ in range({size >> 20}))\n"
            "landed = zone.write('big_src', chunks, ext='bin')\n"
            "after = hwm()\n"
            "print(landed.written, landed.bytes_written, before, after, landed.path)\n")
        env = dict(os.environ, **env_for(self.front))
        r = subprocess.run([PYTHON, "-c", code, SDK, f"s3://{BUCKET}/zone/py", self.spool], env=env,
                           capture_output=True, text=True, timeout=300)
        expect(r.returncode == 0, f"the big landing failed: {r.stderr[-2000:]}")
        written, nbytes, before, after, path = r.stdout.split()
        expect(written == "True" and int(nbytes) > size, f"big landing: {r.stdout}")
        grew = (int(after) - int(before)) * 1024
        expect(int(after) * 1024 < size // 2 and grew < 16 << 20,
               f"peak RSS {int(after) >> 10} MiB (grew {grew >> 20} MiB) for a {size >> 20} MiB landing")
        print(f"     peak RSS {int(after) >> 10} MiB (grew {grew >> 20} MiB) for {size >> 20} MiB of data")
        head = s3.Client(self.config).head(BUCKET, "zone/py/" + path)
        expect(head.size == int(nbytes), f"the object is {head.size} bytes, {nbytes} reported")
        self.spool_empty()

    def check_worker_and_load(self):
        """An SDK worker's extraction lands into the bucket; a C++ worker's
        `load` reads the object from there into the lakehouse."""
        bins = ("sluice-broker", "sluice-worker", "sluice")
        if not BIN_DIR or not all(os.access(os.path.join(BIN_DIR, b), os.X_OK) for b in bins):
            print("     (no --bin-dir with sluice-broker, sluice-worker, sluice: left out)")
            return
        try:
            import sdk_harness  # needs python3-zmq, python3-msgpack
        except SystemExit:
            print("     (no python3-zmq / python3-msgpack: left out)")
            return
        import sqlite3
        import sluice
        work = os.path.join(self.tmp, "e2e")
        os.makedirs(os.path.join(work, "models"))
        with open(os.path.join(work, "models", "sources.toml"), "w") as f:
            f.write('[[raw]]\ntable = "raw_py_rows"\nglob = "py_rows/*.ndjson.gz"\nformat = "ndjson"\n')
        with open(os.path.join(work, "s3_land_kinds.py"), "w") as f:
            f.write("import json\nimport sluice\n\nworker = sluice.Worker()\n\n\n"
                    "@worker.kind('py.land_rows')\n"
                    "def land_rows(job):\n"
                    "    rows = job.params['rows']\n"
                    "    landed = job.land(''.join(json.dumps(r) + '\\n' for r in rows), ext='ndjson')\n"
                    "    return {'url': landed.url, 'written': landed.written}\n")
        location = f"s3://{BUCKET}/e2e"
        aws = env_for(self.front)
        p = sdk_harness.Procs(work, BIN_DIR)
        try:
            _, endpoint = p.broker()
            p.sdk_worker("py-worker", "s3_land_kinds", endpoint, ["--slots", "2"],
                         env=dict(aws, PYTHONPATH=os.pathsep.join([SDK, work]), LANDING_DIR=location,
                                  SLUICE_SPOOL_DIR=os.path.join(work, "spool-py")))
            os.environ.update(aws)  # the C++ worker reads the same variables
            try:
                p.cpp_worker("cpp-worker", endpoint, ["--queues", "default", "--slots", "1", "--landing", location,
                                                      "--spool-dir", os.path.join(work, "spool-cpp"),
                                                      "--lakehouse", os.path.join(work, "lakehouse.sqlite"),
                                                      "--models-root", work])
            finally:
                for k in aws:
                    os.environ.pop(k, None)
            c = sluice.Client(endpoint, timeout=10)
            rows = [{"id": i, "city": "oslo" if i % 2 else "lisbon", "t": i * 1.5} for i in range(50)]
            params = {"extraction": True, "source": "py_rows", "rows": rows}
            reports = []
            for _ in range(2):
                job = c.submit("py.land_rows", params, max_attempts=1)
                info = c.wait(job.id, timeout=60)
                expect(info.state == "succeeded", f"py.land_rows: {info.state} {info.raw}")
                reports.append(info.outputs)
            first, second = reports
            expect(first.get("written") is True and first.get("url", "").startswith(f"{location}/py_rows/"),
                   f"first extraction {first}")
            expect(second.get("written") is False and second.get("url") == first.get("url"),
                   f"second extraction {second}")
            x = sorted(c.extractions(source="py_rows"), key=lambda r: r.job_id)
            expect([(r.files_written, r.files_skipped) for r in x] == [(1, 0), (0, 1)],
                   f"extraction runs {[(r.job_id, r.files_written, r.files_skipped) for r in x]}")
            expect(x[0].bytes_written > 0 and x[1].bytes_written == 0, f"bytes_written {x[0]} {x[1]}")
            # A cancel reaches an S3 transfer: a PUT the store keeps refusing
            # with 503 is abandoned between its retries, the job cancelled.
            self.front.clear()
            self.front.control("POST", "/_front/fail?status=503&count=-1&method=PUT&path_contains=py_rows")
            try:
                job = c.submit("py.land_rows", dict(params, rows=rows[:3]), max_attempts=1)
                deadline = time.monotonic() + 30
                while not any(r["method"] == "PUT" and r["status"] == 503 for r in self.front.requests()):
                    expect(time.monotonic() < deadline, "the landing sent no PUT")
                    time.sleep(0.02)
                c.cancel(job.id)
                info = c.wait(job.id, timeout=30)
                expect(info.state == "cancelled", f"cancelled mid-upload: {info.state} {info.raw}")
            finally:
                self.front.control("POST", "/_front/reset")
            load = c.submit("load", {"models": "models"}, max_attempts=1)
            info = c.wait(load.id, timeout=120)
            expect(info.state == "succeeded", f"load: {info.state} {info.raw}")
            db = sqlite3.connect(os.path.join(work, "lakehouse.sqlite"))
            try:
                n, ids = db.execute("SELECT count(*), sum(id) FROM raw_py_rows").fetchone()
            finally:
                db.close()
            expect((n, ids) == (50, sum(range(50))), f"raw_py_rows has {n} rows (sum of ids {ids})")
        except Exception:
            p.stop_all()
            p.dump()
            raise
        p.stop_all()

def main():
    for var in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[var]
    tmp = tempfile.mkdtemp(prefix="sdk-s3-landing-")
    front = Front(tmp)
    passed, failed = [], []
    try:
        front.start()
        t = Test(front, tmp)
        steps = [
            ("configuration, locations, URLs, a SigV4 test vector", t.check_config),
            ("a file lands (HEAD 404, PUT If-None-Match: *, signature accepted)", t.check_land),
            ("the same content again is skipped (no PUT); a 412 is skipped", t.check_again),
            ("ETag names and odd prefixes", t.check_etag_names),
            ("wrong credentials are final, without the secret", t.check_credentials),
            ("503, 500, a dropped connection are retried", t.check_retries),
            ("awscli reads the object back", t.check_aws_cli),
            ("the client lists the zone", t.check_list),
            ("a stale connection is replaced; stop() ends the retries", t.check_connections_and_stop),
            ("a multipart upload, a retried part, a 412 at completion", t.check_multipart),
            ("64 MiB land with bounded memory", t.check_bounded_memory),
            ("an SDK worker lands in S3, a C++ load reads it", t.check_worker_and_load),
        ]
        for name, fn in steps:
            t0 = time.monotonic()
            try:
                fn()
                passed.append(name)
                print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
            except Exception as e:
                failed.append(name)
                print(f"FAIL {name}: {e if isinstance(e, Failed) else traceback.format_exc()}", flush=True)
                if name.startswith("a file lands"):
                    break
    except Failed as e:
        failed.append("start")
        print(f"FAIL start: {e}", flush=True)
    finally:
        front.stop()
        if failed:
            print(f"--- front log (last 3000 chars) ---\n{front.log()[-3000:]}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
