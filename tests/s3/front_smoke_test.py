#!/usr/bin/python3
"""front_smoke_test.py: self-check of tests/s3/s3_front.py (the verifying S3
front before s3rver).

Run:  /usr/bin/python3 tests/s3/front_smoke_test.py [--node /usr/bin/node]
Needs `npm ci --prefix tests/s3`, Debian's nodejs, python3-botocore and
awscli (/usr/bin/aws). Exits 0 when every check passes, 77 with `SKIPPED:`
when the front skips (node, botocore or s3rver missing), 1 otherwise.
It starts the front in a temporary directory and stops it (and so s3rver)
by PID at the end, also on failure; it talks to 127.0.0.1 only.
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
FRONT = os.path.join(HERE, "s3_front.py")
PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
AWS = "/usr/bin/aws"
AK, SK, REGION = "AKIDSLUICETEST", "sluice-test-secret", "us-east-1"
BUCKET = "smoke"
NODE = sys.argv[sys.argv.index("--node") + 1] if "--node" in sys.argv[1:-1] else None
# --no-aws-cli: leave out the awscli step (ctest: the integration tests
# run awscli against the front already; it is most of this test's time).
WITH_AWS_CLI = "--no-aws-cli" not in sys.argv[1:]
MIB = 1 << 20

try:
    import botocore.session
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.config import Config
    from botocore.credentials import Credentials
    from botocore.exceptions import ClientError
except ImportError as e:
    print(f"SKIPPED: botocore is missing ({e}; apt-get install python3-botocore)", file=sys.stderr)
    sys.exit(77)


class Failed(Exception):
    pass


class Skipped(Exception):
    pass


def expect(cond, msg):
    if not cond:
        raise Failed(msg)


def error_code(body):
    m = re.search(rb"<Code>([^<]*)</Code>", body or b"")
    return m.group(1).decode() if m else None


class Front:
    def __init__(self, tmp):
        self.tmp = tmp
        self.port_file = os.path.join(tmp, "front.port")
        self.log_path = os.path.join(tmp, "front.log")
        self.proc = None
        self.port = None
        self.s3rver_pid = None

    def start(self):
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [PYTHON, FRONT, "--data", os.path.join(self.tmp, "data"), "--port-file", self.port_file,
             "--bucket", BUCKET, "--bucket", "other"] + (["--node", NODE] if NODE else []),
            stdin=subprocess.DEVNULL, stdout=self.log_file, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not os.path.exists(self.port_file):
            rc = self.proc.poll()
            if rc is not None:
                out = self.log()
                if rc == 77:
                    self.proc = None
                    self.log_file.close()
                    raise Skipped(out.strip())
                raise Failed(f"the front exited with {rc} before it was ready:\n{out}")
            if time.monotonic() > deadline:
                raise Failed(f"the front was not ready within 90 s:\n{self.log()}")
            time.sleep(0.1)
        with open(self.port_file) as f:
            text = f.read()
        expect(re.fullmatch(r"\d+\n", text), f"port file holds {text!r}")
        self.port = int(text)
        m = re.search(r"s3rver pid (\d+)", self.log())
        self.s3rver_pid = int(m.group(1)) if m else None
        self.url = f"http://127.0.0.1:{self.port}"

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        """SIGTERM by PID; returns the front's exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        if self.s3rver_pid and pid_alive(self.s3rver_pid):
            time.sleep(1)
            if pid_alive(self.s3rver_pid):
                os.kill(self.s3rver_pid, signal.SIGKILL)
                return "s3rver-left-running"
        self.log_file.close()
        return rc

    def control(self, method, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request(method, path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def client(front, secret=SK, retries=1):
    session = botocore.session.get_session()
    return session.create_client(
        "s3", endpoint_url=front.url, region_name=REGION,
        aws_access_key_id=AK, aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": retries},
                      connect_timeout=10, read_timeout=60))


def signed_send(front, method, path, body=b"", headers=None, *, access_key=AK, secret=SK,
                region=REGION, token=None, payload_hash=None, send_body=None,
                amz_date=None, drop_sha=False, canonical_override=None):
    """Signs with botocore (or a buggy canonical request) and sends with
    http.client exactly the given path; returns (status, body)."""
    url = front.url + path
    req = AWSRequest(method=method, url=url, headers=dict(headers or {}), data=body)
    req.headers["X-Amz-Content-SHA256"] = payload_hash or hashlib.sha256(body).hexdigest()
    signer = S3SigV4Auth(Credentials(access_key, secret, token), "s3", region)
    ts = amz_date or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    req.context["timestamp"] = ts
    req.headers["X-Amz-Date"] = ts
    req.headers["Host"] = f"127.0.0.1:{front.port}"
    if token:
        req.headers["X-Amz-Security-Token"] = token
    canonical = signer.canonical_request(req)
    if canonical_override:
        canonical = canonical_override(canonical)
    sig = signer.signature(signer.string_to_sign(req, canonical), req)
    hdrs = signer.headers_to_sign(req)
    req.headers["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(req)}, "
        f"SignedHeaders={signer.signed_headers(hdrs)}, Signature={sig}")
    if drop_sha:
        del req.headers["X-Amz-Content-SHA256"]
    c = http.client.HTTPConnection("127.0.0.1", front.port, timeout=30)
    try:
        c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        data = body if send_body is None else send_body
        for k, v in req.headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(len(data)))
        c.endheaders(data)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def client_error(fn):
    try:
        fn()
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return 200, None


