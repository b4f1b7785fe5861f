"""The training queue: background workers (one by default), clients served in turn.

    queue = JobQueue(run_fn)                 # run_fn(spec, listener, stop_event, run_id) -> a TrainOutcome
    job = queue.submit(spec, owner="session-token", client="token:ab12", address="10.0.0.7")
    queue.get(job.job_id).status             # queued / running / completed / stopped / failed / interrupted
    queue.position(job.job_id)               # 1 = next to run
    queue.stop(job.job_id, owner="session-token")   # only the owner's token may stop it
    queue.wait(job.job_id, timeout=60)       # wakes when the job ends (an event, not a polling loop)

Why one at a time by default: a 2-core machine gains little from two concurrent trainings,
and each would hold its own copy of the model. Training in a thread keeps the UI
and other users' Compare requests responsive. With STUDIO_TRAINING_WORKERS=N, N threads
take jobs, and studio/service/workers.py places each (a GPU, a share of the cores, a Ray task)
as far as the memory estimate lets it fit next to the running ones.

Turns within a run: with `slice_seconds` (STUDIO_SLICE_SECONDS) or `slice_steps`, a run on the
in-process worker that has trained that long in this turn while others wait is asked to pause
(its `pause_event`): the Trainer checkpoints model, optimizer, scheduler and RNG states
(training.py, checkpoints.py) and the job goes back in line as "paused", behind the people
served less recently. Its next turn resumes from the checkpoint, step for step as if it had
never stopped. Stop while paused ends it at once from that checkpoint (`end_paused`), keeping
the model trained so far. Runs in worker processes or on Ray are not sliced: there, several
trainings run at once anyway.

Why in turn: one person opening many sessions could otherwise fill the queue. Each owner
token and each client (a person: studio/service/people.py) may hold only a few queued-or-running
jobs, an address (a whole room behind one NAT) only a room's worth, and the next job is
the waiting client's that was served least recently.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from studio.service.fairshare import QueueFull, RoundRobin
from studio.store.records import RunRecord
from studio.store.runs import new_run_id
from studio.train.outcome import NoRecord, PausedTurn, TrainOutcome

ACTIVE = ("queued", "running", "paused", "stopping")   # "paused": had a turn, back in line; "stopping": saving
MAX_QUEUED_PER_OWNER = 2
MAX_QUEUED_PER_CLIENT = 3      # one person, however many sessions they open
# Room for a workshop: thirty participants each waiting with a run, and a few more.
MAX_QUEUE = 64
MAX_EVENTS_KEPT = 20_000
# Ended jobs kept in memory (their status and curve for the pages and /job); older ones are let go, or a
# long-running Space would hold every job since it started. Their runs stay on disk.
MAX_ENDED_JOBS_KEPT = 300
_clock = time.monotonic   # the slices' clock (a test sets its own)

__all__ = ["ACTIVE", "Job", "JobQueue", "JobStatus", "QueueFull"]


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
    record: RunRecord | None = None   # the run's final record, once it has ended with one
    error: str | None = None
    stop_event: threading.Event = field(default_factory=threading.Event)
    client: str = ""               # who asked, for fair turns: a person (the UI passes it)
    address: str = ""              # where they asked from, for the room's coarse cap
    done: threading.Event = field(default_factory=threading.Event)   # set once the job has ended
    changed: threading.Condition = field(default_factory=threading.Condition)  # a new event, or the end
    resume: dict | None = None     # a paused run's checkpoint and state, for its next turn (training.py)
    turns: int = 0                 # turns it has had so far
    pause_event: threading.Event = field(default_factory=threading.Event)   # set: end this turn at the next step

    @property
    def ended(self) -> bool:
        return self.status not in ACTIVE

    def wait_for_news(self, seen: int, timeout: float | None = None) -> bool:
        """Block until the job has more than `seen` events or has ended; False on timeout."""
        with self.changed:
            return self.changed.wait_for(lambda: len(self.events) > seen or self.done.is_set(), timeout)

    def _end(self, outcome: TrainOutcome) -> None:
        """The job's final state, taken from its run's final record (or what ended it without one)."""
        self.record = outcome if isinstance(outcome, RunRecord) else None
        self.status, self.error = outcome.status, outcome.error
        self.finished_at = time.time()
        self._finish()

    def _finish(self) -> None:
        with self.changed:
            self.done.set()
            self.changed.notify_all()

    def latest(self, kind: str = "step") -> dict | None:
        for event in reversed(self.events):
            if event.get("type") == kind:
                return event
        return None


class JobStatus:
    """What the UI and the CLI see of a job: its state, read-only, never the machinery.

    The worker keeps appending to a Job's events and changing its status; a view reads them
    as they are when asked (its `events` is a copy taken then), and offers no way to stop,
    pause or wait on the job: the Studio does that, checking who asks."""

    __slots__ = ("_job", "_position")

    def __init__(self, job: Job, position):
        self._job = job
        self._position = position     # job_id -> 1-based place in line (the queue's), 0 once it runs

    job_id = property(lambda self: self._job.job_id)
    run_id = property(lambda self: self._job.run_id)
    spec = property(lambda self: self._job.spec, doc="the training asked for: method, budget, settings, name")
    status = property(lambda self: self._job.status)
    record = property(lambda self: self._job.record)
    error = property(lambda self: self._job.error)
    submitted_at = property(lambda self: self._job.submitted_at)
    started_at = property(lambda self: self._job.started_at)
    finished_at = property(lambda self: self._job.finished_at)
    turns = property(lambda self: self._job.turns)
    ended = property(lambda self: self._job.ended)
    method = property(lambda self: self._job.spec.method)

    @property
    def events(self) -> tuple:
        """The loss points and notes so far (a copy: the worker appends while we read)."""
        return tuple(self._job.events)

    @property
    def stop_requested(self) -> bool:
        return self._job.stop_event.is_set()

    @property
    def paused_at_step(self) -> int | None:
        """Where a paused run goes on from (its last checkpoint), else None."""
        return (self._job.resume or {}).get("step")

    @property
    def queue_position(self) -> int:
        """1 for the next job to run, 2 behind it, ...; 0 once it runs or has ended."""
        return self._position(self._job.job_id)

    def latest(self, kind: str = "step") -> dict | None:
        return self._job.latest(kind)

    def __repr__(self) -> str:
        return f"JobStatus({self.job_id!r}, {self.status!r})"


class JobQueue:
    def __init__(self, run_fn, workers: int = 1, placer=None, slice_seconds: float = 0.0, slice_steps: int = 0,
                 end_paused=None):
        """`workers`: how many jobs may run at once (STUDIO_TRAINING_WORKERS). `placer` (studio/service/workers.py)
        decides where the next job runs or that it waits (it does not fit next to the running ones):
        place(spec) -> placement or None, release(placement); run_fn then also gets placement=.
        `slice_seconds` / `slice_steps` (0: off): a turn's length while others wait; run_fn then gets
        pause_event= and, on a later turn, resume=. `end_paused(job) -> record` ends a paused job
        that is stopped (needed whenever turns are on)."""
        self._run_fn = run_fn
        self._placer = placer
        self._slice_seconds = float(slice_seconds or 0.0)
        self._slice_steps = int(slice_steps or 0)
        self._end_paused = end_paused
        self._jobs: dict[str, Job] = {}
        self._waiting = RoundRobin()      # job ids, per client
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._workers = [threading.Thread(target=self._work, name=f"studio-training-{i}", daemon=True)
                         for i in range(max(1, workers))]
        for worker in self._workers:
            worker.start()

    # ------------------------------------------------------------------ public
    def submit(self, spec, owner: str, limit: int | None = None, client: str | None = None,
               client_limit: int | None = None, address: str | None = None,
               address_limit: int | None = None) -> Job:
        """Queue a job; `limit` caps the owner's queued-or-running jobs, `client_limit` those of the
        client (a person; default: the owner is its own client), `address_limit` those from one
        address. All are checked under the lock, so two presses of one button at the same moment
        cannot both get through."""
        if not owner:
            raise ValueError("A job needs an owner token.")
        limit = MAX_QUEUED_PER_OWNER if limit is None else limit
        client_limit = MAX_QUEUED_PER_CLIENT if client_limit is None else client_limit
        client = client or owner
        with self._lock:
            active = [j for j in self._jobs.values() if j.status in ACTIVE]
            mine = sum(1 for j in active if j.owner == owner)
            if mine >= limit:
                raise QueueFull("You already have a training queued or running; wait for it to finish or stop it."
                                if mine == 1 else
                                f"You already have {mine} trainings queued or running; wait for one to finish.")
            from_client = sum(1 for j in active if j.client == client)
            if from_client >= client_limit:
                raise QueueFull(f"You already have {from_client} trainings queued or running; this studio takes "
                                f"at most {client_limit} at a time from one person. Wait for one to finish.")
            from_address = sum(1 for j in active if address and j.address == address)
            if address_limit is not None and from_address >= address_limit:
                raise QueueFull(f"{from_address} trainings from your address are already queued or running; this "
                                f"studio takes at most {address_limit} at a time from one address (a room "
                                "shares one). Try again when one has finished.")
            if len(self._waiting) >= MAX_QUEUE:
                raise QueueFull("The training queue is full; try again in a few minutes.")
            job = Job(secrets.token_hex(8), new_run_id(spec.method), owner, spec, client=client,
                      address=address or "")
            self._jobs[job.job_id] = job
            self._waiting.push(client, job.job_id)
            self._let_go_of_old_ended_jobs()
            self._wake.notify()
        return job

    def _let_go_of_old_ended_jobs(self) -> None:
        """Keep the newest MAX_ENDED_JOBS_KEPT ended jobs; call with the lock held."""
        ended = [j for j in self._jobs.values() if j.ended]
        if len(ended) > MAX_ENDED_JOBS_KEPT:
            ended.sort(key=lambda j: j.finished_at or 0)
            for job in ended[:len(ended) - MAX_ENDED_JOBS_KEPT]:
                del self._jobs[job.job_id]

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def view(self, job: Job | None) -> JobStatus | None:
        """The job as the UI and CLI may see it."""
        return JobStatus(job, self.position) if job is not None else None

    def position(self, job_id: str) -> int:
        """1-based place among waiting jobs; 0 once it runs or ended."""
        with self._lock:
            return self._waiting.position(job_id)

    def running(self) -> Job | None:
        with self._lock:
            return next((j for j in self._jobs.values() if j.status == "running"), None)

    def running_jobs(self) -> list[Job]:
        """Every running job, earliest started first (several with more than one worker)."""
        with self._lock:
            return sorted((j for j in self._jobs.values() if j.status == "running"), key=lambda j: j.started_at)

    def waiting_count(self) -> int:
        """How many jobs wait behind the running one."""
        with self._lock:
            return len(self._waiting)
    def active(self) -> list[Job]:
        """Every queued or running job, whoever owns it."""
        with self._lock:
            return [j for j in self._jobs.values() if j.status in ACTIVE]

    def jobs_of(self, owner: str) -> list[Job]:
        with self._lock:   # submit() adds to the dict from other threads
            return [j for j in self._jobs.values() if j.owner == owner]

    def stop(self, job_id: str, owner: str) -> bool:
        """Stop (or cancel, if still queued) a job; False when `owner` does not own it."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or not secrets.compare_digest(job.owner, owner or ""):
                return False
            job.stop_event.set()
            if job.status == "queued":
                self._waiting.remove(job_id)
                job.status, job.finished_at = "stopped", time.time()
                job.error = "Cancelled before it started."
                job._finish()
                self._wake.notify_all()   # the job behind it may fit where this one did not
                return True
            if job.status != "paused":
                return True   # a running job stops at its next step
            self._waiting.remove(job_id)
            job.status = "stopping"
        # Outside the lock: saving the model at the pause copies files.
        self._end_paused_job(job)
        return True

    def _end_paused_job(self, job: Job) -> None:
        try:
            outcome = self._end_paused(job)
        except Exception as exc:  # noqa: BLE001 - the queue must survive a broken checkpoint
            outcome = NoRecord(f"{type(exc).__name__}: {exc}")
        job._end(outcome)

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has ended (for the CLI and tests); TimeoutError after `timeout` seconds."""
        job = self._jobs[job_id]
        if not job.done.wait(timeout):
            raise TimeoutError(f"Job {job_id} still {job.status} after {timeout} s.")
        return job

    # ------------------------------------------------------------------ worker
    def _work(self) -> None:
        while True:
            with self._lock:
                # The next job in fair order runs once it fits; those behind it wait too (no skipping).
                while not self._waiting or (placement := self._place(self._jobs[self._waiting.peek()])) is None:
                    self._wake.wait()
                job = self._jobs[self._waiting.pop()]
                job.status, job.turns = "running", job.turns + 1
                job.started_at = job.started_at or time.time()
            outcome = self._run_turn(job, placement)
            if isinstance(outcome, PausedTurn):
                self._requeue(job, outcome)
            else:
                job._end(outcome)
            self._release(placement)   # after the end is recorded: the next job starts after it, in every record

    def _run_turn(self, job: Job, placement) -> TrainOutcome:
        """One turn of `job`: to its end, or (sliced) until it pauses for those waiting."""
        # The slice is training time: the clock starts at the turn's first step, not while the model loads
        # (counting the loading, a run whose loading outlasts the slice would pause after every step).
        first_step_at, steps_this_turn = None, 0

        def listener(event):
            nonlocal steps_this_turn, first_step_at
            if len(job.events) < MAX_EVENTS_KEPT:
                with job.changed:
                    job.events.append(event)
                    job.changed.notify_all()
            if event.get("type") == "step" and sliced:
                now = _clock()
                first_step_at = first_step_at or now
                steps_this_turn += 1
                if self._turn_is_over(job, steps_this_turn, now - first_step_at):
                    job.pause_event.set()

        sliced = self._placer is None and bool(self._slice_seconds or self._slice_steps)
        extra = {"placement": placement} if self._placer else {}
        if sliced:
            job.pause_event = threading.Event()
            extra["pause_event"] = job.pause_event
            if job.resume:
                extra["resume"] = job.resume
        try:
            return self._run_fn(job.spec, listener, job.stop_event, job.run_id, **extra)
        except Exception as exc:  # noqa: BLE001 - the worker must survive any job
            return NoRecord(f"{type(exc).__name__}: {exc}")

    def _turn_is_over(self, job: Job, steps: int, seconds: float) -> bool:
        """The turn has lasted its slice and another person is waiting for the worker. The person's own
        waiting jobs (an experiment's next method) do not count: pausing for them only adds checkpoints."""
        long_enough = (self._slice_steps and steps >= self._slice_steps) or \
            (self._slice_seconds and seconds >= self._slice_seconds)
        if not long_enough:
            return False
        with self._lock:
            return self._waiting.others_waiting(job.client)

    def _requeue(self, job: Job, turn: PausedTurn) -> None:
        """A paused job goes back in line under its person, behind those served less recently."""
        with self._lock:
            job.resume = turn.paused
            # Decided under the lock: a Stop arriving after it sees "paused" and ends the job itself.
            stopping = job.stop_event.is_set()
            if stopping:   # Stop arrived as it paused: end it, do not requeue
                job.status = "stopping"
            else:
                job.status = "paused"
                self._waiting.push(job.client, job.job_id)
                self._wake.notify_all()
        if stopping:
            self._end_paused_job(job)

    def _place(self, job: Job):
        """Where `job` runs now (the placer's answer; None: it must wait). Without a placer it just runs."""
        return self._placer.place(job.spec) if self._placer else "here"

    def _release(self, placement) -> None:
        if self._placer:
            with self._lock:
                self._placer.release(placement)
                self._wake.notify_all()   # the next job may fit now
