"""sluice.serving: read the analytics database from a Python web app, as
the C++ ServingReader (pipeline/serving/serving_reader.h) does.

    reader = sluice.serving.ServingReader("data/analytics.sqlite")
    rows = reader.query("SELECT * FROM serving_price_monthly WHERE month >= ?", ("2024-01",))

It holds one read-only connection and, before each use, checks whether the
file at the path is still the one it opened (device + inode). When an
export has renamed a new file over it, the reader opens the new file and
only then closes the old connection: a query never fails because of an
export and never sees a half-written table (each file was complete before
it appeared under the path). Only a sluice serving database (one with the
table `_sluice_export`) is opened; another file is an error, left as it is.
Files are opened `immutable` (an exported file is never written after its
rename). One reader per thread (sqlite3 connections are not shared).
"""

import os
import sqlite3
import time
import urllib.parse

EXPORT_TABLE = "_sluice_export"


class NotServingDatabase(Exception):
    pass


class ServingReader:
    def __init__(self, path=None, check_every=0.0):
        """path: default $SERVING_DB_PATH or data/analytics.sqlite;
        check_every: seconds between looks at the path (0: every call)."""
        self.path = os.fspath(path or os.environ.get("SERVING_DB_PATH") or "data/analytics.sqlite")
        self.check_every = check_every
        self.opens = 0
        self._db = None
        self._ident = None
        self._next_check = 0.0

    def _open(self, st):
        uri = "file:" + urllib.parse.quote(os.path.abspath(self.path)) + "?mode=ro&immutable=1"
        db = sqlite3.connect(uri, uri=True, check_same_thread=True)
        try:
            db.row_factory = sqlite3.Row
            ok = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (EXPORT_TABLE,)).fetchone()
        except sqlite3.DatabaseError as e:
            db.close()
            raise NotServingDatabase(f"{self.path}: not a sluice serving database ({e})") from None
        if ok is None:
            db.close()
            raise NotServingDatabase(f"{self.path}: not a sluice serving database (no table {EXPORT_TABLE})")
        # The file it opened must still be the one that was stat'ed: an
        # export between the two would pair the new inode with the old file.
        return db

    def connection(self):
        """The connection for the next queries (a sqlite3.Connection with
        Row rows); valid until the next call. Raises only when nothing could
        ever be opened; once open, a failed reopen keeps the current one."""
        now = time.monotonic()
        if self._db is not None and now < self._next_check:
            return self._db
        self._next_check = now + self.check_every
        try:
            st = os.stat(self.path)
        except OSError as e:
            if self._db is not None:
                return self._db
            raise FileNotFoundError(f"{self.path}: {e.strerror}") from None
        ident = (st.st_dev, st.st_ino)
        if self._db is not None and ident == self._ident:
            return self._db
        try:
            db = self._open(st)
        except (sqlite3.Error, NotServingDatabase):
            if self._db is not None:
                return self._db
            raise
        old, self._db, self._ident = self._db, db, ident
        self.opens += 1
        if old is not None:
            old.close()
        return self._db

    def query(self, sql, params=()):
        """All rows of one query, as sqlite3.Row (by index or column name)."""
        return self.connection().execute(sql, params).fetchall()

    def version(self):
        """The export's version (one more per export of the lakehouse)."""
        row = self.connection().execute(f"SELECT max(version) FROM {EXPORT_TABLE}").fetchone()
        return row[0]

    def close(self):
        if self._db is not None:
            self._db.close()
            self._db = None
