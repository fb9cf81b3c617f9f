"""sluice.landing: landing files written by the rules of `extract.http`
(workers/landing_names.h, workers/landing_zone.h):

    {landing}/{source}/{YYYY}/{MM}/{stem}.{ext}.gz

- source: 1-64 of [A-Za-z0-9._-], not starting with '.'; ext: 1-16 of the
  same. Nothing a job sends can name another path.
- stem: "e" + url8 + "-" + the ETag (W/ and quotes gone, every byte outside
  [A-Za-z0-9._-] as %XX; "e" url8 ".h" + 32 hex of SHA-256(ETag) when that
  is over 96 characters), url8 being the first 8 hex digits of
  SHA-256(URL); or, without an ETag, the first 16 hex digits of the
  SHA-256 of the body.
- YYYY/MM: the UTC month of the download.
- A file is written whole or not at all, and never replaced: an unnamed
  temp file (O_TMPFILE; a named `.sluice-tmp-<16 hex>` where the filesystem
  has none) in the partition, gzipped and hashed as it is written, fsynced,
  linked into place under its final name (link(2) refuses a name that
  exists: that file is the same content, "skipped"), then the folder is
  fsynced.
- The partition is reached from the landing folder one component at a time
  with O_NOFOLLOW: a symlink inside the landing zone is refused.

An `s3://BUCKET/PREFIX` landing zone (S3LandingZone, what LandingZone
returns for one) has the same object names under the prefix,
{prefix}/{source}/{YYYY}/{MM}/{stem}.{ext}.gz, as `sluice-worker`'s
(workers/s3_landing.h): the body is gzipped and hashed into an unnamed spool
file (SLUICE_SPOOL_DIR, else $TMPDIR when absolute, else /tmp), then the
store is asked HEAD and, for a name it lacks, sent one PUT with
`If-None-Match: *` and the body's SHA-256 as x-amz-content-sha256 (from
16 MiB a multipart upload, completed with `If-None-Match: *`). An object
already there (HEAD, or 412 to the PUT) is the same content: "skipped".
Credentials and endpoint: sluice.s3.Config.from_env.
"""

import datetime
import gzip
import hashlib
import io
import os
import re
import secrets
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z0-9._-]+")
MAX_SOURCE = 64
MAX_EXT = 16
MAX_ETAG_CHARS = 96
TEMP_PREFIX = ".sluice-tmp-"
_CHUNK = 1 << 16


class LandingError(Exception):
    """A landing file could not be written (bad source or ext, a disk
    error, the object store refused or could not be reached)."""

    def __init__(self, message, retryable=False):
        super().__init__(message)
        self.retryable = retryable


def _quoted(value):
    out = []
    for ch in str(value)[:80]:
        c = ord(ch)
        out.append(f"\\x{c:02x}" if c < 0x20 or c >= 0x7F or ch in "'\\" else ch)
    return "'" + "".join(out) + ("...'" if len(str(value)) > 80 else "'")


def _safe_name(s, limit):
    return isinstance(s, str) and 0 < len(s) <= limit and s[0] != "." and _NAME.fullmatch(s) is not None


def validate_source(source):
    """Raises LandingError unless `source` may name a landing folder."""
    if not _safe_name(source, MAX_SOURCE):
        raise LandingError(f"field 'source' {_quoted(source)} must be 1-{MAX_SOURCE} characters of "
                           "[A-Za-z0-9._-], not starting with '.'")


def validate_ext(ext):
    if not _safe_name(ext, MAX_EXT):
        raise LandingError(f"field 'ext' {_quoted(ext)} must be 1-{MAX_EXT} characters of "
                           "[A-Za-z0-9._-], not starting with '.'")


def etag_stem(url, etag):
    """The stem for an ETag answer from `url`; "" when the ETag is empty
    once W/ and its quotes are gone (then content naming applies)."""
    bare = etag[2:] if etag.startswith("W/") else etag
    if len(bare) >= 2 and bare[0] == '"' and bare[-1] == '"':
        bare = bare[1:-1]
    if not bare:
        return ""
    url8 = hashlib.sha256(url.encode()).hexdigest()[:8]
    encoded = []
    n = 0
    for b in bare.encode():
        if n > MAX_ETAG_CHARS:
            break
        ch = chr(b)
        piece = ch if b < 0x80 and _NAME.fullmatch(ch) else f"%{b:02X}"
        encoded.append(piece)
        n += len(piece)
    text = "".join(encoded)
    if len(text) > MAX_ETAG_CHARS:
        return "e" + url8 + ".h" + hashlib.sha256(etag.encode()).hexdigest()[:32]
    return "e" + url8 + "-" + text


def content_stem(sha256_hex):
    return sha256_hex[:16]


