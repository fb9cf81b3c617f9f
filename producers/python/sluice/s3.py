"""sluice.s3: a small client for S3-compatible object stores, in the
standard library only (http.client, hashlib, hmac): requests signed by AWS
Signature Version 4 here, retries with backoff. The Python side of
schemas/s3_location.h, s3_config.h, s3_url.h and s3_client.h, with the same
rules:

- Locations: "s3://bucket[/prefix]", the bucket by S3's naming rules (3-63
  of [a-z0-9.-], starting and ending with a letter or digit, no ".."), the
  prefix '/'-separated non-empty components, none "." or "..", no control
  bytes or backslashes, at most 512 bytes. A trailing '/' is dropped.
- Credentials and where the store is, from the variables the AWS tools use:
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (required), AWS_SESSION_TOKEN,
  AWS_REGION (else AWS_DEFAULT_REGION, else us-east-1), AWS_ENDPOINT_URL_S3
  (else AWS_ENDPOINT_URL): an S3-compatible store at http(s)://host[:port],
  addressed path-style. Without an endpoint: AWS S3, virtual-hosted
  (https://BUCKET.s3.REGION.amazonaws.com; path-style on
  s3.REGION.amazonaws.com when the bucket has a '.').
- Keys are encoded as SigV4 encodes them (A-Z a-z 0-9 - . _ ~ and '/' as
  they are, every other byte %XX), which is S3's canonical path; the query
  sorted, each parameter "name=value".
- Every payload is signed by its SHA-256 (x-amz-content-sha256), so the
  store checks the bytes it got.
- 5xx, 429, timeouts and dropped connections are retried (5 attempts,
  backoff from 200 ms doubling to 10 s, with jitter, or the store's
  Retry-After); 404 is S3Error kind "not_found"; any other 4xx is final.
- Every error names the method, s3://bucket/key, the HTTP status, the
  store's error code and message, the access key id and the endpoint;
  never the secret key or the session token.

One Client keeps one connection per thread.
"""

import datetime
import hashlib
import hmac
import html
import http.client
import os
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

SCHEME = "s3://"
MAX_PREFIX = 512
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_HEADERS = ("content-length",)
MAX_REPLY_BYTES = 8 << 20
MAX_QUOTED = 400
MIN_PART_SIZE = 5 << 20
MAX_PARTS = 10000
_CHUNK = 1 << 16
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class S3Error(Exception):
    """A request that failed. `kind`: "not_found" (404), "final" (any other
    4xx, a bad location or configuration: retrying meets the same answer),
    "unavailable" (5xx, 429, the network, still so after every attempt; or
    stopped): worth retrying later. `status` is the HTTP status (0 without
    one), `code` the store's error code ("" without one)."""

    def __init__(self, message, kind="final", status=0, code=""):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.code = code

    @property
    def retryable(self):
        return self.kind == "unavailable"


# ---- locations ---------------------------------------------------------------------


def is_s3_url(text):
    return isinstance(text, str) and text.startswith(SCHEME)


def is_valid_bucket_name(bucket):
    if not 3 <= len(bucket) <= 63 or ".." in bucket:
        return False
    lower_alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
    if bucket[0] not in lower_alnum or bucket[-1] not in lower_alnum:
        return False
    return all(c in lower_alnum or c in ".-" for c in bucket)


def _check_prefix(prefix):
    raw = prefix.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_PREFIX:
        return "the prefix is longer than 512 bytes"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the prefix is not valid UTF-8"
    for part in prefix.split("/"):
        if part == "":
            return "the prefix has an empty component ('//')"
        if part in (".", ".."):
            return "the prefix has a '.' or '..' component"
        if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in part):
            return "the prefix has a control byte or a backslash"
    return None


@dataclass(frozen=True)
class Location:
    bucket: str
    prefix: str = ""  # no leading or trailing '/'; may be empty

    def key(self, relative):
        """The object key of `relative` (a '/'-separated name) here."""
        return relative if not self.prefix else f"{self.prefix}/{relative}"

    def relative(self, key):
        """key()'s inverse; "" when `key` is not inside this location."""
        if not self.prefix:
            return key
        if len(key) <= len(self.prefix) + 1 or not key.startswith(self.prefix + "/"):
            return ""
        return key[len(self.prefix) + 1:]

    def list_prefix(self):
        return self.prefix + "/" if self.prefix else ""

    def __str__(self):
        return SCHEME + self.bucket + ("/" + self.prefix if self.prefix else "")