def add_header(s3, event, name, value):
    def handler(request, **kwargs):
        request.headers[name] = value
    s3.meta.events.register(event, handler)


# ---------------------------------------------------------------------------


def check_basic(front, s3):
    s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hello, sluice\n", ContentType="text/plain")
    got = s3.get_object(Bucket=BUCKET, Key="hello.txt")
    expect(got["Body"].read() == b"hello, sluice\n", "get_object returned other bytes")
    head = s3.head_object(Bucket=BUCKET, Key="hello.txt")
    expect(head["ContentLength"] == 14, f"head ContentLength {head['ContentLength']}")
    expect(head["ETag"] == '"%s"' % hashlib.md5(b"hello, sluice\n").hexdigest(), f"ETag {head['ETag']}")
    # Odd keys: space, '+', '~', unicode, '(', nested.
    for key in ["dir/a b+c~d é (1).txt", "dir/sub/x=y&z.bin", "ünï/çødé"]:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        expect(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode(), f"key {key!r}")
    # ListObjectsV2 with prefix, delimiter and continuation tokens.
    for i in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"list/k{i}", Body=b"x" * i)
    keys, token, pages = [], None, 0
    while True:
        kw = {"Bucket": BUCKET, "Prefix": "list/", "MaxKeys": 2}
        if token:
            kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        pages += 1
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            break
        token = page["NextContinuationToken"]
    expect(keys == [f"list/k{i}" for i in range(5)] and pages == 3, f"paged list {keys} in {pages} pages")
    top = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    prefixes = sorted(p["Prefix"] for p in top.get("CommonPrefixes", []))
    expect(prefixes == ["dir/", "list/", "ünï/"], f"common prefixes {prefixes}")
    s3.delete_object(Bucket=BUCKET, Key="list/k0")
    expect(client_error(lambda: s3.head_object(Bucket=BUCKET, Key="list/k0"))[0] == 404, "head after delete")
    st, code = client_error(lambda: s3.get_object(Bucket=BUCKET, Key="missing"))
    expect((st, code) == (404, "NoSuchKey"), f"get missing key: {st} {code}")