def _is_safe_file_name(name):
    return 0 < len(name) <= 255 and name[0] != "." and re.fullmatch(r"[A-Za-z0-9._%-]+", name) is not None


@dataclass
class Landed:
    """One landing file: `path` relative to the landing folder; `written`
    False when it was there already (same name: unchanged, skipped)."""

    path: str
    written: bool
    bytes_written: int
    sha256: str
    url: str = ""  # s3://bucket/key of an object in an S3 landing zone


def _chunks(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        mv = memoryview(data)
        for i in range(0, len(mv), _CHUNK):
            yield bytes(mv[i:i + _CHUNK])
        return
    if hasattr(data, "read"):
        while True:
            b = data.read(_CHUNK)
            if not b:
                return
            yield b.encode("utf-8") if isinstance(b, str) else b
        return
    for b in data:
        yield b.encode("utf-8") if isinstance(b, str) else bytes(b)


class _FdWriter(io.RawIOBase):
    def __init__(self, fd, sha=None):
        self.fd = fd
        self.size = 0
        self.sha = sha  # hashes what is written (the gzip bytes), when given

    def writable(self):
        return True

    def write(self, b):
        mv = memoryview(b)
        done = 0
        while done < len(mv):
            done += os.write(self.fd, mv[done:])
        self.size += done
        if self.sha is not None:
            self.sha.update(mv)
        return done


class LandingZone:
    """A landing folder. `LandingZone(path).write(source, data, ext=...)`.
    `LandingZone("s3://bucket/prefix")` is an S3LandingZone."""

    def __new__(cls, root, *args, **kwargs):
        if cls is LandingZone and isinstance(root, str) and root.startswith("s3://"):
            cls = S3LandingZone
        return super().__new__(cls)

    def __init__(self, root):
        root = os.fspath(root)
        if not root:
            raise LandingError("the landing zone is empty: give a folder (LANDING_DIR, --landing)")
        self.root = root

    def _partition(self, source, now):
        os.makedirs(self.root, exist_ok=True)
        flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in (source, f"{now.year:04d}", f"{now.month:02d}"):
                created = False
                try:
                    os.mkdir(part, 0o755, dir_fd=fd)
                    created = True
                except FileExistsError:
                    pass
                try:
                    nfd = os.open(part, flags, dir_fd=fd)
                except OSError as e:
                    raise LandingError(f"landing folder {part!r} under {self.root}: {e.strerror} "
                                       "(a symlink or a file where a folder must be?)") from None
                if created:
                    os.fsync(fd)  # the new folder's entry, durable in its parent
                os.close(fd)
                fd = nfd
            return fd
        except BaseException:
            os.close(fd)
            raise

    def write(self, source, data, *, ext, url=None, etag=None, now=None, stop=None):
        """Lands `data` (bytes, str, a file object or an iterable of chunks)
        as one gzip file of `source`. Named by `etag` (needs the `url` it
        came from) or, without one, by the SHA-256 of the data. Returns a
        Landed; `written` False when that file exists already. (`stop`, a
        function that says when to give up, is asked by S3 transfers.)"""
        validate_source(source)
        validate_ext(ext)
        if etag is not None and url is None:
            raise LandingError("an ETag names a landing file together with its URL: give url= too")
        now = now or datetime.datetime.now(datetime.timezone.utc)
        stem = etag_stem(url, etag) if etag else ""
        try:
            pfd = self._partition(source, now)
        except OSError as e:
            raise LandingError(f"landing folder for {source} under {self.root}: {e.strerror}", retryable=True) from None
        rel_dir = f"{source}/{now.year:04d}/{now.month:02d}"
        try:
            if stem:
                name = f"{stem}.{ext}.gz"
                if _exists(name, pfd):
                    return Landed(f"{rel_dir}/{name}", False, 0, "")
            return self._write_file(pfd, rel_dir, stem, ext, data)
        except OSError as e:
            raise LandingError(f"landing a file of {source} in {self.root}/{rel_dir}: {e.strerror}",
                               retryable=True) from None
        finally:
            os.close(pfd)

    def _write_file(self, pfd, rel_dir, stem, ext, data):
        tmp_name = None
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o644, dir_fd=pfd)
        except (OSError, AttributeError):
            tmp_name = TEMP_PREFIX + secrets.token_hex(8)
            fd = os.open(tmp_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644,
                         dir_fd=pfd)
        try:
            sha = hashlib.sha256()
            raw = _FdWriter(fd)
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                for chunk in _chunks(data):
                    sha.update(chunk)
                    gz.write(chunk)
            os.fsync(fd)
            digest = sha.hexdigest()
            name = f"{stem or content_stem(digest)}.{ext}.gz"
            if not _is_safe_file_name(name):
                raise LandingError(f"landing file name {_quoted(name)} is not safe")
            try:
                if tmp_name is None:
                    os.link(f"/proc/self/fd/{fd}", name, dst_dir_fd=pfd, follow_symlinks=True)
                else:
                    os.link(tmp_name, name, src_dir_fd=pfd, dst_dir_fd=pfd, follow_symlinks=False)
            except FileExistsError:
                return Landed(f"{rel_dir}/{name}", False, 0, digest)
            os.fsync(pfd)
            return Landed(f"{rel_dir}/{name}", True, raw.size, digest)
        finally:
            os.close(fd)
            if tmp_name is not None:
                try:
                    os.unlink(tmp_name, dir_fd=pfd)
                except OSError:
                    pass