def parse_location(text):
    """Parses and validates "s3://bucket[/prefix]"; S3Error (final) says
    what is wrong."""
    shown = str(text)[:200]
    if not is_s3_url(text):
        raise S3Error(f"'{shown}' is not an s3://bucket/prefix location")
    rest = text[len(SCHEME):].rstrip("/")
    bucket, slash, prefix = rest.partition("/")
    if not is_valid_bucket_name(bucket):
        raise S3Error(f"'{shown}': '{bucket[:80]}' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')")
    if slash:
        problem = _check_prefix(prefix)
        if problem:
            raise S3Error(f"'{shown}': {problem}")
    return Location(bucket, prefix if slash else "")


# ---- configuration -----------------------------------------------------------------


@dataclass
class Config:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)
    region: str = "us-east-1"
    endpoint: str = ""  # "" = AWS S3; else scheme://host[:port], no trailing '/'
    max_attempts: int = 5
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    connect_timeout: float = 10.0
    # A socket read or write that waits this long is abandoned (and retried).
    io_timeout: float = 60.0
    # Bodies of at least this size go up as a multipart upload in parts of
    # part_size (S3: 5 MiB to 5 GiB a part, at most 10,000 parts; part_size
    # grows to fit), visible only once complete.
    multipart_threshold: int = 16 << 20
    part_size: int = 8 << 20

    @property
    def path_style(self):
        return bool(self.endpoint)

    def describe(self):
        """"access key AKID... at http://host:port (region us-east-1)": for
        errors and logs; never the secret."""
        return (f"access key {self.access_key_id or '(none)'} at {self.endpoint or 'AWS S3'} "
                f"(region {self.region})")

    @classmethod
    def from_env(cls, env=None):
        """The AWS_* variables of `env` (os.environ by default); S3Error
        (final) names the missing variable or the bad value."""
        env = os.environ if env is None else env
        ak = env.get("AWS_ACCESS_KEY_ID", "")
        sk = env.get("AWS_SECRET_ACCESS_KEY", "")
        token = env.get("AWS_SESSION_TOKEN", "")
        if not ak:
            raise S3Error("AWS_ACCESS_KEY_ID is not set: an s3:// location needs credentials")
        if not sk:
            raise S3Error(f"AWS_SECRET_ACCESS_KEY is not set (for access key {ak})")
        if any(ord(c) <= 0x20 or c in "/:" or ord(c) >= 0x7F for c in ak):
            raise S3Error("AWS_ACCESS_KEY_ID has a character an access key id cannot have")
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in token + sk):
            raise S3Error("AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN has a control character")
        region = env.get("AWS_REGION", "") or env.get("AWS_DEFAULT_REGION", "")
        if region and not re.fullmatch(r"[a-z0-9-]+", region):
            raise S3Error(f"AWS_REGION '{region[:64]}' is not a region name (a-z, 0-9, '-')")
        name, endpoint = "AWS_ENDPOINT_URL_S3", env.get("AWS_ENDPOINT_URL_S3", "")
        if not endpoint:
            name, endpoint = "AWS_ENDPOINT_URL", env.get("AWS_ENDPOINT_URL", "")
        if endpoint:
            endpoint = _check_endpoint(name, endpoint)
        return cls(ak, sk, token, region or "us-east-1", endpoint)


def _check_endpoint(name, url):
    url = url.rstrip("/")
    if url.startswith("http://"):
        rest = url[7:]
    elif url.startswith("https://"):
        rest = url[8:]
    else:
        raise S3Error(f"{name} must be an http:// or https:// URL, got '{url[:200]}'")
    if not rest:
        raise S3Error(f"{name} has no host: '{url[:200]}'")
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]_-]+", rest):
        raise S3Error(f"{name} must be scheme://host[:port] with no path, query or user, got '{url[:200]}'")
    return url


# ---- URLs and SigV4 ----------------------------------------------------------------


