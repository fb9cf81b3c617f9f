#!/usr/bin/python3
"""s3_front.py: a verifying S3 front for the integration tests.

s3rver (npm, pinned in tests/s3/package.json, in tests/s3/node_modules) alone
accepts wrong signatures and anonymous writes and ignores If-None-Match on
PUT. This front starts s3rver as a child on 127.0.0.1 and, before it, checks
every request's AWS SigV4 (header or presigned query, path-style addressing
only: /bucket/key) with botocore's signer, enforces `If-None-Match: *` on
PutObject/CompleteMultipartUpload, and can inject faults and delays. It also
does what s3rver 3.7.1 skips: Content-MD5 (400 BadDigest), unknown upload ids
(404 NoSuchUpload), AbortMultipartUpload (answered here: s3rver says 405),
and CompleteMultipartUpload's part list (InvalidPart, InvalidPartOrder,
EntityTooSmall below --min-part-size but for the last part).

Run (Debian's python3 with python3-botocore, nothing from pip):
    /usr/bin/python3 tests/s3/s3_front.py --data DIR --port-file FILE \\
        [--port 0] [--bucket NAME]... [--access-key AKIDSLUICETEST] \\
        [--secret-key sluice-test-secret] [--session-token TOKEN] \\
        [--region us-east-1] [--if-none-match enforce|ignore] \\
        [--min-part-size 5242880] [--node /usr/bin/node] [--verbose]
Needs `npm ci --prefix tests/s3` first. Exits 77 with `SKIPPED: reason` on
stderr when node, botocore or s3rver is missing. The front's port is written
(decimal + newline, atomically) to FILE once both servers answer. SIGTERM or
SIGINT stops s3rver and exits 0; s3rver also dies with the front
(PR_SET_PDEATHSIG).

Control endpoints (no auth; /_front/ is not a valid bucket name):
  POST /_front/fail?status=503&count=1[&code=SlowDown][&method=PUT]
                    [&path_contains=S][&query_contains=S]
       the next COUNT matching S3 requests (after their signature and body
       hash are verified) get STATUS with an S3 XML error CODE (defaulted
       from STATUS); status=0 closes the connection without an answer;
       count=-1 means every matching request until /_front/reset.
  POST /_front/delay?ms=M&count=1[&method=..][&path_contains=S][&query_contains=S]
       hold the next COUNT matching requests M ms after their headers are
       verified and before their body is read (before `100 Continue`), so a
       client can be killed mid-upload.
  POST /_front/reset                 drop all pending fail/delay rules
  POST /_front/if-none-match?mode=enforce|ignore
  GET  /_front/log                   JSON array of the S3 requests seen:
       {"method","path","query","status","code","headers":{lower-case: value}}
       (authorization cut after "Signature=", x-amz-security-token redacted)
  POST /_front/log/clear
  GET  /_front/health                200 "ok"
path_contains matches the raw (percent-encoded) or the decoded path;
query_contains the raw query string; method is case-insensitive.
"""

import argparse
import base64
import binascii
import ctypes
import datetime
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import parse_qs, quote, unquote_to_bytes
from xml.etree import ElementTree
from xml.sax.saxutils import escape as xml_escape

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
HEX64 = re.compile(r"^[0-9a-f]{64}$")
AUTH_HEADERS = ("authorization", "x-amz-security-token", "x-amz-date",
                "x-amz-content-sha256")
PRESIGN_PARAMS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date",
                  "x-amz-expires", "x-amz-signedheaders", "x-amz-signature",
                  "x-amz-security-token")
HOP_BY_HOP = ("connection", "keep-alive", "proxy-authenticate",
              "proxy-authorization", "proxy-connection", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "expect")