def _exists(name, dir_fd):
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        return True
    except FileNotFoundError:
        return False


def default_spool_dir(env=None):
    """SLUICE_SPOOL_DIR, else $TMPDIR when absolute, else /tmp (as
    sluice-worker's --spool-dir)."""
    env = os.environ if env is None else env
    d = env.get("SLUICE_SPOOL_DIR", "")
    if d:
        return d
    t = env.get("TMPDIR", "")
    return t if t.startswith("/") else "/tmp"


class _HashingFile:
    """What GzipFile writes into: the spool file, each byte hashed."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, b):
        n = self.f.write(b)
        self.sha.update(b)
        self.size += len(b)
        return n

    def flush(self):
        self.f.flush()


class S3LandingZone(LandingZone):
    """A landing zone in an S3-compatible store: "s3://bucket/prefix".
    `config` (a sluice.s3.Config) defaults to the AWS_* variables
    (Config.from_env), `spool_dir` to default_spool_dir(). Thread-safe."""

    def __init__(self, root, *, config=None, spool_dir=None):
        from . import s3
        self._s3 = s3
        root = os.fspath(root)
        try:
            self.location = s3.parse_location(root)
            self.config = config or s3.Config.from_env()
        except s3.S3Error as e:
            raise LandingError(f"landing zone {root[:200]}: {e}") from None
        self.root = str(self.location)
        self.spool_dir = spool_dir or default_spool_dir()
        self.client = s3.Client(self.config)

    def _landed(self, rel, written, size, digest):
        key = self.location.key(rel)
        return Landed(rel, written, size, digest, f"s3://{self.location.bucket}/{key}")

    def _exists(self, key, stop):
        return self.client.exists(self.location.bucket, key, stop=stop)

    def write(self, source, data, *, ext, url=None, etag=None, now=None, stop=None):
        validate_source(source)
        validate_ext(ext)
        if etag is not None and url is None:
            raise LandingError("an ETag names a landing file together with its URL: give url= too")
        now = now or datetime.datetime.now(datetime.timezone.utc)
        stem = etag_stem(url, etag) if etag else ""
        rel_dir = f"{source}/{now.year:04d}/{now.month:02d}"
        try:
            if stem:
                name = f"{stem}.{ext}.gz"
                if _is_safe_file_name(name) and self._exists(self.location.key(f"{rel_dir}/{name}"), stop):
                    return self._landed(f"{rel_dir}/{name}", False, 0, "")
            return self._spool_and_put(rel_dir, stem, ext, data, stop)
        except self._s3.S3Error as e:
            raise LandingError(str(e), retryable=e.retryable) from None

    def _spool_and_put(self, rel_dir, stem, ext, data, stop):
        import tempfile
        try:
            os.makedirs(self.spool_dir, exist_ok=True)
            # Unnamed where the filesystem can (O_TMPFILE), else unlinked at
            # once: a killed process leaves nothing in the spool folder.
            spool = tempfile.TemporaryFile(dir=self.spool_dir)
        except OSError as e:
            raise LandingError(f"landing: cannot create a spool file in {self.spool_dir}: {e.strerror}",
                               retryable=True) from None
        with spool:
            try:
                sha = hashlib.sha256()
                out = _HashingFile(spool)
                with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
                    for chunk in _chunks(data):
                        sha.update(chunk)
                        gz.write(chunk)
                spool.flush()
            except OSError as e:
                raise LandingError(f"landing: writing the spool file in {self.spool_dir}: {e.strerror}",
                                   retryable=True) from None
            digest = sha.hexdigest()
            name = f"{stem or content_stem(digest)}.{ext}.gz"
            if not _is_safe_file_name(name):
                raise LandingError(f"landing file name {_quoted(name)} is not safe")
            rel = f"{rel_dir}/{name}"
            key = self.location.key(rel)
            if self._exists(key, stop):
                return self._landed(rel, False, 0, digest)
            created = self.client.put_file(self.location.bucket, key, spool, payload_sha256=out.sha.hexdigest(),
                                           if_absent=True, content_type="application/gzip", stop=stop)
            return self._landed(rel, created, out.size if created else 0, digest)