def uri_encode(text, keep_slash):
    """SigV4's URI encoding: A-Z a-z 0-9 - . _ ~ as they are (and '/' when
    `keep_slash`), every other byte of the UTF-8 %XX with upper-case hex."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    out = []
    for b in data:
        if b in _UNRESERVED or (keep_slash and b == 0x2F):
            out.append(chr(b))
        else:
            out.append(f"%{b:02X}")
    return "".join(out)


def canonical_query(params):
    """"a=1&b=&c=x%2Fy": sorted by encoded name, then value; "" when empty."""
    pairs = sorted((uri_encode(k, False), uri_encode(v, False)) for k, v in params)
    return "&".join(f"{k}={v}" for k, v in pairs)


def object_target(config, bucket, key):
    """(scheme, host[:port], canonical path) of `key` in `bucket`."""
    encoded = uri_encode(key, True)
    if config.path_style or "." in bucket:
        if config.path_style:
            parts = urllib.parse.urlsplit(config.endpoint)
            scheme, host = parts.scheme, parts.netloc
        else:
            scheme, host = "https", f"s3.{config.region}.amazonaws.com"
        path = f"/{bucket}" + (f"/{encoded}" if key else "")
    else:
        scheme, host = "https", f"{bucket}.s3.{config.region}.amazonaws.com"
        path = "/" + encoded
    return scheme, host, path


def object_url(config, bucket, key, query=""):
    scheme, host, path = object_target(config, bucket, key)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service="s3"):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def sign_headers(config, method, path, query, headers, payload_sha256, now=None):
    """Adds x-amz-date, x-amz-content-sha256, x-amz-security-token (with a
    session token) and Authorization to `headers` (a dict of lower-case
    names; host included) for a request to `path` (already encoded) with
    `query` (already canonical). Returns `headers`."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    headers["x-amz-date"] = amz_date
    headers["x-amz-content-sha256"] = payload_sha256
    if config.session_token:
        headers["x-amz-security-token"] = config.session_token
    signed = sorted(h for h in headers if h not in UNSIGNED_HEADERS and h != "authorization")
    canonical_headers = "".join(f"{h}:{' '.join(str(headers[h]).split())}\n" for h in signed)
    signed_list = ";".join(signed)
    canonical = "\n".join([method, path, query, canonical_headers, signed_list, payload_sha256])
    scope = f"{date}/{config.region}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    signature = hmac.new(signing_key(config.secret_access_key, date, config.region),
                         to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={config.access_key_id}/{scope}, "
                                f"SignedHeaders={signed_list}, Signature={signature}")
    return headers


# ---- the client --------------------------------------------------------------------


@dataclass
class ObjectInfo:
    key: str
    size: int = 0
    etag: str = ""  # without its quotes
    last_modified: str = ""


class _Reply:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body


def _xml_text(body, tag):
    m = re.search(rb"<" + tag.encode() + rb">([^<]*)</" + tag.encode() + rb">", body or b"")
    return html.unescape(m.group(1).decode("utf-8", "replace")) if m else ""


def _sha256_of_file(f):
    sha = hashlib.sha256()
    f.seek(0)
    while True:
        b = f.read(_CHUNK)
        if not b:
            break
        sha.update(b)
    return sha.hexdigest()


