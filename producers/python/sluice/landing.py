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

Local folders only: an `s3://` landing zone (which `sluice-worker` supports)
is refused with an error saying so.
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
    """A landing file could not be written (bad source or ext, an s3://
    landing zone, a disk error)."""

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
    def __init__(self, fd):
        self.fd = fd
        self.size = 0

    def writable(self):
        return True

    def write(self, b):
        mv = memoryview(b)
        done = 0
        while done < len(mv):
            done += os.write(self.fd, mv[done:])
        self.size += done
        return done


class LandingZone:
    """A landing folder. `LandingZone(path).write(source, data, ext=...)`."""

    def __init__(self, root):
        root = os.fspath(root)
        if root.startswith("s3://"):
            raise LandingError(
                f"landing zone {root}: the Python SDK writes local folders only; an s3:// landing zone "
                "needs sluice-worker's extract.http (or land into a local folder)")
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

    def write(self, source, data, *, ext, url=None, etag=None, now=None):
        """Lands `data` (bytes, str, a file object or an iterable of chunks)
        as one gzip file of `source`. Named by `etag` (needs the `url` it
        came from) or, without one, by the SHA-256 of the data. Returns a
        Landed; `written` False when that file exists already."""
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