MAX_SKEW = 15 * 60
SPOOL_IN_MEMORY = 8 << 20
COPY_CHUNK = 256 << 10
DEFAULT_CODES = {
    400: ("BadRequest", "An error occurred when parsing the HTTP request."),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    409: ("OperationAborted", "A conflicting conditional operation is in progress."),
    412: ("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
    429: ("TooManyRequests", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    501: ("NotImplemented", "A header you provided implies functionality that is not implemented"),
    502: ("BadGateway", "Bad gateway."),
    503: ("SlowDown", "Please reduce your request rate."),
    504: ("GatewayTimeout", "Gateway timeout."),
}


def skip(reason):
    print(f"SKIPPED: {reason}", file=sys.stderr)
    sys.exit(SKIP)


def log(msg):
    print(f"s3_front: {msg}", file=sys.stderr, flush=True)


class S3Error(Exception):
    def __init__(self, status, code, message, extra=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.extra = extra or {}


class DropConnection(Exception):
    """Close the client's connection without an answer (injected fault)."""


# ---------------------------------------------------------------------------
# SigV4 verification with botocore's signer


def wire_bytes(s):
    """http.server decodes the request line as latin-1: back to its bytes."""
    return s.encode("latin-1", "replace")


def unquote_wire(s):
    return unquote_to_bytes(wire_bytes(s))


def s3_canonical_path(raw_path):
    """What S3 signs as the CanonicalURI: the path decoded, then every byte
    but unreserved ones and '/' percent-encoded (as botocore's serializer
    sends keys). The client must have signed this, whatever it sent."""
    return quote(unquote_wire(raw_path), safe=b"/~")


def split_query(raw_query):
    """[(raw_key, raw_value, had_equals)] in the order sent."""
    out = []
    if raw_query:
        for pair in raw_query.split("&"):
            if pair == "":
                continue
            k, eq, v = pair.partition("=")
            out.append((k, v, bool(eq)))
    return out


def decode_component(s):
    # '+' is not a space in SigV4 (clients must send %20); keep it a '+'.
    return unquote_wire(s).decode("utf-8", "replace")


def same(a, b):
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


def header_text(value):
    """http.server decodes header bytes as latin-1; signers sign UTF-8."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


class Verifier:
    def __init__(self, access_key, secret_key, token, region):
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.compat import HTTPHeaders
        from botocore.credentials import Credentials

        self.access_key, self.token, self.region = access_key, token, region
        self._AWSRequest, self._HTTPHeaders = AWSRequest, HTTPHeaders

        class ExactHeadersSigner(S3SigV4Auth):
            # botocore's headers_to_sign() drops expect/user-agent/
            # x-amzn-trace-id and adds host when missing: right for a
            # client, wrong for a server, which must use exactly the list
            # the client declared in SignedHeaders.
            def headers_to_sign(self, request):
                return request.context["signed_headers_map"]

        self.signer = ExactHeadersSigner(
            Credentials(access_key, secret_key, token), "s3", region)

    # -- parsing --------------------------------------------------------------

    def parse_auth(self, handler, params):
        """Returns a dict describing the signature, or raises S3Error."""
        authz = handler.headers.get("Authorization")
        lower = {k.lower(): (k, v) for k, v, _ in params}
        if authz is not None and "x-amz-algorithm" in lower:
            raise S3Error(400, "InvalidArgument",
                          "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                          "query parameter or the Authorization header should be specified")
        if authz is not None:
            return self._parse_header(authz.strip(), handler)
        if "x-amz-algorithm" in lower:
            return self._parse_presigned(params)
        if "signature" in lower and "awsaccesskeyid" in lower:
            raise S3Error(400, "InvalidRequest",
                          "Query-string authentication version 2 (AWSAccessKeyId/Signature) is not "
                          "supported by the test front; please use AWS4-HMAC-SHA256 "
                          "(botocore: Config(signature_version='s3v4')).")
        raise S3Error(403, "AccessDenied",
                      "Access Denied (anonymous requests are refused by the test front)")

    def _parse_header(self, authz, handler):
        if not authz.startswith("AWS4-HMAC-SHA256 "):
            if authz.startswith("AWS "):
                raise S3Error(400, "InvalidRequest",
                              "The authorization mechanism you have provided is not "
                              "supported. Please use AWS4-HMAC-SHA256.")
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; unknown algorithm in '{authz[:40]}'")
        fields = {}
        for part in authz[len("AWS4-HMAC-SHA256 "):].split(","):
            name, eq, value = part.strip().partition("=")
            if eq:
                fields[name.strip()] = value.strip()
        for need in ("Credential", "SignedHeaders", "Signature"):
            if need not in fields:
                raise S3Error(400, "AuthorizationHeaderMalformed",
                              f"The authorization header is malformed; missing {need}")
        amz_date = handler.headers.get("X-Amz-Date")
        if amz_date is None and handler.headers.get("Date"):
            try:
                from email.utils import parsedate_to_datetime
                d = parsedate_to_datetime(handler.headers["Date"])
                amz_date = d.astimezone(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            except (TypeError, ValueError):
                amz_date = None
        return {
            "kind": "header",
            "credential": fields["Credential"],
            "signed_headers": fields["SignedHeaders"],
            "signature": fields["Signature"],
            "amz_date": amz_date,
            "token": handler.headers.get("X-Amz-Security-Token"),
            "payload": handler.headers.get("X-Amz-Content-SHA256"),
            "expires": None,
        }

    def _parse_presigned(self, params):
        q = {}
        for k, v, _ in params:
            q.setdefault(decode_component(k).lower(), decode_component(v))
        if q.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            raise S3Error(400, "AuthorizationQueryParametersError",
                          "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"")
        for need in ("x-amz-credential", "x-amz-signedheaders", "x-amz-signature",
                     "x-amz-date", "x-amz-expires"):
            if need not in q:
                raise S3Error(400, "AuthorizationQueryParametersError",
                              f"Query-string authentication requires {need}")
        try:
            expires = int(q["x-amz-expires"])
        except ValueError:
            raise S3Error(400, "AuthorizationQueryParametersError",
                          "X-Amz-Expires should be a number")
        return {
            "kind": "query",
            "credential": q["x-amz-credential"],
            "signed_headers": q["x-amz-signedheaders"],
            "signature": q["x-amz-signature"],
            "amz_date": q["x-amz-date"],
            "token": q.get("x-amz-security-token"),
            "payload": "UNSIGNED-PAYLOAD",
            "expires": expires,
        }

    # -- checks before the signature ------------------------------------------

    def check(self, handler, method, raw_path, raw_query):
        """Verifies everything but the body hash. Returns the payload hash
        the client declared (hex digest or UNSIGNED-PAYLOAD)."""
        params = split_query(raw_query)
        a = self.parse_auth(handler, params)

        cred = a["credential"].split("/")
        if len(cred) != 5:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; the Credential is mal-formed; "
                          f"expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\". ({a['credential']})")
        akid, scope_date, scope_region, scope_service, terminal = cred
        if akid != self.access_key:
            raise S3Error(403, "InvalidAccessKeyId",
                          "The AWS Access Key Id you provided does not exist in our records.",
                          {"AWSAccessKeyId": akid})
        if scope_region != self.region:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; the region '{scope_region}' "
                          f"is wrong; expecting '{self.region}'", {"Region": self.region})
        if scope_service != "s3" or terminal != "aws4_request":
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; incorrect service '{scope_service}' "
                          f"or terminal '{terminal}'; expecting 's3' and 'aws4_request'")

        amz_date = a["amz_date"]
        try:
            when = datetime.datetime.strptime(amz_date or "", "%Y%m%dT%H%M%SZ").replace(
                tzinfo=datetime.timezone.utc)
        except ValueError:
            raise S3Error(403, "AccessDenied",
                          "AWS authentication requires a valid Date or x-amz-date header")
        if scope_date != amz_date[:8]:
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; Invalid credential date "
                          f"'{scope_date}'. Date is not the same as X-Amz-Date: '{amz_date[:8]}'.")
        now = datetime.datetime.now(datetime.timezone.utc)
        if a["kind"] == "header":
            if abs((now - when).total_seconds()) > MAX_SKEW:
                raise S3Error(403, "RequestTimeTooSkewed",
                              "The difference between the request time and the current time is too large.",
                              {"RequestTime": amz_date, "ServerTime": now.strftime("%Y%m%dT%H%M%SZ"),
                               "MaxAllowedSkewMilliseconds": str(MAX_SKEW * 1000)})
        else:
            if (when - now).total_seconds() > MAX_SKEW:
                raise S3Error(403, "AccessDenied", "Request is not valid yet")
            if not 1 <= a["expires"] <= 604800:
                raise S3Error(400, "AuthorizationQueryParametersError",
                              "X-Amz-Expires must be between 1 and 604800 seconds")
            if (now - when).total_seconds() > a["expires"]:
                raise S3Error(403, "AccessDenied", "Request has expired",
                              {"X-Amz-Expires": str(a["expires"]), "Expires": amz_date})

        payload = a["payload"]
        if payload is None:
            raise S3Error(400, "InvalidRequest",
                          "Missing required header for this request: x-amz-content-sha256")
        if payload.startswith("STREAMING-"):
            raise S3Error(501, "NotImplemented",
                          f"x-amz-content-sha256 '{payload}' (aws-chunked) is not supported by the test front")
        if payload != "UNSIGNED-PAYLOAD" and not HEX64.match(payload):
            raise S3Error(400, "InvalidArgument",
                          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a "
                          "valid sha256 value (64 lower-case hex digits).",
                          {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": payload})

        signed = [h for h in a["signed_headers"].split(";")]
        if any(h != h.strip().lower() or not h for h in signed):
            raise S3Error(400, "AuthorizationHeaderMalformed",
                          f"The authorization header is malformed; SignedHeaders must be "
                          f"lower-case and ';'-separated: '{a['signed_headers']}'")
        if "host" not in signed:
            raise S3Error(403, "AccessDenied",
                          "The host header must be signed (it is not in SignedHeaders)")
        present = {k.lower() for k in handler.headers.keys()}
        unsigned_amz = sorted(h for h in present
                              if h.startswith("x-amz-") and h not in signed)
        if unsigned_amz:
            raise S3Error(403, "AccessDenied",
                          "There were headers present in the request which were not signed",
                          {"HeadersNotSigned": ", ".join(unsigned_amz)})
        missing = [h for h in signed if h not in present]
        if missing:
            raise S3Error(403, "AccessDenied",
                          "Headers in SignedHeaders are missing from the request: " + ", ".join(missing))

        if self.token is not None:
            if a["token"] is None:
                raise S3Error(403, "InvalidToken",
                              "The provided token is malformed or otherwise invalid (no x-amz-security-token)")
            if a["kind"] == "header" and "x-amz-security-token" not in signed:
                raise S3Error(403, "InvalidToken",
                              "x-amz-security-token is not in SignedHeaders")
            if not hmac.compare_digest(a["token"].encode(), self.token.encode()):
                raise S3Error(403, "InvalidToken",
                              "The provided token is malformed or otherwise invalid.")
        elif a["token"] is not None:
            raise S3Error(403, "InvalidToken",
                          "The provided token is malformed or otherwise invalid "
                          "(this front expects no session token).")

        # -- the signature itself, by botocore's S3SigV4Auth --
        headers_map = self._HTTPHeaders()
        for h in sorted(signed):
            for v in handler.headers.get_all(h) or []:
                headers_map[h] = header_text(v)
        if a["kind"] == "query":
            qparams = [(k, v, e) for k, v, e in params
                       if decode_component(k) != "X-Amz-Signature"]
        else:
            qparams = params
        canonical = self.canonical_request(method, raw_path, qparams, headers_map,
                                           payload, amz_date)
        sig = self.sign(canonical, amz_date)
        if not same(sig, a["signature"]):
            hint = self.diagnose(method, raw_path, qparams, headers_map, payload,
                                 amz_date, a["signature"], canonical)
            sts = self.string_to_sign(canonical, amz_date)
            raise S3Error(
                403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you "
                "provided. Check your key and signing method." + hint +
                " The canonical request the front computed was:\n" + canonical + "\n",
                {"AWSAccessKeyId": akid, "StringToSign": sts,
                 "SignatureProvided": a["signature"], "CanonicalRequest": canonical})
        return payload

    def _request(self, method, path, params, headers_map, payload, amz_date):
        r = self._AWSRequest(method=method, url="http://front" + path,
                             params=[(decode_component(k), decode_component(v)) for k, v, _ in params])
        r.headers["X-Amz-Content-SHA256"] = payload
        r.context["timestamp"] = amz_date
        r.context["signed_headers_map"] = headers_map
        return r

    def canonical_request(self, method, raw_path, params, headers_map, payload, amz_date):
        r = self._request(method, s3_canonical_path(raw_path), params,
                          headers_map, payload, amz_date)
        return self.signer.canonical_request(r)

    def string_to_sign(self, canonical, amz_date):
        r = self._AWSRequest(method="GET", url="http://front/")
        r.context["timestamp"] = amz_date
        return self.signer.string_to_sign(r, canonical)

    def sign(self, canonical, amz_date):
        r = self._AWSRequest(method="GET", url="http://front/")
        r.context["timestamp"] = amz_date
        return self.signer.signature(self.string_to_sign(canonical, amz_date), r)

    def diagnose(self, method, raw_path, params, headers_map, payload, amz_date,
                 provided, canonical):
        """On a mismatch, try the canonicalisations buggy signers use, to say
        which one the client did."""
        lines = canonical.split("\n")

        def with_(path=None, query=None):
            ls = list(lines)
            if path is not None:
                ls[1] = path
            if query is not None:
                ls[2] = query
            return "\n".join(ls)

        # Query: sorted or as sent, '=' always or only where sent, values
        # re-encoded (S3) or as sent; path: re-encoded (S3), as sent, decoded.
        pairs = [(k, v, e) for k, v, e in params]
        reenc = [(quote(decode_component(k), safe="-_.~"), quote(decode_component(v), safe="-_.~"), e)
                 for k, v, e in pairs]

        def q(ps, sort, add_eq):
            items = [(k, v, e or add_eq) for k, v, e in ps]
            if sort == "pairs":  # S3/botocore: by key, then value
                items.sort(key=lambda i: (i[0], i[1]))
            strs = [f"{k}={v}" if e else k for k, v, e in items]
            if sort == "strings":
                strs.sort()
            return "&".join(strs)

        decoded_path = unquote_wire(raw_path).decode("utf-8", "replace")
        path_forms = [(None, ""), (raw_path, "the path exactly as sent (S3 re-encodes it: "
                                   "every byte but A-Za-z0-9-_.~/ as %XX)"),
                      (decoded_path, "the decoded path")]
        tried = {canonical}
        for path, path_what in path_forms:
            for ps, enc_what in ((reenc, ""), (pairs, "query keys/values not re-encoded")):
                for sort in ("pairs", "none", "strings"):
                    for add_eq in (True, False):
                        query = q(ps, sort, add_eq)
                        cr = with_(path=path, query=query)
                        if cr in tried:
                            continue
                        tried.add(cr)
                        if not same(self.sign(cr, amz_date), provided):
                            continue
                        what = []
                        if path is not None and path != lines[1]:
                            what.append(path_what)
                        if query != lines[2]:
                            if enc_what and q(reenc, sort, add_eq) != query:
                                what.append(enc_what)
                            if sort == "none" and q(ps, "pairs", add_eq) != query:
                                what.append("the query parameters unsorted")
                            if sort == "strings" and q(ps, "pairs", add_eq) != query:
                                what.append("the query sorted as whole 'key=value' strings "
                                            "(S3 sorts by key, then value)")
                            if not add_eq and q(ps, sort, True) != query:
                                what.append("no '=' after value-less query parameters (S3 signs 'uploads=')")
                        return (" Hint: your signature matches a canonical request with "
                                + (" and ".join(what) or "another canonicalisation") + ".")
        if payload != "UNSIGNED-PAYLOAD":
            cr = "\n".join(lines[:-1] + ["UNSIGNED-PAYLOAD"])
            if same(self.sign(cr, amz_date), provided):
                return " Hint: your signature matches UNSIGNED-PAYLOAD as the payload hash."
        return ""


# ---------------------------------------------------------------------------
# Front state


class Rules:
    def __init__(self):
        self.lock = threading.Lock()
        self.fail = []
        self.delay = []

    @staticmethod
    def _matches(rule, method, raw_path, raw_query):
        if rule["method"] and rule["method"] != method:
            return False
        pc = rule["path_contains"]
        if pc and pc not in raw_path and pc not in unquote_wire(raw_path).decode("utf-8", "replace"):
            return False
        qc = rule["query_contains"]
        if qc and qc not in raw_query:
            return False
        return True

    def take(self, kind, method, raw_path, raw_query):
        with self.lock:
            for rule in getattr(self, kind):
                if rule["count"] != 0 and self._matches(rule, method, raw_path, raw_query):
                    if rule["count"] > 0:
                        rule["count"] -= 1
                    return dict(rule)
        return None

    def add(self, kind, rule):
        with self.lock:
            lst = getattr(self, kind)
            lst[:] = [r for r in lst if r["count"] != 0]
            lst.append(rule)

    def reset(self):
        with self.lock:
            self.fail.clear()
            self.delay.clear()


class State:
    def __init__(self, args, verifier, upstream_port, spool_dir, s3dir):
        self.args = args
        self.s3dir = s3dir
        self.verifier = verifier
        self.upstream = ("127.0.0.1", upstream_port)
        self.spool_dir = spool_dir
        self.rules = Rules()
        self.if_none_match = args.if_none_match
        self.log_lock = threading.Lock()
        self.log = []
        self.key_locks_lock = threading.Lock()
        self.key_locks = {}

    def key_lock(self, key):
        with self.key_locks_lock:
            entry = self.key_locks.get(key)
            if entry is None:
                entry = self.key_locks[key] = [threading.Lock(), 0]
            entry[1] += 1
        return entry

    def key_unlock(self, key, entry):
        with self.key_locks_lock:
            entry[1] -= 1
            if entry[1] == 0:
                self.key_locks.pop(key, None)

    def record(self, entry):
        with self.log_lock:
            if len(self.log) < 200000:
                self.log.append(entry)


def redacted_headers(headers):
    out = {}
    for k, v in headers.items():
        k = k.lower()
        if k == "authorization":
            i = v.find("Signature=")
            v = v[:i + len("Signature=")] + "redacted" if i >= 0 else v
        elif k == "x-amz-security-token":
            v = "redacted"
        out[k] = out[k] + ", " + v if k in out else v
    return out


def redacted_query(raw_query):
    parts = []
    for pair in raw_query.split("&") if raw_query else []:
        k = pair.partition("=")[0]
        if k.lower() in ("x-amz-signature", "x-amz-security-token", "signature"):
            pair = k + "=redacted"
        parts.append(pair)
    return "&".join(parts)


def error_xml(code, message, resource, request_id, extra):
    items = "".join(f"<{k}>{xml_escape(str(v))}</{k}>" for k, v in extra.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{xml_escape(code)}</Code><Message>{xml_escape(message)}</Message>"
            f"{items}<Resource>{xml_escape(resource)}</Resource>"
            f"<RequestId>{request_id}</RequestId></Error>").encode("utf-8")


# ---------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sluice-s3-front"
    timeout = 300  # an idle keep-alive connection is dropped after this
    state = None  # set by main()

    def version_string(self):
        return self.server_version

    # -- plumbing -------------------------------------------------------------

    def log_message(self, fmt, *a):
        if self.state.args.verbose:
            super().log_message(fmt, *a)

    def parse_request(self):
        self.expect_continue = False
        self.body_consumed = False
        return super().parse_request()

    def handle_expect_100(self):
        # Defer "100 Continue" until the headers are verified, so a rejected
        # upload is never sent.
        self.expect_continue = True
        return True

    def send_continue(self):
        if self.expect_continue:
            self.expect_continue = False
            self.send_response_only(100)
            self.end_headers()

    def has_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            return True
        try:
            return int(self.headers.get("Content-Length") or 0) > 0
        except ValueError:
            return True

    def iter_body(self):
        """Yields the request body's chunks (Content-Length or chunked)."""
        self.send_continue()
        self.body_consumed = True
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise DropConnection()
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise S3Error(400, "IncompleteBody", "Bad chunk size in a chunked body")
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    return
                while size:
                    data = self.rfile.read(min(size, COPY_CHUNK))
                    if not data:
                        raise DropConnection()
                    size -= len(data)
                    yield data
                self.rfile.readline(3)
            return
        cl = self.headers.get("Content-Length")
        try:
            remaining = int(cl) if cl is not None else 0
        except ValueError:
            raise S3Error(400, "InvalidArgument", f"Bad Content-Length '{cl}'")
        if remaining < 0:
            raise S3Error(400, "InvalidArgument", f"Bad Content-Length '{cl}'")
        while remaining:
            data = self.rfile.read(min(remaining, COPY_CHUNK))
            if not data:
                raise DropConnection()
            remaining -= len(data)
            yield data

    def read_body(self):
        """(spooled file, size, sha256 hex, md5 bytes)."""
        f = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self.state.spool_dir)
        h = hashlib.sha256()
        m = hashlib.md5()
        n = 0
        try:
            for chunk in self.iter_body():
                h.update(chunk)
                m.update(chunk)
                f.write(chunk)
                n += len(chunk)
        except BaseException:
            self.close_connection = True
            f.close()
            raise
        f.seek(0)
        return f, n, h.hexdigest(), m.digest()

    def discard_body(self):
        """Before an error answer: an unsent body (Expect) makes the
        connection unusable, a sent one is drained if small."""
        if self.body_consumed or not self.has_body():
            return
        if self.expect_continue:
            self.close_connection = True
            return
        try:
            cl = int(self.headers.get("Content-Length") or -1)
        except ValueError:
            cl = -1
        if cl < 0 or cl > (64 << 20):
            self.close_connection = True
            return
        try:
            for _ in self.iter_body():
                pass
        except Exception:
            self.close_connection = True

    def reply(self, status, body=b"", headers=(), content_type=None):
        # The request goes into the log before its answer does, so a client
        # that has its answer finds the request in /_front/log.
        self.record_entry(status)
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for k, v in headers:
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def reply_error(self, err, resource):
        self.discard_body()
        rid = uuid.uuid4().hex[:16].upper()
        body = error_xml(err.code, err.message, resource, rid, err.extra)
        self.reply(err.status, body, [("x-amz-request-id", rid)], "application/xml")

    def do_GET(self):
        self.dispatch()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET

    # -- requests -------------------------------------------------------------

    def record_entry(self, status):
        entry = getattr(self, "_entry", None)
        if entry is None:
            return
        self._entry = None
        if entry["status"] is None:
            entry["status"] = status
        self.state.record(entry)

    def dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        self._entry = None
        if raw_path.startswith("/_front/") or raw_path == "/_front":
            return self.control(raw_path, raw_query)
        entry = {"method": self.command, "path": raw_path, "query": redacted_query(raw_query),
                 "status": None, "code": None, "headers": redacted_headers(self.headers)}
        self._entry = entry
        try:
            self.s3(raw_path, raw_query, entry)
        except S3Error as e:
            entry["status"], entry["code"] = e.status, e.code
            self.reply_error(e, unquote_wire(raw_path).decode("utf-8", "replace"))
        except DropConnection:
            entry["status"] = 0
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (ConnectionError, socket.timeout) as e:
            entry["status"] = entry["status"] or 0
            entry["code"] = entry["code"] or f"client connection error: {e}"
            self.close_connection = True
        finally:
            self.record_entry(entry["status"])

    def s3(self, raw_path, raw_query, entry):
        st = self.state
        method = self.command
        if not raw_path.startswith("/"):
            raise S3Error(400, "InvalidRequest", "Only origin-form request targets (/bucket/key) are supported")
        payload = st.verifier.check(self, method, raw_path, raw_query)

        rule = st.rules.take("delay", method, raw_path, raw_query)
        if rule:
            time.sleep(rule["ms"] / 1000.0)

        body, size, digest, md5 = self.read_body()
        try:
            if payload != "UNSIGNED-PAYLOAD" and payload != digest:
                raise S3Error(400, "XAmzContentSHA256Mismatch",
                              "The provided 'x-amz-content-sha256' header does not match what was computed.",
                              {"ClientComputedContentSHA256": payload, "S3ComputedContentSHA256": digest})
            rule = st.rules.take("fail", method, raw_path, raw_query)
            if rule:
                entry["injected"] = True
                if rule["status"] == 0:
                    raise DropConnection()
                raise S3Error(rule["status"], rule["code"], rule["message"])
            content_md5 = self.headers.get("Content-MD5")
            if content_md5 is not None:  # s3rver ignores it
                try:
                    want = base64.b64decode(content_md5.strip(), validate=True)
                except (ValueError, binascii.Error):
                    want = b""
                if len(want) != 16:
                    raise S3Error(400, "InvalidDigest", "The Content-MD5 you specified was invalid.",
                                  {"Content-MD5": content_md5})
                if want != md5:
                    raise S3Error(400, "BadDigest",
                                  "The Content-MD5 you specified did not match what we received.",
                                  {"ExpectedDigest": content_md5,
                                   "CalculatedDigest": base64.b64encode(md5).decode()})
            if self.multipart_guard(method, raw_path, raw_query, body, entry):
                return
            self.forward(method, raw_path, raw_query, body, size, entry)
        finally:
            body.close()

    def multipart_guard(self, method, raw_path, raw_query, body, entry):
        """What s3rver 3.7.1 gets wrong about multipart uploads, done here
        from its files (DATA/s3rver/BUCKET/._S3rver_uploads/ID/{key,N,N.md5}):
        unknown upload ids (s3rver: 500 or a silently created upload) give
        404 NoSuchUpload, AbortMultipartUpload (s3rver: 405) is answered
        here, and CompleteMultipartUpload's part list is checked (s3rver
        accepts any ETag and any part size). Returns True when answered."""
        params = {}
        for k, v, _ in split_query(raw_query):
            params.setdefault(decode_component(k), decode_component(v))
        if "uploadId" not in params:
            return False
        parts = raw_path.split("/", 2)
        if len(parts) < 3 or not parts[2]:
            return False
        bucket = decode_component(parts[1])
        key = unquote_wire(parts[2]).decode("utf-8", "replace")
        upload_id = params["uploadId"]
        updir = os.path.join(self.state.s3dir, bucket, "._S3rver_uploads", upload_id)
        no_such = S3Error(404, "NoSuchUpload",
                          "The specified upload does not exist. The upload ID may be invalid, "
                          "or the upload may have been aborted or completed.", {"UploadId": upload_id})
        if not re.fullmatch(r"[0-9a-zA-Z]{1,128}", upload_id) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]*", bucket):
            raise no_such
        try:
            with open(os.path.join(updir, "key"), "rb") as f:
                stored_key = f.read().decode("utf-8", "replace")
        except OSError:
            raise no_such
        if stored_key != key:
            raise no_such
        if method == "DELETE":
            shutil.rmtree(updir, ignore_errors=True)
            entry["status"] = 204
            self.reply(204)
            return True
        if method == "PUT":
            pn = params.get("partNumber", "")
            if not pn.isdigit() or not 1 <= int(pn) <= 10000:
                raise S3Error(400, "InvalidArgument",
                              "Part number must be an integer between 1 and 10000, inclusive",
                              {"ArgumentName": "partNumber", "ArgumentValue": pn})
            return False
        if method != "POST":
            return False
        try:
            root = ElementTree.fromstring(body.read())
        except ElementTree.ParseError:
            root = None
        finally:
            body.seek(0)
        listed = []
        if root is not None and root.tag.split("}")[-1] == "CompleteMultipartUpload":
            for p in root:
                if p.tag.split("}")[-1] != "Part":
                    continue
                fields = {c.tag.split("}")[-1]: (c.text or "").strip() for c in p}
                listed.append((fields.get("PartNumber", ""), fields.get("ETag", "")))
        if not listed or any(not n.isdigit() for n, _ in listed):
            raise S3Error(400, "MalformedXML",
                          "The XML you provided was not well-formed or did not validate against "
                          "our published schema.")
        numbers = [int(n) for n, _ in listed]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise S3Error(400, "InvalidPartOrder",
                          "The list of parts was not in ascending order. The parts list must be "
                          "specified in order by part number.")
        for i, (n, etag) in enumerate(listed):
            part = os.path.join(updir, str(int(n)))
            try:
                with open(part + ".md5") as f:
                    md5 = f.read().strip()
                size = os.path.getsize(part)
            except OSError:
                md5, size = None, 0
            if md5 is None or etag.replace('"', "").lower() != md5:
                raise S3Error(400, "InvalidPart",
                              "One or more of the specified parts could not be found. The part may "
                              "not have been uploaded, or the specified entity tag may not match "
                              "the part's entity tag.",
                              {"UploadId": upload_id, "PartNumber": n, "ETag": etag})
            if i < len(listed) - 1 and size < self.state.args.min_part_size:
                raise S3Error(400, "EntityTooSmall",
                              "Your proposed upload is smaller than the minimum allowed object size.",
                              {"ProposedSize": size, "MinSizeAllowed": self.state.args.min_part_size,
                               "PartNumber": n, "ETag": etag})
        return False

    def upstream_headers(self, size):
        out = []
        for k, v in self.headers.items():
            lk = k.lower()
            if lk in AUTH_HEADERS or lk in HOP_BY_HOP or lk in ("host", "content-length"):
                continue
            out.append((k, v))
        out.append(("Host", "%s:%d" % self.state.upstream))
        out.append(("Content-Length", str(size)))
        return out

    def conditional_target(self, method, raw_path, raw_query):
        """The object key when this request must honour If-None-Match: *
        (PutObject, CompleteMultipartUpload), else None."""
        parts = raw_path.split("/", 2)
        if len(parts) < 3 or not parts[2]:
            return None
        names = {decode_component(k) for k, _, _ in split_query(raw_query)}
        if method == "PUT" and not names & {"uploadId", "partNumber", "tagging", "acl"}:
            return raw_path
        if method == "POST" and "uploadId" in names:
            return raw_path
        return None

    def forward(self, method, raw_path, raw_query, body, size, entry):
        st = self.state
        query = "&".join(p for p in raw_query.split("&")
                         if p and p.partition("=")[0].lower() not in PRESIGN_PARAMS) if raw_query else ""
        target = raw_path + ("?" + query if query else "")
        headers = self.upstream_headers(size)
        inm = (self.headers.get("If-None-Match") or "").strip()
        cond_key = self.conditional_target(method, raw_path, raw_query) if inm else None
        if cond_key is None:
            return self.proxy(method, target, headers, body, entry)
        if st.if_none_match != "enforce":
            headers = [(k, v) for k, v in headers if k.lower() != "if-none-match"]
            return self.proxy(method, target, headers, body, entry)
        if inm != "*":
            raise S3Error(501, "NotImplemented",
                          "If-None-Match on a write supports only '*'", {"Header": "If-None-Match"})
        headers = [(k, v) for k, v in headers if k.lower() != "if-none-match"]
        lock_entry = st.key_lock(cond_key)
        try:
            with lock_entry[0]:
                conn = http.client.HTTPConnection(*st.upstream, timeout=120)
                try:
                    conn.request("HEAD", raw_path, headers={"Host": "%s:%d" % st.upstream})
                    r = conn.getresponse()
                    r.read()
                    exists = r.status == 200
                finally:
                    conn.close()
                if exists:
                    raise S3Error(412, "PreconditionFailed",
                                  "At least one of the pre-conditions you specified did not hold",
                                  {"Condition": "If-None-Match"})
                return self.proxy(method, target, headers, body, entry)
        finally:
            st.key_unlock(cond_key, lock_entry)

    def proxy(self, method, target, headers, body, entry):
        st = self.state
        conn = http.client.HTTPConnection(*st.upstream, timeout=300)
        try:
            try:
                conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    conn.putheader(k, v)
                conn.endheaders()
                while True:
                    chunk = body.read(COPY_CHUNK)
                    if not chunk:
                        break
                    conn.send(chunk)
                r = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                raise S3Error(502, "BadGateway", f"s3rver did not answer: {e}")
            entry["status"] = r.status
            out = []
            length = None
            for k, v in r.getheaders():
                lk = k.lower()
                if lk in HOP_BY_HOP or lk in ("date", "server"):
                    continue
                if lk == "content-length":
                    length = v
                    continue
                out.append((k, v))
            no_body = method == "HEAD" or r.status in (204, 304) or 100 <= r.status < 200
            if (length is None or r.status >= 400) and not no_body:
                data = r.read()  # an error or chunked XML from s3rver: small; re-frame
                length = str(len(data))
                stream = None
                if r.status >= 400:
                    m = re.search(rb"<Code>([^<]*)</Code>", data)
                    entry["code"] = m.group(1).decode("utf-8", "replace") if m else None
            else:
                data = None
                stream = r
            self.record_entry(r.status)
            self.send_response(r.status)
            for k, v in out:
                self.send_header(k, v)
            if length is not None:
                self.send_header("Content-Length", length)
            elif r.status not in (204, 304):
                self.send_header("Content-Length", "0")
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if no_body:
                r.read()
            elif data is not None:
                self.wfile.write(data)
            else:
                while True:
                    chunk = stream.read(COPY_CHUNK)
                    if not chunk:
                        break
                    self.wfile.write(chunk)
        finally:
            conn.close()

    # -- control ----------------------------------------------------------------

    def control(self, raw_path, raw_query):
        st = self.state
        q = {k: v[-1] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}
        self.discard_body()
        route = (self.command, raw_path.rstrip("/"))
        try:
            if route == ("GET", "/_front/health"):
                return self.reply(200, b"ok", content_type="text/plain")
            if route == ("GET", "/_front/log"):
                with st.log_lock:
                    body = json.dumps(st.log).encode()
                return self.reply(200, body, content_type="application/json")
            if route == ("POST", "/_front/log/clear"):
                with st.log_lock:
                    st.log.clear()
                return self.reply(200, b"ok", content_type="text/plain")
            if route == ("POST", "/_front/reset"):
                st.rules.reset()
                return self.reply(200, b"ok", content_type="text/plain")
            if route == ("POST", "/_front/if-none-match"):
                mode = q.get("mode")
                if mode not in ("enforce", "ignore"):
                    raise ValueError("mode must be enforce or ignore")
                st.if_none_match = mode
                return self.reply(200, b"ok", content_type="text/plain")
            if route in (("POST", "/_front/fail"), ("POST", "/_front/delay")):
                rule = {
                    "count": int(q.get("count", "1")),
                    "method": (q.get("method") or "").upper() or None,
                    "path_contains": q.get("path_contains") or None,
                    "query_contains": q.get("query_contains") or None,
                }
                if route[1] == "/_front/fail":
                    status = int(q.get("status", "500"))
                    if status != 0 and not 300 <= status <= 599:
                        raise ValueError("status must be 0 or 300..599")
                    code, msg = DEFAULT_CODES.get(status, ("InternalError", "Injected failure."))
                    rule.update(status=status, code=q.get("code") or code,
                                message=q.get("message") or msg + " (injected by the test front)")
                    st.rules.add("fail", rule)
                else:
                    rule["ms"] = int(q["ms"])
                    if rule["ms"] < 0:
                        raise ValueError("ms must be >= 0")
                    st.rules.add("delay", rule)
                return self.reply(200, json.dumps(rule).encode(), content_type="application/json")
        except (ValueError, KeyError) as e:
            return self.reply(400, f"bad control request: {e}\n".encode(), content_type="text/plain")
        return self.reply(404, f"no control endpoint {self.command} {raw_path}\n".encode(),
                          content_type="text/plain")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


# ---------------------------------------------------------------------------
# s3rver child


def set_pdeathsig():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


DES_PROBE = ("const c=require('crypto').createCipheriv('des',Buffer.alloc(8),Buffer.alloc(8));"
             "c.update('x');c.final()")


def node_flags(node):
    """s3rver's ListObjectsV2 continuation tokens are DES-encrypted, which
    OpenSSL 3 (node >= 17) only has in its legacy provider."""
    try:
        subprocess.run([node, "-e", DES_PROBE], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60, check=True)
        return []
    except (subprocess.SubprocessError, OSError):
        pass
    try:
        subprocess.run([node, "--openssl-legacy-provider", "-e", DES_PROBE], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=True)
        return ["--openssl-legacy-provider"]
    except (subprocess.SubprocessError, OSError):
        log("warning: node has no DES even with --openssl-legacy-provider: "
            "ListObjectsV2 pagination (continuation tokens) will fail with InternalError")
        return []


def start_s3rver(node, data_dir, buckets, verbose):
    script = os.path.join(HERE, "node_modules", "s3rver", "bin", "s3rver.js")
    cmd = [node] + node_flags(node) + [
        script, "--directory", data_dir, "--address", "127.0.0.1", "--port", "0"]
    if not verbose:
        cmd.append("--silent")
    for b in buckets:
        cmd += ["--configure-bucket", b]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=None, preexec_fn=set_pdeathsig)
    deadline = time.monotonic() + 60
    port = None
    buf = b""
    while time.monotonic() < deadline and port is None:
        if proc.poll() is not None:
            raise RuntimeError(f"s3rver exited with {proc.returncode} before listening: {buf[-2000:]!r}")
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if ready:
            data = os.read(proc.stdout.fileno(), 4096)
            if not data:
                continue
            buf += data
            m = re.search(rb"S3rver listening on [^\s:]+:(\d+)", buf)
            if m:
                port = int(m.group(1))
    if port is None:
        proc.kill()
        raise RuntimeError(f"s3rver did not report its port within 60 s: {buf[-2000:]!r}")

    def pump():  # keep s3rver's stdout flowing to our stderr
        try:
            while True:
                data = os.read(proc.stdout.fileno(), 65536)
                if not data:
                    return
                if verbose:
                    sys.stderr.buffer.write(data)
                    sys.stderr.flush()
        except OSError:
            return
    threading.Thread(target=pump, daemon=True).start()

    # It answers, and every bucket exists.
    while True:
        try:
            for path in ["/"] + ["/" + quote(b) for b in buckets]:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                try:
                    c.request("HEAD" if path != "/" else "GET", path)
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        raise RuntimeError(f"{path}: {r.status}")
                finally:
                    c.close()
            return proc, port
        except (OSError, RuntimeError, http.client.HTTPException) as e:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"s3rver is not ready: {e}")
            time.sleep(0.1)