class Client:
    """Requests to one store. Thread-safe: one connection per thread."""

    def __init__(self, config):
        self.config = config
        self._local = threading.local()
        self._rng = random.Random()

    # -- connections ------------------------------------------------------------------

    def _connection(self, scheme, host):
        conns = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        c = conns.get((scheme, host))
        if c is None:
            if scheme == "https":
                c = http.client.HTTPSConnection(host, timeout=self.config.connect_timeout,
                                                context=ssl.create_default_context())
            else:
                c = http.client.HTTPConnection(host, timeout=self.config.connect_timeout)
            conns[(scheme, host)] = c
        return c

    def _drop(self, scheme, host):
        conns = getattr(self._local, "conns", None) or {}
        c = conns.pop((scheme, host), None)
        if c is not None:
            c.close()

    def close(self):
        for c in (getattr(self._local, "conns", None) or {}).values():
            c.close()
        self._local.conns = {}

    # -- messages ---------------------------------------------------------------------

    def _where(self, method, bucket, key):
        return f"{method} s3://{bucket}" + (f"/{key}" if key else "")

    def _scrub(self, text):
        if len(text) > MAX_QUOTED:
            text = text[:MAX_QUOTED] + "..."
        for secret in (self.config.secret_access_key, self.config.session_token):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "(redacted)")
        return "".join(" " if ord(c) < 0x20 else c for c in text)

    def _error(self, method, bucket, key, reply):
        code = _xml_text(reply.body, "Code")
        message = _xml_text(reply.body, "Message")
        text = f"s3 {self._where(method, bucket, key)}: HTTP {reply.status}"
        if code:
            text += " " + self._scrub(code)
        if message:
            text += ": " + self._scrub(message)
        text += f" ({self.config.describe()})"
        if reply.status == 404:
            kind = "not_found"
        elif reply.status == 429 or reply.status >= 500:
            kind = "unavailable"
        else:
            kind = "final"
        return S3Error(text, kind, reply.status, code)

    # -- one request, with retries ----------------------------------------------------

    def _attempt(self, method, bucket, key, query, headers, body, payload_sha256, sink, stop=None):
        scheme, host, path = object_target(self.config, bucket, key)
        hdrs = {"host": host}
        for k, v in headers.items():
            hdrs[k.lower()] = v
        if body is not None:
            body.seek(0, os.SEEK_END)
            length = body.tell()
            body.seek(0)
            hdrs["content-length"] = str(length)
        elif method in ("PUT", "POST"):
            hdrs["content-length"] = "0"
        sign_headers(self.config, method, path, query, hdrs, payload_sha256)
        conn = self._connection(scheme, host)
        target = path + (f"?{query}" if query else "")
        reused = conn.sock is not None
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.settimeout(self.config.io_timeout)
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                conn.endheaders()
                if body is not None:
                    sent = False
                    try:
                        while True:
                            b = body.read(_CHUNK)
                            if not b:
                                break
                            if stop is not None and stop():
                                raise _Stopped()
                            conn.send(b)
                            sent = True
                    except OSError:
                        # The store may have answered (a refusal, a 412)
                        # and closed before taking the whole body: read it.
                        if not sent:
                            raise
                        try:
                            r = conn.getresponse()
                        except (OSError, http.client.HTTPException):
                            r = None
                        if r is None:
                            raise
                        return self._finish(r, method, sink, scheme, host)
                r = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as e:
                # A kept-alive connection the store had closed meanwhile:
                # nothing of this request was taken. Again at once, on a
                # new connection.
                if reused:
                    raise _Stale(str(e)) from None
                raise
            return self._finish(r, method, sink, scheme, host)
        except BaseException:
            self._drop(scheme, host)
            raise

    def _finish(self, r, method, sink, scheme, host):
        """Reads the reply `r` (its body to `sink` for a 2xx with one)."""
        if method == "HEAD":
            data = b""
            r.read()
        elif sink is not None and 200 <= r.status < 300:
            took = False
            try:
                while True:
                    b = r.read(_CHUNK)
                    if not b:
                        break
                    took = True
                    sink(b)
            except (OSError, http.client.HTTPException) as e:
                if took:
                    raise _BrokeOff(str(e)) from None
                raise
            data = b""
        else:
            data = r.read(MAX_REPLY_BYTES)
            while not r.isclosed() and r.read(_CHUNK):
                pass
        reply = _Reply(r.status, r.headers, data)
        if r.will_close:
            self._drop(scheme, host)
        return reply

    def _send(self, method, bucket, key, *, query="", headers=None, body=None, payload_sha256=EMPTY_SHA256,
              sink=None, stop=None, attempts=None):
        """The reply of the last attempt when the store answered (a status
        that is not retried, or a retried one on the last attempt); S3Error
        when it never answered or `stop()` said so."""
        attempts = max(1, attempts or self.config.max_attempts)
        where = self._where(method, bucket, key)
        last = ""
        for attempt in range(1, attempts + 1):
            if stop is not None and stop():
                raise S3Error(f"s3 {where}: stopped", "unavailable")
            retry_after = 0.0
            try:
                try:
                    reply = self._attempt(method, bucket, key, query, headers or {}, body, payload_sha256, sink,
                                          stop)
                except _Stale:
                    reply = self._attempt(method, bucket, key, query, headers or {}, body, payload_sha256, sink,
                                          stop)
            except _Stopped:
                raise S3Error(f"s3 {where}: stopped", "unavailable") from None
            except _BrokeOff as e:
                raise S3Error(f"s3 {where}: the download broke off after it began: {e} "
                              f"({self.config.describe()})", "unavailable") from None
            except (OSError, http.client.HTTPException) as e:
                if isinstance(e, ssl.SSLCertVerificationError):
                    raise S3Error(f"s3 {where}: {e} ({self.config.describe()})") from None
                if isinstance(e, socket.gaierror) and e.errno in (socket.EAI_NONAME,):
                    last = f"cannot resolve the host: {e}"
                else:
                    last = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
            else:
                if reply.status != 429 and reply.status < 500:
                    return reply
                if attempt >= attempts:
                    return reply
                last = f"HTTP {reply.status}"
                ra = reply.headers.get("Retry-After", "")
                if ra.strip().isdigit():
                    retry_after = min(60.0, float(ra.strip()))
            if attempt >= attempts:
                break
            base = min(self.config.backoff_max, self.config.backoff_initial * (1 << min(attempt - 1, 20)))
            wait = max(self._rng.uniform(base / 2, base), retry_after)
            until = time.monotonic() + wait
            while time.monotonic() < until:
                if stop is not None and stop():
                    raise S3Error(f"s3 {where}: stopped", "unavailable")
                time.sleep(min(0.05, max(0.0, until - time.monotonic())))
        raise S3Error(f"s3 {where}: {self._scrub(last)}, {attempts} attempts ({self.config.describe()})",
                      "unavailable")

    # -- operations -------------------------------------------------------------------

    def head(self, bucket, key, stop=None):
        """ObjectInfo of `key`; S3Error kind "not_found" when there is none."""
        r = self._send("HEAD", bucket, key, stop=stop)
        if 400 <= r.status < 500 and r.status != 404:
            # A HEAD reply has no body, so no error code: ask the same with
            # a GET of one byte, whose refusal says why.
            try:
                why = self._send("GET", bucket, key, headers={"range": "bytes=0-0"}, stop=stop)
            except S3Error:
                why = None
            if why is not None and why.status == r.status and why.body:
                raise self._error("HEAD", bucket, key, why)
        if not 200 <= r.status < 300:
            raise self._error("HEAD", bucket, key, r)
        etag = r.headers.get("ETag", "")
        if len(etag) >= 2 and etag[0] == etag[-1] == '"':
            etag = etag[1:-1]
        try:
            size = int(r.headers.get("Content-Length", "0"))
        except ValueError:
            size = 0
        return ObjectInfo(key, size, etag, r.headers.get("Last-Modified", ""))

    def exists(self, bucket, key, stop=None):
        try:
            self.head(bucket, key, stop=stop)
            return True
        except S3Error as e:
            if e.kind == "not_found":
                return False
            raise

    def put_file(self, bucket, key, f, *, payload_sha256=None, if_absent=False,
                 content_type="application/octet-stream", stop=None):
        """Uploads the whole of the seekable binary file `f`: one PUT below
        Config.multipart_threshold, else a multipart upload (which becomes
        visible only when complete, and is aborted on a failure). Returns
        True when the object now holds the bytes, False when `if_absent`
        and the store said the key exists (412): nothing written. A store
        that ignores If-None-Match replaces the object."""
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(0)
        if size >= self.config.multipart_threshold:
            return self._put_multipart(bucket, key, f, size, if_absent, content_type, stop)
        sha = payload_sha256 or _sha256_of_file(f)
        headers = {"content-type": content_type}
        if if_absent:
            headers["if-none-match"] = "*"
        r = self._send("PUT", bucket, key, headers=headers, body=f, payload_sha256=sha, stop=stop)
        if if_absent and r.status == 412:
            return False
        if not 200 <= r.status < 300:
            raise self._error("PUT", bucket, key, r)
        return True

    def _put_multipart(self, bucket, key, f, size, if_absent, content_type, stop):
        part_size = max(MIN_PART_SIZE, self.config.part_size, -(-size // MAX_PARTS))
        r = self._send("POST", bucket, key, query=canonical_query([("uploads", "")]),
                       headers={"content-type": content_type}, stop=stop)
        if not 200 <= r.status < 300:
            raise self._error("POST", bucket, key, r)
        upload_id = _xml_text(r.body, "UploadId")
        if not upload_id:
            raise S3Error(f"s3 POST s3://{bucket}/{key}: the store's reply has no UploadId "
                          f"({self.config.describe()})", "unavailable")
        created = False
        try:
            created = self._upload_parts(bucket, key, f, size, part_size, upload_id, if_absent, stop)
            return created
        finally:
            if not created:
                # Best effort, even when stopping: an unaborted upload stays
                # invisible (and is dropped by the bucket's lifecycle rule).
                try:
                    self._send("DELETE", bucket, key, query=canonical_query([("uploadId", upload_id)]),
                               attempts=min(2, self.config.max_attempts))
                except S3Error:
                    pass

    def _upload_parts(self, bucket, key, f, size, part_size, upload_id, if_absent, stop):
        parts = []
        offset, number = 0, 1
        while offset < size:
            region = _Region(f, offset, min(part_size, size - offset))
            query = canonical_query([("partNumber", str(number)), ("uploadId", upload_id)])
            r = self._send("PUT", bucket, key, query=query, body=region, payload_sha256=_sha256_of_file(region),
                           stop=stop)
            if not 200 <= r.status < 300:
                raise self._error("PUT", bucket, key, r)
            etag = r.headers.get("ETag", "")
            if not etag:
                raise S3Error(f"s3 PUT s3://{bucket}/{key}: part {number} was answered without an ETag "
                              f"({self.config.describe()})", "unavailable")
            if not etag.startswith('"'):
                etag = f'"{etag}"'
            parts.append(f"<Part><PartNumber>{number}</PartNumber><ETag>{html.escape(etag, quote=False)}"
                         "</ETag></Part>")
            offset += region.length
            number += 1
        doc = ("<CompleteMultipartUpload>" + "".join(parts) + "</CompleteMultipartUpload>").encode()
        headers = {"content-type": "application/xml"}
        if if_absent:
            headers["if-none-match"] = "*"
        import io
        r = self._send("POST", bucket, key, query=canonical_query([("uploadId", upload_id)]), headers=headers,
                       body=io.BytesIO(doc), payload_sha256=hashlib.sha256(doc).hexdigest(), stop=stop)
        if if_absent and r.status == 412:
            return False
        if not 200 <= r.status < 300:
            raise self._error("POST", bucket, key, r)
        # S3 may answer 200 and still fail the completion, in the body.
        if _xml_text(r.body, "Code") and not _xml_text(r.body, "ETag"):
            raise self._error("POST", bucket, key, _Reply(500, r.headers, r.body))
        return True

    def put_bytes(self, bucket, key, data, **kw):
        import io
        return self.put_file(bucket, key, io.BytesIO(bytes(data)),
                             payload_sha256=hashlib.sha256(data).hexdigest(), **kw)

    def get(self, bucket, key, sink, stop=None):
        """Streams the object to `sink(chunk)`. A failure after the first
        byte reached the sink is not retried (the sink would see bytes
        twice)."""
        r = self._send("GET", bucket, key, sink=sink, stop=stop)
        if not 200 <= r.status < 300:
            raise self._error("GET", bucket, key, r)

    def get_bytes(self, bucket, key, stop=None):
        parts = []
        self.get(bucket, key, parts.append, stop=stop)
        return b"".join(parts)

    def list(self, bucket, prefix="", max_objects=100000, stop=None):
        """Every object under `prefix` (ListObjectsV2), in key order."""
        out, token = [], ""
        while True:
            params = [("list-type", "2"), ("max-keys", "1000")]
            if prefix:
                params.append(("prefix", prefix))
            if token:
                params.append(("continuation-token", token))
            r = self._send("GET", bucket, "", query=canonical_query(params), stop=stop)
            if not 200 <= r.status < 300:
                raise self._error("GET", bucket, "", r)
            for entry in re.findall(rb"<Contents>(.*?)</Contents>", r.body, re.S):
                k = _xml_text(entry, "Key")
                if k:
                    etag = _xml_text(entry, "ETag").strip('"')
                    out.append(ObjectInfo(k, int(_xml_text(entry, "Size") or 0), etag,
                                          _xml_text(entry, "LastModified")))
            if len(out) > max_objects:
                raise S3Error(f"s3 listing of s3://{bucket}/{prefix}: more than {max_objects} objects")
            if _xml_text(r.body, "IsTruncated") != "true":
                return out
            token = _xml_text(r.body, "NextContinuationToken")
            if not token:
                raise S3Error(f"s3 GET s3://{bucket}: a truncated listing without a NextContinuationToken "
                              f"({self.config.describe()})", "unavailable")


class _Region:
    """`length` bytes of the file `f` from `offset`, as a file object."""

    def __init__(self, f, offset, length):
        self.f, self.offset, self.length, self.pos = f, offset, length, 0

    def seek(self, pos, whence=os.SEEK_SET):
        self.pos = self.length + pos if whence == os.SEEK_END else pos
        return self.pos

    def tell(self):
        return self.pos

    def read(self, n=-1):
        left = self.length - self.pos
        n = left if n is None or n < 0 else min(n, left)
        if n <= 0:
            return b""
        self.f.seek(self.offset + self.pos)
        b = self.f.read(n)
        if len(b) < n:
            raise OSError("the file to upload is shorter than its size")
        self.pos += len(b)
        return b


class _BrokeOff(Exception):
    pass


class _Stale(Exception):
    pass


class _Stopped(Exception):
    pass