def check_multipart(front, s3):
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB + 4321)]
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/object.bin")
    done = []
    for n, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket=BUCKET, Key="mp/object.bin", UploadId=up["UploadId"],
                           PartNumber=n, Body=data)
        done.append({"PartNumber": n, "ETag": r["ETag"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/object.bin", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": done})
    got = s3.get_object(Bucket=BUCKET, Key="mp/object.bin")["Body"].read()
    expect(got == b"".join(parts), f"multipart object differs ({len(got)} bytes read back)")
    # What s3rver skips and the front checks.
    st, code = client_error(lambda: s3.upload_part(Bucket=BUCKET, Key="mp/object.bin", UploadId=up["UploadId"],
                                                   PartNumber=3, Body=b"late"))
    expect((st, code) == (404, "NoSuchUpload"), f"part for a completed upload: {st} {code}")
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/small-parts")
    etags = [s3.upload_part(Bucket=BUCKET, Key="mp/small-parts", UploadId=up["UploadId"], PartNumber=n,
                            Body=b"tiny %d" % n)["ETag"] for n in (1, 2)]

    def complete(parts):
        return client_error(lambda: s3.complete_multipart_upload(
            Bucket=BUCKET, Key="mp/small-parts", UploadId=up["UploadId"], MultipartUpload={"Parts": parts}))
    st, code = complete([{"PartNumber": 1, "ETag": '"0123456789abcdef0123456789abcdef"'}])
    expect((st, code) == (400, "InvalidPart"), f"complete with a wrong ETag: {st} {code}")
    st, code = complete([{"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}])
    expect((st, code) == (400, "InvalidPartOrder"), f"complete with parts out of order: {st} {code}")
    st, code = complete([{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}])
    expect((st, code) == (400, "EntityTooSmall"), f"complete with a tiny first part: {st} {code}")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/small-parts", UploadId=up["UploadId"])
    st, code = complete([{"PartNumber": 2, "ETag": etags[1]}])
    expect((st, code) == (404, "NoSuchUpload"), f"complete after abort: {st} {code}")
    st, code = client_error(lambda: s3.put_object(Bucket=BUCKET, Key="md5", Body=b"abc",
                                                  ContentMD5="0W+zbwkR+HiZjBNhka9wXg=="))  # md5 of "xyz"
    expect((st, code) == (400, "BadDigest"), f"wrong Content-MD5: {st} {code}")


def check_auth(front):
    bad = client(front, secret="not-the-secret")
    st, code = client_error(lambda: bad.put_object(Bucket=BUCKET, Key="evil", Body=b"x"))
    expect((st, code) == (403, "SignatureDoesNotMatch"), f"wrong secret: {st} {code}")
    # Anonymous PUT with plain urllib.
    req = urllib.request.Request(front.url + f"/{BUCKET}/anon", data=b"anonymous", method="PUT")
    try:
        urllib.request.urlopen(req, timeout=30)
        raise Failed("anonymous PUT was accepted")
    except urllib.error.HTTPError as e:
        body = e.read()
        expect(e.code == 403 and error_code(body) == "AccessDenied", f"anonymous PUT: {e.code} {body!r}")
        expect(e.headers.get("Content-Type") == "application/xml", "error Content-Type")
    # A body other than the signed one.
    st, body = signed_send(front, "PUT", f"/{BUCKET}/tampered", b"the signed body",
                           send_body=b"another body!!!")
    expect((st, error_code(body)) == (400, "XAmzContentSHA256Mismatch"), f"tampered body: {st} {body!r}")
    # The good path of the hand signer, then its failures.
    st, body = signed_send(front, "PUT", f"/{BUCKET}/hand%20signed%2Bkey", b"ok")
    expect(st == 200, f"hand-signed PUT: {st} {body!r}")
    cases = [
        ("unknown key", dict(access_key="AKIDUNKNOWN"), 403, "InvalidAccessKeyId"),
        ("other region", dict(region="eu-west-1"), 400, "AuthorizationHeaderMalformed"),
        ("skewed clock", dict(amz_date=time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 3600))),
         403, "RequestTimeTooSkewed"),
        ("no x-amz-content-sha256", dict(drop_sha=True), 400, "InvalidRequest"),
        ("unexpected session token", dict(token="some-token"), 403, "InvalidToken"),
    ]
    for what, kw, want_st, want_code in cases:
        st, body = signed_send(front, "PUT", f"/{BUCKET}/neg", b"x", **kw)
        expect((st, error_code(body)) == (want_st, want_code), f"{what}: {st} {body[:300]!r}")
    # libcurl-style canonicalisation bugs must show as SignatureDoesNotMatch.
    st, body = signed_send(front, "POST", f"/{BUCKET}/mp2?uploads", b"",
                           canonical_override=lambda c: c.replace("\nuploads=\n", "\nuploads\n"))
    expect((st, error_code(body)) == (403, "SignatureDoesNotMatch") and b"value-less" in body,
           f"'uploads' signed without '=': {st} {body[:400]!r}")
    st, body = signed_send(front, "POST", f"/{BUCKET}/mp2?uploads", b"")
    expect(st == 200 and b"<UploadId>" in body, f"?uploads signed as 'uploads=': {st} {body[:300]!r}")
    st, body = signed_send(front, "GET", f"/{BUCKET}?prefix=list%2F&list-type=2", b"",
                           canonical_override=lambda c: c.replace("list-type=2&prefix=list%2F",
                                                                  "prefix=list%2F&list-type=2"))
    expect((st, error_code(body)) == (403, "SignatureDoesNotMatch") and b"unsorted" in body,
           f"unsorted query: {st} {body[:400]!r}")
    st, body = signed_send(front, "GET", f"/{BUCKET}?prefix=list%2F&list-type=2", b"")
    expect(st == 200 and b"<ListBucketResult" in body, f"unsorted query signed sorted: {st} {body[:300]!r}")


def check_if_none_match(front, s3):
    s3.put_object(Bucket=BUCKET, Key="inm/existing", Body=b"first")
    cond = client(front)
    add_header(cond, "before-sign.s3.PutObject", "If-None-Match", "*")
    add_header(cond, "before-sign.s3.CompleteMultipartUpload", "If-None-Match", "*")
    st, code = client_error(lambda: cond.put_object(Bucket=BUCKET, Key="inm/existing", Body=b"second"))
    expect((st, code) == (412, "PreconditionFailed"), f"If-None-Match on an existing key: {st} {code}")
    expect(s3.get_object(Bucket=BUCKET, Key="inm/existing")["Body"].read() == b"first", "object was replaced")
    st, code = client_error(lambda: cond.put_object(Bucket=BUCKET, Key="inm/new", Body=b"new"))
    expect(st == 200, f"If-None-Match on a new key: {st} {code}")
    # Multipart completion is conditional too.
    up = s3.create_multipart_upload(Bucket=BUCKET, Key="inm/existing")
    r = s3.upload_part(Bucket=BUCKET, Key="inm/existing", UploadId=up["UploadId"], PartNumber=1, Body=b"mp")
    st, code = client_error(lambda: cond.complete_multipart_upload(
        Bucket=BUCKET, Key="inm/existing", UploadId=up["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"]}]}))
    expect((st, code) == (412, "PreconditionFailed"), f"conditional CompleteMultipartUpload: {st} {code}")
    # Racing conditional PUTs on one new key: exactly one wins.
    results = []
    barrier = threading.Barrier(4)

    def racer(i):
        c = client(front)
        add_header(c, "before-sign.s3.PutObject", "If-None-Match", "*")
        barrier.wait()
        results.append(client_error(lambda: c.put_object(Bucket=BUCKET, Key="inm/race", Body=b"r%d" % i))[0])
    threads = [threading.Thread(target=racer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    expect(sorted(results) == [200, 412, 412, 412], f"racing conditional PUTs: {results}")
    # ignore mode: forwarded without the header, s3rver overwrites.
    st, _ = front.control("POST", "/_front/if-none-match?mode=ignore")
    expect(st == 200, "switch to ignore")
    try:
        st, code = client_error(lambda: cond.put_object(Bucket=BUCKET, Key="inm/existing", Body=b"third"))
        expect(st == 200, f"If-None-Match in ignore mode: {st} {code}")
        expect(s3.get_object(Bucket=BUCKET, Key="inm/existing")["Body"].read() == b"third",
               "ignore mode did not overwrite")
    finally:
        front.control("POST", "/_front/if-none-match?mode=enforce")


def check_faults(front, s3):
    st, _ = front.control("POST", "/_front/fail?status=503&count=1&method=PUT")
    expect(st == 200, "fail control")
    st, code = client_error(lambda: s3.put_object(Bucket=BUCKET, Key="fault/a", Body=b"1"))
    expect((st, code) == (503, "SlowDown"), f"injected 503: {st} {code}")
    st, code = client_error(lambda: s3.put_object(Bucket=BUCKET, Key="fault/a", Body=b"2"))
    expect(st == 200, f"PUT after the injected 503: {st} {code}")
    front.control("POST", "/_front/fail?status=0&count=1&path_contains=fault/b")
    try:
        s3.put_object(Bucket=BUCKET, Key="fault/b", Body=b"3")
        raise Failed("status=0 fault: the PUT succeeded")
    except ClientError as e:
        raise Failed(f"status=0 fault answered {e}")
    except Exception as e:  # botocore's connection errors
        expect("Connection" in type(e).__name__ or "Protocol" in type(e).__name__,
               f"status=0 fault raised {type(e).__name__}: {e}")
    s3.put_object(Bucket=BUCKET, Key="fault/b", Body=b"3")
    front.control("POST", "/_front/delay?ms=400&count=1&method=GET&path_contains=fault/a")
    t0 = time.monotonic()
    s3.get_object(Bucket=BUCKET, Key="fault/a")["Body"].read()
    took = time.monotonic() - t0
    expect(took >= 0.4, f"delayed GET took {took:.3f} s")
    st, body = front.control("GET", "/_front/health")
    expect((st, body) == (200, b"ok"), f"health: {st} {body!r}")


def check_log(front):
    st, body = front.control("GET", "/_front/log")
    expect(st == 200, f"log: {st}")
    entries = json.loads(body)
    expect(len(entries) > 20, f"log has {len(entries)} entries")
    for e in entries:
        expect(set(e) >= {"method", "path", "query", "status", "headers"}, f"log entry {e}")
        a = e["headers"].get("authorization", "")
        expect(not a or a.endswith("Signature=redacted"), f"authorization not redacted: {a}")
    expect(any(e["status"] == 503 for e in entries), "log lacks the injected 503")
    expect(any(e["headers"].get("x-amz-security-token") == "redacted" for e in entries), "token not redacted")
    st, _ = front.control("POST", "/_front/log/clear")
    st, body = front.control("GET", "/_front/log")
    expect(json.loads(body) == [], "log not cleared")


def check_aws_cli(front, tmp):
    if not os.access(AWS, os.X_OK):
        raise Failed(f"{AWS} is missing (apt-get install awscli)")
    home = os.path.join(tmp, "home")
    os.makedirs(home, exist_ok=True)
    # No config file: with an IP endpoint the CLI addresses path-style by itself.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=home, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_DEFAULT_REGION=REGION,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_PAGER="",
               AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1")

    def aws(*argv):
        r = subprocess.run([AWS, "--endpoint-url", front.url, *argv], env=env, cwd=tmp,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        if r.returncode != 0:
            raise Failed(f"aws {' '.join(argv)} exited {r.returncode}: {r.stderr.decode(errors='replace')}")
        return r.stdout.decode()

    src = os.path.join(tmp, "cli-up.bin")
    with open(src, "wb") as f:
        f.write(os.urandom(9 * MIB + 17))  # over the CLI's 8 MiB multipart threshold
    aws("s3", "cp", src, f"s3://{BUCKET}/cli/up load.bin")
    out = aws("s3", "ls", f"s3://{BUCKET}/cli/")
    expect("up load.bin" in out and str(9 * MIB + 17) in out, f"aws s3 ls: {out!r}")
    back = os.path.join(tmp, "cli-down.bin")
    aws("s3", "cp", f"s3://{BUCKET}/cli/up load.bin", back)
    with open(src, "rb") as a, open(back, "rb") as b:
        expect(a.read() == b.read(), "aws s3 cp round trip differs")
    small = os.path.join(tmp, "cli-small.txt")
    with open(small, "wb") as f:
        f.write(b"put-object body\n")
    out = json.loads(aws("s3api", "put-object", "--bucket", BUCKET, "--key", "cli/put+object~é.txt",
                         "--body", small))
    expect(out.get("ETag") == '"%s"' % hashlib.md5(b"put-object body\n").hexdigest(), f"put-object: {out}")
    out = json.loads(aws("s3api", "head-object", "--bucket", BUCKET, "--key", "cli/put+object~é.txt"))
    expect(out.get("ContentLength") == 16, f"head-object: {out}")


def main():
    for var in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[var]
    tmp = tempfile.mkdtemp(prefix="s3-front-smoke-")
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    front = Front(tmp)
    passed, failed = [], []
    t_start = time.monotonic()
    try:
        front.start()
        s3 = client(front)
        steps = [
            ("basic put/get/head/list/delete", lambda: check_basic(front, s3)),
            ("multipart upload and its checks", lambda: check_multipart(front, s3)),
            ("signature checks", lambda: check_auth(front)),
            ("If-None-Match", lambda: check_if_none_match(front, s3)),
            ("fault and delay injection", lambda: check_faults(front, s3)),
            ("request log", lambda: check_log(front)),
        ]
        if WITH_AWS_CLI:
            steps.append(("aws CLI", lambda: check_aws_cli(front, tmp)))
        for name, fn in steps:
            t0 = time.monotonic()
            try:
                fn()
                passed.append(name)
                print(f"ok   {name} ({time.monotonic() - t0:.1f} s)", flush=True)
            except Exception as e:
                failed.append(name)
                detail = str(e) if isinstance(e, Failed) else traceback.format_exc()
                print(f"FAIL {name}: {detail}", flush=True)
    except Skipped as e:
        shutil.rmtree(tmp, ignore_errors=True)
        print(e if str(e).startswith("SKIPPED:") else f"SKIPPED: {e}", file=sys.stderr)
        return 77
    except Failed as e:
        failed.append("start")
        print(f"FAIL start: {e}", flush=True)
    finally:
        rc = front.stop()
        if front.proc is not None:
            if rc == 0 and "Traceback" in front.log():
                failed.append("clean stop")
                print(f"FAIL the front logged a traceback:\n{front.log()}", flush=True)
            elif rc == 0:
                passed.append("clean stop")
                print("ok   front stopped on SIGTERM with 0 and s3rver is gone", flush=True)
            else:
                failed.append("clean stop")
                print(f"FAIL clean stop: front exit {rc}\n--- front log ---\n{front.log()}", flush=True)
        if failed:
            print(f"--- front log (last 4000 chars) ---\n{front.log()[-4000:]}", flush=True)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"front smoke test took {time.monotonic() - t_start:.1f} s")
    print(f"{len(passed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
