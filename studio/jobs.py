"""The training queue: one background worker, one training at a time, first come first served.

    queue = JobQueue(run_fn)                 # run_fn(spec, listener, stop_event, run_id) -> record
    job = queue.submit(spec, owner="session-token")
    queue.get(job.job_id).status             # queued / running / completed / stopped / failed / interrupted
    queue.position(job.job_id)               # 1 = next to run
    queue.stop(job.job_id, owner="session-token")   # only the owner's token may stop it

Why one at a time: a 2-core machine gains nothing from two concurrent trainings,
and each would hold its own copy of the model. Training in a thread keeps the UI
and other users' Compare requests responsive.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from .runs import new_run_id

ACTIVE = ("queued", "running")
MAX_QUEUED_PER_OWNER = 2
MAX_QUEUE = 20
MAX_EVENTS_KEPT = 20_000


class QueueFull(RuntimeError):
    pass


@dataclass
class Job:
    job_id: str
    run_id: str
    owner: str
    spec: object
    status: str = "queued"
    submitted_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    events: list = field(default_factory=list)
    record: dict | None = None
    error: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def latest(self, kind: str = "step") -> dict | None:
        for event in reversed(self.events):
            if event.get("type") == kind:
                return event
        return None


class JobQueue:
    def __init__(self, run_fn):
        self._run_fn = run_fn
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[str] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._worker = threading.Thread(target=self._work, name="studio-training", daemon=True)
        self._worker.start()

    # ------------------------------------------------------------------ public
    def submit(self, spec, owner: str, limit: int | None = None) -> Job:
        """Queue a job; `limit` caps the owner's queued-or-running jobs (checked under the lock,
        so two presses of one button at the same moment cannot both get through)."""
        if not owner:
            raise ValueError("A job needs an owner token.")
        limit = MAX_QUEUED_PER_OWNER if limit is None else limit
        with self._lock:
            mine = sum(1 for j in self._jobs.values() if j.owner == owner and j.status in ACTIVE)
            if mine >= limit:
                raise QueueFull("You already have a training queued or running; wait for it to finish or stop it."
                                if mine == 1 else
                                f"You already have {mine} trainings queued or running; wait for one to finish.")
            if len(self._waiting) >= MAX_QUEUE:
                raise QueueFull("The training queue is full; try again in a few minutes.")
            job = Job(secrets.token_hex(8), new_run_id(spec.method), owner, spec)
            self._jobs[job.job_id] = job
            self._waiting.append(job.job_id)
            self._wake.notify()
        return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def position(self, job_id: str) -> int:
        """1-based place among waiting jobs; 0 once it runs or ended."""
        with self._lock:
            try:
                return self._waiting.index(job_id) + 1
            except ValueError:
                return 0

    def running(self) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.status == "running"), None)

    def waiting_count(self) -> int:
        """How many jobs wait behind the running one."""
        with self._lock:
            return len(self._waiting)
    def active(self) -> list[Job]:
        """Every queued or running job, whoever owns it."""
        with self._lock:
            return [j for j in self._jobs.values() if j.status in ACTIVE]

    def jobs_of(self, owner: str) -> list[Job]:
        return [j for j in self._jobs.values() if j.owner == owner]

    def stop(self, job_id: str, owner: str) -> bool:
        """Stop (or cancel, if still queued) a job; False when `owner` does not own it."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not secrets.compare_digest(job.owner, owner or ""):
                return False
            if job.status == "queued":
                self._waiting.remove(job_id)
                job.status, job.finished_at = "stopped", time.time()
                job.error = "Cancelled before it started."
            elif job.status == "running":
                job.stop_event.set()
            return True

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has ended (for the CLI and tests)."""
        deadline = None if timeout is None else time.time() + timeout
        job = self._jobs[job_id]
        while job.status in ACTIVE:
            if deadline is not None and time.time() > deadline:
                raise TimeoutError(f"Job {job_id} still {job.status} after {timeout} s.")
            time.sleep(0.05)
        return job

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._lock:
                while not self._waiting:
                    self._wake.wait()
                job = self._jobs[self._waiting.popleft()]
                job.status, job.started_at = "running", time.time()

            def listener(event, job=job):
                if len(job.events) < MAX_EVENTS_KEPT:
                    job.events.append(event)

            try:
                record = self._run_fn(job.spec, listener, job.stop_event, job.run_id)
                job.record = record
                job.status = record.get("status", "failed")
                job.error = record.get("error")
            except Exception as exc:  # the worker must survive any job
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            job.finished_at = time.time()
