"""Typed replies (PROTOCOL.md §6): each a dataclass of the documented
fields; what a newer broker adds is kept in `.raw`."""

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


def _build(cls, d):
    if not isinstance(d, dict):
        d = {}
    names = {f.name for f in dataclasses.fields(cls)} - {"raw"}
    kwargs = {k: d.get(k) for k in names}
    obj = cls(**kwargs)
    obj.raw = d
    return obj


@dataclass
class Attempt:
    attempt: Optional[int] = None
    worker: Optional[str] = None
    host: Optional[str] = None
    started_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    outcome: Optional[str] = None
    error: Optional[str] = None
    exit_code: Optional[int] = None
    stdout: Optional[str] = None
    stderr: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


JOB_TERMINAL = ("succeeded", "dead", "cancelled")
RUN_TERMINAL = ("succeeded", "failed", "cancelled")


@dataclass
class Job:
    id: str = ""
    state: str = ""
    kind: str = ""
    queue: str = ""
    priority: int = 0
    attempt: int = 0
    failures: int = 0
    max_attempts: int = 0
    backoff_ms: int = 0
    timeout_ms: int = 0
    run_at_ms: Optional[int] = None
    created_ms: Optional[int] = None
    updated_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    key: Optional[str] = None
    error: Optional[str] = None
    waiting: Optional[str] = None
    params: Any = None
    outputs: Optional[Dict[str, Any]] = None
    attempts: List[Attempt] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self):
        return self.state in JOB_TERMINAL

    @classmethod
    def from_dict(cls, d):
        job = _build(cls, d)
        job.attempts = [_build(Attempt, a) for a in (job.attempts or [])]
        return job


@dataclass
class Submitted:
    id: str = ""
    created: bool = False
    state: str = ""
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Stage:
    name: str = ""
    kind: str = ""
    state: str = ""
    job: Optional[str] = None
    attempt: Optional[int] = None
    started_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    error: Optional[str] = None
    depends_on: List[str] = field(default_factory=list)
    queue: Optional[str] = None
    kind_served: Optional[bool] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Run:
    id: str = ""
    state: str = ""
    workflow: str = ""
    trigger: str = ""
    logical_date: str = ""
    slot: Optional[str] = None
    params: Dict[str, str] = field(default_factory=dict)
    created_ms: Optional[int] = None
    started_ms: Optional[int] = None
    finished_ms: Optional[int] = None
    stages: List[Stage] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self):
        return self.state in RUN_TERMINAL

    def stage(self, name):
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    @classmethod
    def from_dict(cls, d):
        run = _build(cls, d)
        run.stages = [_build(Stage, s) for s in (run.stages or [])]
        run.params = run.params or {}
        return run


@dataclass
class Schedule:
    workflow: str = ""
    schedule: Optional[str] = None
    paused: bool = False
    catch_up: str = ""
    max_active_runs: int = 0
    next_fire: Optional[str] = None
    last_fire: Optional[str] = None
    active_runs: int = 0
    unserved_stages: List[Dict[str, str]] = field(default_factory=list)
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class WorkerInfo:
    worker: str = ""
    host: Optional[str] = None
    pid: Optional[int] = None
    queues: List[str] = field(default_factory=list)
    kinds: List[str] = field(default_factory=list)
    slots: int = 0
    prefetch: int = 0
    adaptive: Optional[bool] = None
    window: Optional[int] = None
    busy: int = 0
    version: Optional[str] = None
    connected_ms: Optional[int] = None
    last_seen_ms: Optional[int] = None
    running: List[List[Any]] = field(default_factory=list)
    key: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Extraction:
    run_id: int = 0
    extractor: Optional[str] = None
    started_at: Optional[str] = None
    finished_at: Optional[str] = None
    status: Optional[str] = None
    files_written: int = 0
    files_skipped: int = 0
    bytes_written: int = 0
    cursor_value: Optional[str] = None
    error_message: Optional[str] = None
    job_id: Optional[str] = None
    attempt: int = 0
    source: Optional[str] = None
    url: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Stats:
    jobs: Dict[str, int] = field(default_factory=dict)
    queues: Dict[str, Dict[str, int]] = field(default_factory=dict)
    workers: int = 0
    counters: Dict[str, int] = field(default_factory=dict)
    tasks: Dict[str, Any] = field(default_factory=dict)
    uptime_ms: int = 0
    now_ms: int = 0
    version: Optional[str] = None
    raw: Dict[str, Any] = field(default_factory=dict, repr=False)


def build(cls, d):
    if hasattr(cls, "from_dict"):
        return cls.from_dict(d)
    return _build(cls, d)