def stop_child(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=d)
    with os.fdopen(fd, "w") as f:
        f.write(f"{port}\n")
    os.rename(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="state directory (s3rver's files go to DATA/s3rver)")
    ap.add_argument("--port-file", required=True, help="the front's port is written here when ready")
    ap.add_argument("--port", type=int, default=0, help="front port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--bucket", action="append", default=[], help="bucket to create (repeatable)")
    ap.add_argument("--access-key", default="AKIDSLUICETEST")
    ap.add_argument("--secret-key", default="sluice-test-secret")
    ap.add_argument("--session-token", default=None,
                    help="require this signed x-amz-security-token (default: refuse any token)")
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--if-none-match", choices=("enforce", "ignore"), default="enforce")
    ap.add_argument("--min-part-size", type=int, default=5 << 20,
                    help="smallest part but the last that CompleteMultipartUpload accepts (S3: 5 MiB)")
    ap.add_argument("--node", default=None, help="node binary (default /usr/bin/node, else node on PATH)")
    ap.add_argument("--verbose", action="store_true", help="log every request and s3rver's output")
    args = ap.parse_args()

    node = args.node or ("/usr/bin/node" if os.access("/usr/bin/node", os.X_OK) else shutil.which("node"))
    if not node or not os.access(node, os.X_OK):
        skip(f"node is not installed ({args.node or 'node'}; apt-get install nodejs)")
    try:
        import botocore.auth  # noqa: F401
        import botocore.awsrequest  # noqa: F401
        import botocore.credentials  # noqa: F401
    except ImportError as e:
        skip(f"botocore is missing ({e}; apt-get install python3-botocore)")
    if not os.path.isfile(os.path.join(HERE, "node_modules", "s3rver", "bin", "s3rver.js")):
        skip("s3rver is not installed (npm ci --prefix tests/s3)")

    os.makedirs(args.data, exist_ok=True)
    s3dir = os.path.join(args.data, "s3rver")
    spool = os.path.join(args.data, "front-spool")
    os.makedirs(s3dir, exist_ok=True)
    os.makedirs(spool, exist_ok=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    try:
        child, upstream_port = start_s3rver(node, s3dir, args.bucket, args.verbose)
    except RuntimeError as e:
        log(str(e))
        return 1
    try:
        verifier = Verifier(args.access_key, args.secret_key, args.session_token, args.region)
        Handler.state = State(args, verifier, upstream_port, spool, s3dir)
        server = Server(("127.0.0.1", args.port), Handler)
        t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
        t.start()
        port = server.server_address[1]
        # Answering? (the listening socket queues connections already)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/_front/health")
        c.getresponse().read()
        c.close()
        write_port_file(args.port_file, port)
        log(f"listening on 127.0.0.1:{port} (s3rver pid {child.pid} on 127.0.0.1:{upstream_port}, "
            f"data {s3dir}, buckets {args.bucket}, if-none-match {args.if_none_match})")
        rc = 0
        while not stop.wait(0.5):
            if child.poll() is not None:
                log(f"s3rver exited with {child.returncode}; stopping")
                rc = 1
                break
        server.shutdown()
        server.server_close()
        return rc
    finally:
        stop_child(child)


if __name__ == "__main__":
    sys.exit(main())
