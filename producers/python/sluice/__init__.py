"""sluice: the Python SDK of the sluice pipeline engine.

- sluice.Client: every client command of schemas/PROTOCOL.md (§6).
- sluice.Worker: custom job kinds and extractors as Python functions.
- sluice.landing: landing files by the rules of extract.http, in a folder
  or an s3:// landing zone.
- sluice.s3: the S3 client it uses (SigV4 signed here, standard library).
- sluice.serving: a reader of the analytics database for web apps.

Pure Python on python3-zmq and python3-msgpack (Debian's)."""

from .client import Client
from .errors import (BadRequest, BrokerError, Cancelled, Final, Forbidden, InvalidState, NotFound, Retryable,
                     SluiceError, Unreachable)
from .replies import Extraction, Job as JobInfo, Run, Schedule, Stats, Submitted, WorkerInfo
from . import landing, s3, serving


def __getattr__(name):
    # sluice.Worker and sluice.Job come from sluice.worker, imported on first
    # use: `python3 -m sluice.worker` runs that file as __main__, and an
    # import of it here, before, would make two copies of the module.
    if name in ("Worker", "Job"):
        from . import worker
        return getattr(worker, name)
    raise AttributeError(f"module 'sluice' has no attribute {name!r}")


__version__ = "1.0.0"

__all__ = [
    "Client", "Worker", "Job", "JobInfo", "Run", "Schedule", "Stats", "Submitted", "WorkerInfo", "Extraction",
    "SluiceError", "BadRequest", "NotFound", "Forbidden", "InvalidState", "Unreachable", "BrokerError",
    "Retryable", "Final", "Cancelled", "landing", "s3", "serving",
]
