"""The studio's one application context: settings, data, run store, model pool and training queue.

    studio = Studio(Settings.from_env())
    job = studio.submit_training("lora", TrainConfig(steps=30), {"lora_r": 8}, owner=session_token)
    summaries = studio.summarize(["original", run_id], "Anna: Hi!\\nBen: Hello.")
    result = studio.evaluate(["original", run_id], limit=50)

The UI and the CLI both drive the engine through this object, and only through
it: they never reach its store, queue or pool. It holds all shared mutable state,
so nothing else needs a global. Importing it is cheap (torch loads when a Studio
is built), so the gradio-free handlers can name its types.
"""
from __future__ import annotations

import secrets
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from studio import quiet_libraries
from studio.config.declare import check
from studio.config.settings import (
    MAX_DIALOGUE_CHARS,
    ORIGINAL,
    PRECISIONS,
    EvaluationSettings,
    GenerationSettings,
    Settings,
    TrainConfig,
    presets_for,
)
from studio.data.dialogsum import DialogData, normalize_dialogue, resolve_data
from studio.measure.evaluation import EvaluationResult, evaluate_models, rouge_table
from studio.model.base_model import ModelUnavailable, resolve_base_model
from studio.model.methods import registry
from studio.model.network import is_offline
from studio.service.experiment import Experiments, ExperimentStatus
from studio.service.fairshare import FairGate, current_turn
from studio.service.jobs import Job, JobQueue, JobStatus, QueueFull
from studio.service.limits import check_generation_cost, check_run_time, check_step_cap
from studio.service.owner_tokens import OwnerTokens, owner_hash
from studio.service.people import Caller, SessionPeople
from studio.service.saved_runs import push_saved_run
from studio.service.workers import Workers
from studio.store.checkpoints import orphaned_checkpoints, remove_checkpoints, stop_from_checkpoint
from studio.store.processes import TRAINER_SCRATCH, remove_dead_scratch
from studio.store.queued_runs import QueuedRuns
from studio.store.records import RunRecord
from studio.store.runs import RunNotFound, RunStore, clean_name
from studio.train.trackers import require_tracker

# The job owner of the runs STUDIO_PREPARE trains: no browser session holds it, so none may delete them.
PREPARE_OWNER = "studio-prepare"
# Errors whose message is meant for the person who caused them; anything else is a bug.
USER_ERRORS = (ValueError, PermissionError, RunNotFound, QueueFull, ModelUnavailable, TimeoutError)


def require_allowed_base(settings: Settings) -> None:
    """Only base models on the operator's allow-list (STUDIO_ALLOWED_MODELS) may load at all.

    A base model is code and weights from somewhere else; whoever runs the app decides
    which ones, and a flag or a request cannot widen that.
    """
    allowed = settings.allowed_base_models
    if allowed and not any(_same_model(settings.base_model, entry) for entry in allowed):
        raise ModelUnavailable(f"The base model {settings.base_model!r} is not on this studio's allow-list "
                               f"(STUDIO_ALLOWED_MODELS: {', '.join(allowed)}).")


def _same_model(name: str, entry: str) -> bool:
    if name == entry:
        return True
    first, second = Path(name).expanduser(), Path(entry).expanduser()
    return first.is_dir() and second.is_dir() and first.resolve() == second.resolve()


@dataclass
class Summary:
    model: str
    label: str
    text: str
    seconds: float


# Runs that may take turns (pause at a checkpoint, resume later): reported nowhere, or to TensorBoard.
SLICEABLE_REPORTING = ("none", "tensorboard")


class Studio:
    def __init__(self, settings: Settings, data: DialogData | None = None):
        import torch

        from studio.generate.inference import ModelPool
        from studio.model.hardware import inference_dtype

        quiet_libraries()
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        self.settings = settings
        self._started_with = settings   # a switch back to the base the studio started on always works
        require_allowed_base(settings)
        self.offline = is_offline(settings)
        self.notices: list[str] = []
        self.base = resolve_base_model(settings)
        # A base switch and a training's submission never interleave: a training asked for on one base
        # is queued before a switch or refused after it, never queued in between.
        self._base_lock = threading.Lock()
        self._shapes_by_base_path: dict = {}   # T5 shapes read from base configs (_base_shape)
        if self.base.notice:
            self.notices.append(self.base.notice)
        if data is None:
            data, notice = resolve_data(settings.data, settings.data_explicit, self.offline)
            if notice:
                self.notices.append(notice)
        self.data = data
        self.store = RunStore(settings.runs_dir)
        self.interrupted = self.store.sweep()
        remove_dead_scratch(Path(tempfile.gettempdir()), TRAINER_SCRATCH)  # Trainer folders of killed processes
        if self.store.problems:
            self.notices.append(f"{len(self.store.problems)} run file(s) could not be read and are left out: "
                                + "; ".join(f"{p['run_id']}/{p['file']}" for p in self.store.problems[:5]))
        self.pool = ModelPool(self.base, self.store, dtype=inference_dtype(settings.precision),
                              turn_of=current_turn)
        # Where trainings run (STUDIO_TRAINING_WORKERS, STUDIO_RAY_ADDRESS): one in this process by default.
        ray = None
        if settings.ray_address:
            from studio.service.ray_worker import RayWorkers

            ray = RayWorkers(settings.ray_address)
        self.workers = Workers.for_settings(settings, base_shape=self._base_shape, ray=ray)
        # Turns within long runs (STUDIO_SLICE_SECONDS / _STEPS): a run others wait behind pauses at a
        # checkpoint and goes back in line. Checkpoints no run can resume (its studio was killed) go now.
        for run_id in orphaned_checkpoints(self.store):
            remove_checkpoints(self.store, run_id)
        # Trainings a stopped studio left waiting in its queue become records their owners see, not silence.
        self.queued = QueuedRuns(self.store)
        self.never_started = self.queued.settle()
        self.jobs = JobQueue(self._run_job, workers=self.workers.count,
                             placer=self.workers if self.workers.kind != "thread" else None,
                             slice_seconds=settings.slice_seconds, slice_steps=settings.slice_steps,
                             end_paused=self._end_paused_job)
        # Web requests that generate take turns per person through this gate (the UI holds the turn);
        # the address has only the room's coarse cap.
        self.generation_gate = FairGate(settings.max_generations_per_client, what="summaries or evaluations",
                                        per_address=settings.people_per_address)
        self.people = SessionPeople()   # which owner token each browser session holds; presenter pages
        self.tokens = OwnerTokens.for_settings(settings)
        self.experiments = Experiments(self)
        self._metrics_lock = threading.Lock()
        self._shares: dict | None = None

    # ------------------------------------------------------------------ runs
    def run_label(self, run: str | RunRecord, *, method: bool = True, details: bool = False,
                  width: int | None = None, name: str | None = None) -> str:
        """How a run reads everywhere: "LoRA: my run"; "Original" for the base model.

        method=False drops the method; details=True adds steps, ROUGE-L and an unusual status
        ("my run (30 steps, ROUGE-L 31.2, stopped early)"); width cuts the name; `name` replaces
        it (a shorter form where room is short).
        """
        if run == ORIGINAL:
            return "Original"
        record = run if isinstance(run, RunRecord) else self.store.get(run)  # anything else: 'not a valid run id'
        name = name or record.name or record.run_id
        label = name[:width] if width else name
        if details:
            bits = [f"{record.steps} steps"] if record.steps else []
            if record.rouge_l is not None:
                bits.append(f"ROUGE-L {100 * record.rouge_l:.1f}")
            if record.status == "stopped":
                bits.append("stopped early")
            elif record.status != "completed":
                bits.append(record.status)
            label = f"{label} ({', '.join(bits)})" if bits else label
        if method:
            label = f"{registry.label(record.method)}: {label}"
        return label

    def runs(self, method: str | None = None) -> list[RunRecord]:
        """Every run record on disk, newest first."""
        return self.store.list(method=method)

    def loadable_runs(self, method: str | None = None) -> list[RunRecord]:
        """Runs with a saved model to summarize with, newest first."""
        return self.store.list(method=method, loadable_only=True)

    def run(self, run_id: str) -> RunRecord:
        """One run's record (RunNotFound if there is none)."""
        return self.store.get(run_id)

    def loadable_run(self, run_id: str) -> RunRecord:
        """One run's record, if it has a model to summarize with (else RunNotFound)."""
        return self.store.require_loadable(run_id)

    def run_events(self, run_id: str) -> list[dict]:
        """The run's event log: parameter counts, status notes and one entry per logged step."""
        return self.store.events(run_id)

    def run_dir(self, run_id: str) -> Path:
        return self.store.path(run_id)

    def zip_run(self, run_id: str, folder: Path) -> Path:
        """The run's folder (model, run.json, loss curve) as a zip inside `folder`."""
        record = self.store.get(run_id)
        if not self.store.model_dir(run_id).is_dir():
            raise ValueError(f"Run {self.run_label(record, method=False)} has no saved model "
                             f"(status: {record.status}).")
        target = Path(tempfile.mkdtemp(prefix="zip-", dir=folder))
        return self.store.export_zip(run_id, target)  # without the server's paths, host name or pid

    def _require_owner(self, run_id: str, owner: str | None, action: str) -> RunRecord:
        """A UI session (owner given) may change only runs it started; the CLI (None) any."""
        record = self.store.get(run_id)
        if owner is not None and (not owner or record.owner_hash != owner_hash(owner)):
            raise PermissionError(f"Only the session that trained this run can {action} it.")
        return record

    def rename_run(self, run_id: str, name: str, owner: str | None) -> RunRecord:
        self._require_owner(run_id, owner, "rename")
        return self.store.rename(run_id, name)

    def delete_run(self, run_id: str, owner: str | None) -> None:
        self._require_owner(run_id, owner, "delete")
        self.store.delete(run_id)
        self.pool.forget(run_id)

    # ------------------------------------------------------------------ the Hub (hub.py)
    @property
    def can_push(self) -> bool:
        """Pushing is offered only where the operator configured a token (HF_TOKEN); the token stays in hub.py."""
        return self.settings.hub_token_configured

    def push_run(self, run_id: str, repo_id: str, private: bool = False, dry_run: bool = False,
                 folder: Path | None = None, client_factory=None, owner: str | None = None) -> dict:
        """Upload a finished run as a model repo (dry_run: only write the folder that would go).

        A UI session (owner given) may push only its own runs: the upload uses the operator's token.
        """
        if owner is not None:
            if not self.can_push:
                raise PermissionError("Pushing to the Hub is not set up here (the operator sets HF_TOKEN).")
            self._require_owner(run_id, owner, "push")
        return push_saved_run(self.settings, run_id, repo_id, private, dry_run, folder, client_factory)

    def pull_run(self, source: str, client_factory=None, owner: str | None = None) -> RunRecord:
        """Import a pushed run or a PEFT adapter folder for this base model; returns the new run's record.

        A UI session (owner given) owns what it imports, as it owns what it trains; the CLI's imports
        belong to no session."""
        from studio.model.hub import default_client_factory, pull

        return pull(source, self.store, self.base, client_factory=client_factory or default_client_factory,
                    owner_hash=owner_hash(owner) if owner else "")

    def pulled_sources(self) -> set[str]:
        """Where the runs in the store were pulled from (so a preload does not import them twice)."""
        return {r.pulled_from for r in self.store.list() if r.pulled_from}

    # ------------------------------------------------------------------ demo-ready at start
    def prepare_in_background(self, train: TrainConfig | None = None, client_factory=None):
        """Pull STUDIO_PRELOAD_RUNS, then (STUDIO_PREPARE) train each method that has no completed run.

        Runs in a thread so the app serves at once; preparation_status() says how far it got.
        Returns the thread, or None when there is nothing to do.
        """
        if not (self.settings.preload_runs or self.settings.prepare):
            return None
        self._preparing = {"running": True, "lines": []}
        thread = threading.Thread(target=self._prepare, args=(train or TrainConfig(), client_factory),
                                  name="studio-prepare", daemon=True)
        thread.start()
        return thread

    def preparation_status(self) -> dict:
        """{"running": bool, "lines": ["me/a: imported as ...", "lora: training ...", ...]}; empty if none."""
        state = getattr(self, "_preparing", None)
        return {"running": state["running"], "lines": list(state["lines"])} if state else \
            {"running": False, "lines": []}

    def _prepare(self, train: TrainConfig, client_factory) -> None:
        lines = self._preparing["lines"]
        try:
            pulled = self.pulled_sources()
            for repo in self.settings.preload_runs:
                if repo in pulled:
                    lines.append(f"{repo}: already here")
                    continue
                lines.append(f"{repo}: importing …")
                try:
                    record = self.pull_run(repo, client_factory=client_factory)
                    lines[-1] = f"{repo}: imported as {self.run_label(record)}"
                except (*USER_ERRORS, OSError) as exc:  # one bad name must not stop the others
                    lines[-1] = f"{repo}: not imported ({exc})"
            if self.settings.prepare:
                for method, kept in self.preparation_plan():
                    if kept is not None:
                        continue
                    lines.append(f"{registry.label(method)}: training {train.steps} steps …")
                    job = self.start_preparation(method, train)
                    self.wait_job(job.job_id)
                    lines[-1] = f"{registry.label(method)}: {job.status}" + (f" ({job.error})" if job.error
                                                                                 else "")
        except Exception as exc:  # noqa: BLE001 - the app keeps serving; the header says what stopped
            lines.append(f"Preparation stopped: {type(exc).__name__}: {exc}")
        finally:
            self._preparing["running"] = False

    # What `prepare` means, for STUDIO_PREPARE above and `python -m studio prepare` alike: which methods
    # get a run, which run is kept, and how a prepared run is trained and named.
    def preparation_plan(self, force: bool = False):
        """(method, kept) for each method in turn: `kept` is the completed run that stays, None where one is trained.

        A generator: each method is looked at when the caller's loop reaches it, after the training before it
        has ended, so a run completed meanwhile is kept. `force` trains every method anew.
        """
        for method in registry.DEFAULT_NAMES:
            completed = [r for r in self.loadable_runs(method) if r.status == "completed"]
            yield method, completed[0] if completed and not force else None

    def start_preparation(self, method: str, train: TrainConfig, owner: str = PREPARE_OWNER) -> JobStatus:
        """Queue a prepared run: the method's default settings on `train`'s budget, one at a time per owner."""
        return self.submit_training(method, train, owner=owner, name=f"{method} (prepared)", max_active=1)

    # ------------------------------------------------------------------ base models (the operator's allow-list)
    def base_choices(self) -> list[str]:
        """The base models this studio may switch between (STUDIO_ALLOWED_MODELS), the loaded one first."""
        current = self.settings.base_model
        return [current] + [m for m in self.settings.allowed_base_models if not _same_model(m, current)]

    def switch_base(self, name: str) -> str:
        """Load another allowed base model instead of the current one, freeing the old one's models.

        One base model at a time: summaries, evaluations and trainings use the new one from now
        on. Refused while any training is queued or running (it was asked for on the old one).
        """
        if not isinstance(name, str) or not any(_same_model(name, m) for m in self.settings.allowed_base_models):
            raise ValueError(f"{str(name)[:100]!r} is not on this studio's list of base models "
                             f"({', '.join(self.settings.allowed_base_models)}).")
        with self._base_lock:   # one switch at a time, and no training queued halfway through one
            return self._switch_base(name)

    def _switch_base(self, name: str) -> str:
        if _same_model(name, self.settings.base_model):
            return f"{self.base.name} is already loaded."
        if self.jobs.active():
            raise ValueError("A training is queued or running on the current base model; switch when it ends.")
        import dataclasses
        import gc

        from studio.generate.inference import ModelPool
        from studio.model.hardware import inference_dtype

        if _same_model(name, self._started_with.base_model):
            # Back to the start: the same settings that loaded it then (offline, that may be the stand-in).
            settings = dataclasses.replace(self.settings, base_model=self._started_with.base_model,
                                           base_model_explicit=self._started_with.base_model_explicit)
        else:
            settings = dataclasses.replace(self.settings, base_model=name, base_model_explicit=True)
        base = resolve_base_model(settings)  # raises ModelUnavailable (nothing changed) if it cannot load
        old = self.pool
        self.pool = ModelPool(base, self.store, dtype=inference_dtype(settings.precision),
                              turn_of=current_turn)
        self.settings, self.base = settings, base
        del old  # the pool held the only references to the old base and its adapters
        gc.collect()
        return f"Loaded {base.name}; the previous base model is freed once nothing uses it."

    def memory_estimate(self, method: str, batch_size: int) -> dict:
        """studio.model.memory's estimate of training `method` on the loaded base model ("needs about N GB")."""
        from studio.model.memory import training_memory

        registry.get(method)   # an unknown name is refused, the known ones listed
        return training_memory(self._base_shape(), method, batch_size=check(TrainConfig, "batch_size", batch_size))

    def _base_shape(self):
        """The loaded base model's T5 shape: known for FLAN-T5, else read from its config once per base.

        Asked on every change of the Train form (memory line, presets), so the config is not read
        again each time (online, for a model on the Hub, each read could be a network request).
        """
        from transformers import AutoConfig

        from studio.model.memory import FLAN_T5_SHAPES, T5Shape

        shape = FLAN_T5_SHAPES.get(self.base.name)
        if shape is None:
            if self.base.path not in self._shapes_by_base_path:
                config = AutoConfig.from_pretrained(self.base.path, local_files_only=self.offline)
                self._shapes_by_base_path[self.base.path] = T5Shape.from_config(config)
            shape = self._shapes_by_base_path[self.base.path]
        return shape

    def presets(self) -> dict[str, dict]:
        """The Train tab's presets fitted to the loaded base model (config.presets_for)."""
        from studio.model.memory import t5_parameter_count

        return presets_for(t5_parameter_count(self._base_shape()))

    # ------------------------------------------------------------------ training
    def make_spec(self, method: str, train: TrainConfig, overrides: dict | None = None, name: str = "",
                  precision: str = "auto"):
        from studio.train.training import TrainSpec

        settings = registry.method_settings(method, overrides)   # an unknown method is refused here
        if precision not in PRECISIONS:
            raise ValueError("Precision must be auto, fp32 or bf16.")
        train.validate()
        require_tracker(train.report_to)   # a missing package is said now, not found mid-run
        return TrainSpec(method, train, settings, name=clean_name(name or ""),
                         precision=precision)

    def submit_training(self, method: str, train: TrainConfig, overrides: dict | None = None, owner: str = "",
                        name: str = "", precision: str = "auto", max_active: int | None = None,
                        client: str | Caller | None = None, experiment: dict | None = None) -> JobStatus:
        """Queue a training; `max_active` caps this owner's queued-or-running jobs (default: the queue's).
        Returns the job as the UI and CLI see it (a JobStatus: its state, no way to stop or wait on it).

        `client` is who asks: a Caller (a person and an address; the UI passes it) or a plain
        person key. The operator's limits cap the person's trainings and, coarsely, the address's.
        With STUDIO_REQUIRE_LOGIN only a signed-in person may train.

        `experiment` ({"id", "budget", "methods"}) marks the run as part of a fair experiment."""
        base = self.base   # what the person saw when they asked
        if precision == "auto":
            precision = self.settings.precision
        spec = self.make_spec(method, train, overrides, name, precision)
        check_step_cap(self.settings, self.training_plan(train)["steps"])  # STUDIO_MAX_STEPS_PER_RUN
        check_run_time(self.settings, self.run_time_estimate(method, train), self.device)  # STUDIO_MAX_RUN_SECONDS
        caller = client if isinstance(client, Caller) else None
        if self.settings.require_login and caller is not None and not caller.signed_in:
            raise PermissionError("This studio asks you to sign in with Hugging Face before you train "
                                  "(the Sign in button at the top of the page).")
        spec.owner_hash = owner_hash(owner)  # written with the run's first record
        spec.experiment = experiment
        with self._base_lock:
            if self.base is not base:
                raise ValueError(f"The base model was switched to {self.base.name} while this training was "
                                 "being asked for; nothing was queued. Check the settings and start it again.")
            job = self.jobs.submit(spec, owner, limit=max_active, client=caller.person if caller else client,
                                   client_limit=self.settings.max_trainings_per_client,
                                   address=caller.address if caller else None,
                                   address_limit=self.settings.people_per_address)
            if job.status == "queued":   # kept on disk until its run exists, so a restart cannot lose it
                self.queued.remember(job.run_id, self._queued_record(spec))
        return self.jobs.view(job)

    def _queued_record(self, spec) -> dict:
        """What a queued training will say about itself: its first record, before any device is chosen."""
        from studio.train.training import initial_record

        record = initial_record(spec, spec.train, self.base, self.data, device="", bf16=False)
        record.pop("device", None)
        record["hyperparameters"].pop("precision", None)   # decided when it starts
        return record

    # ------------------------------------------------------------------ sharing fairly
    def issue_owner_token(self) -> str:
        """A fresh token this studio signed: it lets a session stop, rename and delete what it started."""
        return self.tokens.issue()

    def adopt_owner_token(self, saved) -> str:
        """`saved` if this studio signed it, else a fresh token (a forged or pre-signature one included)."""
        return saved if self.tokens.valid(saved) else self.tokens.issue()

    def generation_turn(self, client: str | Caller):
        """Context manager: wait for the person's turn to generate; QueueFull at once beyond a share.

        `client`: a Caller (person and address), or a plain person key (the CLI, tests)."""
        if isinstance(client, Caller):
            return self.generation_gate.turn(client.person, address=client.address)
        return self.generation_gate.turn(client)

    def job(self, job_id: str | None) -> JobStatus | None:
        """A job's state, read-only (None for an unknown id)."""
        return self.jobs.view(self.jobs.get(job_id)) if job_id else None

    def jobs_of(self, owner: str) -> list[JobStatus]:
        return [self.jobs.view(job) for job in self.jobs.jobs_of(owner)]

    def running_job(self) -> JobStatus | None:
        return self.jobs.view(self.jobs.running())

    def stop_job(self, job_id: str, owner: str) -> bool:
        """Ask a job to stop; False when `owner` did not start it."""
        stopped = self.jobs.stop(job_id, owner)
        job = self.jobs.get(job_id)
        if stopped and job is not None and job.ended and job.turns == 0:   # cancelled while it waited
            self.queued.forget(job.run_id)
        return stopped

    def wait_job(self, job_id: str, timeout: float | None = None) -> JobStatus:
        """Block until the job has ended; TimeoutError after `timeout` seconds."""
        return self.jobs.view(self.jobs.wait(job_id, timeout))

    def wait_for_job_news(self, job_id: str, seen: int, timeout: float | None = None) -> bool:
        """Block until the job has more than `seen` events or has ended (False on timeout): no polling."""
        return self.jobs.get(job_id).wait_for_news(seen, timeout)

    def _run_job(self, spec, listener, stop_event, run_id, placement=None, pause_event=None, resume=None) -> dict:
        from studio.train.training import train_run

        try:
            if placement is not None:   # a worker process or a Ray task (studio/service/workers.py)
                return self.workers.run(placement, spec, self.store, self.base, self.data, listener, stop_event,
                                        run_id)
            if spec.train.report_to not in SLICEABLE_REPORTING:
                # MLflow, W&B and Trackio end their run when training ends: each turn would be a run of
                # its own there. Such a run trains to its end (TensorBoard appends to one folder).
                pause_event = None
            return train_run(spec, self.store, self.base, self.data, listener, stop_event, run_id,
                             pause_event=pause_event, resume=resume)
        finally:
            self.queued.forget(run_id)   # its run exists now (or its failure is recorded): no promise left

    def _end_paused_job(self, job: Job) -> RunRecord:
        """Stop pressed while a run waits for its next turn: it ends now, with the model of its last step."""
        step = (job.resume or {}).get("step")
        try:
            record = stop_from_checkpoint(self.store, job.run_id, job.resume or {})
        except Exception as exc:  # noqa: BLE001 - a full disk while copying the model: a true final record
            remove_checkpoints(self.store, job.run_id)
            record = self.store.finish(job.run_id, "failed", paused=None,
                                       error=f"Stopped while paused at step {step}, but its model could not be "
                                             f"saved: {type(exc).__name__}: {exc}")
        message = (f"Stopped while waiting for its next turn; the model at step {step} is saved."
                   if record.status == "stopped" else record.error or "It could not be saved.")
        with job.changed:
            job.events.append({"type": "status", "status": record.status, "message": message})
            job.changed.notify_all()
        return record

    # ------------------------------------------------------------------ what a participant sees
    # (the shared queue, whose runs are whose, what a budget means, the methods' shares)
    def owns(self, run: str | RunRecord, owner: str | None) -> bool:
        """True when the session with token `owner` trained this run."""
        record = run if isinstance(run, RunRecord) else self.store.get(run)  # anything else: 'not a valid run id'
        return bool(owner) and record.owner_hash == owner_hash(owner)

    def queue_status(self) -> dict:
        """The shared worker now: the running job's method and progress (not whose), and how many wait."""
        running = self.jobs.running()
        now = None
        if running is not None:
            last = running.latest("step") or {}
            now = {"method": running.spec.method, "step": last.get("step", 0),
                   "max_steps": last.get("max_steps") or running.spec.train.steps or 0,
                   "started_at": running.started_at}
        return {"running": now, "waiting": self.jobs.waiting_count()}

    def runs_stamp(self) -> tuple:
        """Changes whenever a run appears, is updated (renamed, finished) or goes: folder times only, cheap
        enough for every open page to poll (run.json is replaced atomically, which touches its folder)."""
        root = self.store.root
        try:
            folders = sorted((entry.name, entry.stat().st_mtime_ns) for entry in root.iterdir() if entry.is_dir())
        except OSError:
            return ()
        return tuple(folders)

    @property
    def device(self) -> str:
        from studio.model.hardware import pick_device

        return pick_device()

    def run_time_ceiling(self) -> float | None:
        """The seconds of training one run may take here (STUDIO_MAX_RUN_SECONDS or a Space's default)."""
        from studio.service.limits import run_ceiling_seconds

        return run_ceiling_seconds(self.settings, self.device)

    def run_time_estimate(self, method: str, train: TrainConfig) -> dict | None:
        """How long `train` would train `method` here, from the runs measured on this machine (limits.py)."""
        from studio.model.memory import t5_parameter_count
        from studio.service.limits import run_time_estimate

        try:
            total_params = t5_parameter_count(self._base_shape())
        except Exception:  # noqa: BLE001 - a base whose shape is unknown: measured runs only
            total_params = None
        steps = self.training_plan(train)["steps"]
        return run_time_estimate(self.store.list(), method, steps, train.batch_size, self.base.path, self.device,
                                 total_params)

    def training_plan(self, train: TrainConfig) -> dict:
        """What `train` means for this data: pairs available and used, epochs (as run.json's budget)."""
        from studio.train.training_plan import plan_training

        return plan_training(self.data.splits.get("train") or [], train)

    def method_shares(self) -> dict[str, tuple[int, int]]:
        """(trainable, total) parameters per method at its default settings, for the loaded base model.

        Counted from the base's config (memory.py's layer-by-layer count, which matches what
        training reports); empty when the base is not a gated T5 whose shape that count knows.
        """
        if self._shares is None:
            self._shares = self._count_shares()
        return self._shares

    def _count_shares(self) -> dict[str, tuple[int, int]]:
        from studio.model.memory import T5Shape, t5_parameter_count

        try:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(self.base.path)
        except Exception:  # noqa: BLE001 - no config to read: the help text then speaks of the default model
            return {}
        if getattr(config, "model_type", "") != "t5" or not getattr(config, "is_gated_act", False):
            return {}
        shape = T5Shape.from_config(config)
        base = t5_parameter_count(shape)
        shares = {}
        for method in registry.METHODS:
            trained = method.trainable_params(shape, method.settings_from())
            # An adapter adds its values to the base; a whole-model method trains the base's own.
            shares[method.name] = (trained, base if method.whole_model else base + trained)
        return shares

    # ------------------------------------------------------------------ experiments (studio/service/experiment.py)
    def start_experiment(self, methods, train: TrainConfig, owner: str, limit: int = EvaluationSettings.limit,
                         settings: GenerationSettings | None = None, overrides: dict | None = None,
                         progress=None, client: Caller | str | None = None, seeds: int = 1) -> ExperimentStatus:
        """Queue one training per method on one budget; wait and evaluate in the background.

        `client`: who asks (the UI passes a Caller), charged like any other training and generation.
        `seeds`: train each method once per seed (seed, seed + 1, ...), one round at a time."""
        return ExperimentStatus(self.experiments.start(methods, train, owner, limit, settings, overrides, progress,
                                                       client=client, seeds=seeds))

    def run_experiment(self, methods, train: TrainConfig, limit: int = EvaluationSettings.limit,
                       settings: GenerationSettings | None = None, overrides: dict | None = None,
                       progress=None, owner: str = "", seeds: int = 1) -> dict:
        """The same, in this thread: returns the result (runs, budget, scores, paired, verdict, seconds)."""
        owner = owner or "experiment-" + secrets.token_hex(8)  # the caller's own: nobody else can stop it
        return self.experiments.create(methods, train, owner, limit, settings, overrides, progress,
                                       seeds=seeds).run()

    def finish_experiment(self, experiment_id: str, owner: str, progress=None, client: Caller | str | None = None,
                          operator: bool = False, wait: bool = False):
        """An experiment a restart cut short: train what is missing, then evaluate (in the background,
        or in this thread with `wait`, returning the result). Its owner only, or the operator (the CLI)."""
        if wait:
            owner = owner or "experiment-" + secrets.token_hex(8)
            return self.experiments.finish(experiment_id, owner, progress, client, operator=operator).run()
        return ExperimentStatus(self.experiments.start_finish(experiment_id, owner, progress, client,
                                                              operator=operator))

    def experiment(self, experiment_id: str | None) -> ExperimentStatus | None:
        """Where an experiment stands, read-only (None for an unknown id)."""
        found = self.experiments.get(experiment_id)
        return ExperimentStatus(found) if found is not None else None

    def experiments_of(self, owner: str) -> list[ExperimentStatus]:
        return [ExperimentStatus(e) for e in self.experiments.of(owner)]

    def all_experiments(self) -> list[ExperimentStatus]:
        """Every experiment this studio knows, whoever started it (the operator's view: the CLI)."""
        return [ExperimentStatus(e) for e in self.experiments.all()]

    def wait_experiment(self, experiment_id: str, timeout: float | None = None) -> ExperimentStatus:
        """Block until the experiment has ended; TimeoutError after `timeout` seconds."""
        experiment = self.experiments.get(experiment_id)
        if experiment is None:
            raise ValueError(f"There is no experiment {str(experiment_id)[:80]!r}.")
        if not experiment.done.wait(timeout):
            raise TimeoutError(f"Experiment {experiment_id} still {experiment.status} after {timeout} s.")
        return ExperimentStatus(experiment)

    def stop_experiment(self, experiment_id: str, owner: str) -> bool:
        """Stop an experiment's trainings (and its evaluation); False when `owner` did not start it."""
        return self.experiments.stop(experiment_id, owner)

    # ------------------------------------------------------------------ ZeroGPU execution (zerogpu.py)
    @property
    def on_zerogpu(self) -> bool:
        return self.settings.execution == "zerogpu"

    def train_streaming(self, method: str, train: TrainConfig, overrides: dict | None = None, owner: str = "",
                        name: str = "", precision: str = "auto"):
        """Train inside the calling event (ZeroGPU): yields step events, then {"type": "done", "record"}.

        The run is on disk, complete, before the last yield; the budget check refuses, before
        anything is written, a run that cannot finish within one GPU call.
        """
        from studio.service.zerogpu import TrainRequest, check_training_gpu_seconds, train_on_gpu
        from studio.store.runs import new_run_id

        if not owner:
            raise ValueError("A training needs an owner token.")
        spec = self.make_spec(method, train, overrides, name, precision)  # the same checks as the queue's
        request = TrainRequest(method, spec.train, str(self.store.root), self.base, self.data,
                               overrides=dict(overrides or {}), name=spec.name,
                               precision=self.settings.precision if precision == "auto" else precision,
                               run_id=new_run_id(method), owner_hash=owner_hash(owner),
                               max_seconds=self.settings.zerogpu_max_seconds)
        check_step_cap(self.settings, self.training_plan(train)["steps"])  # the operator's
        check_training_gpu_seconds(request)
        yield from train_on_gpu(request)  # the run carries its owner from its first record on

    def _summarize_on_gpu(self, model_ids: list[str], dialogues: list[str], settings) -> dict:
        import time

        from studio.service.zerogpu import GenerateRequest, summarize_on_gpu

        started = time.perf_counter()
        out = summarize_on_gpu(GenerateRequest(model_ids, dialogues, str(self.store.root), self.base, settings,
                                               precision=self.settings.precision,
                                               max_seconds=self.settings.zerogpu_max_seconds))
        seconds = time.perf_counter() - started
        return {model_id: SimpleNamespace(summaries=summaries, seconds=seconds) for model_id, summaries in out.items()}

    def _evaluate_on_gpu(self, model_ids, limit, split, settings) -> EvaluationResult:
        from studio.service.zerogpu import EvaluateRequest, evaluate_on_gpu

        return evaluate_on_gpu(EvaluateRequest(model_ids, str(self.store.root), self.base, self.data, limit=limit,
                                               split=split, settings=settings, precision=self.settings.precision,
                                               max_seconds=self.settings.zerogpu_max_seconds))

    # ------------------------------------------------------------------ summarizing
    def summarize(self, model_ids: list[str], dialogue: str,
                  settings: GenerationSettings | None = None) -> list[Summary]:
        if not isinstance(dialogue, str):
            raise ValueError("The dialogue must be text.")
        if not dialogue.strip():
            raise ValueError("Paste a dialogue first: the box is empty.")
        if len(dialogue) > MAX_DIALOGUE_CHARS:
            raise ValueError(f"The dialogue has {len(dialogue):,} characters; the limit is {MAX_DIALOGUE_CHARS:,}.")
        check_generation_cost(self.settings, settings or GenerationSettings(), len(dialogue))
        normalized = normalize_dialogue(dialogue)
        for model_id in model_ids:
            if model_id != ORIGINAL:
                self.store.require_loadable(model_id)
        results = (self._summarize_on_gpu(model_ids, [normalized.text], settings) if self.on_zerogpu
                   else self.pool.summarize(model_ids, [normalized.text], settings))
        return [Summary(model_id, self.run_label(model_id), normalized.restore_names(results[model_id].summaries[0]),
                        results[model_id].seconds) for model_id in model_ids]

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, model_ids: list[str], limit: int = EvaluationSettings.limit, split: str = "test",
                 settings: GenerationSettings | None = None, progress=None, remember: bool = True) -> EvaluationResult:
        """Score `model_ids`; `remember`: keep each run's ROUGE in its record (not from a presenter's page)."""
        limit = check(EvaluationSettings, "limit", limit)
        model_ids = list(dict.fromkeys(model_ids))  # a model chosen twice is scored once
        for model_id in model_ids:
            if model_id != ORIGINAL:
                self.store.require_loadable(model_id)
        labels = {model_id: self.run_label(model_id) for model_id in model_ids}
        if self.on_zerogpu:
            result = self._evaluate_on_gpu(model_ids, limit, split, settings)
            result.labels = labels
        else:
            result = evaluate_models(self.pool, self.data, model_ids, split=split, limit=limit, settings=settings,
                                     labels=labels, progress=progress)
        if remember:
            self._remember_metrics(result, split)
        return result

    def _remember_metrics(self, result: EvaluationResult, split: str) -> None:
        """Keep each run's ROUGE in its run.json, for the Runs tab, Compare's pickers and the size chart.

        Anyone may evaluate anyone's runs, so a quick look must not replace a fuller score: the latest
        evaluation is kept unless the one already kept (same split) scored more dialogues (a participant's
        4-dialogue check once replaced an experiment's 50-dialogue ROUGE-L in every list)."""
        with self._metrics_lock:
            for model_id in result.models:
                if model_id == ORIGINAL:
                    continue
                metrics = {m: round(v["mean"], 5) for m, v in result.scores[model_id].items()}
                metrics.update(split=split, examples=result.examples)
                try:
                    kept = self.store.get(model_id).metrics
                    if kept is not None and kept.split == split and (kept.examples or 0) > result.examples:
                        continue
                    self.store.update(model_id, metrics=metrics)
                except RunNotFound:
                    pass  # deleted while we evaluated

    # ------------------------------------------------------------------ insight views (what tuning changed)
    @staticmethod
    def overlap(summary: str, references: list[str]) -> dict:
        """Which summary words ROUGE counted against its best reference (studio.overlap.overlap)."""
        from studio.measure.overlap import overlap

        return overlap(summary, references)

    @staticmethod
    def copied_words(summary: str, dialogue: str) -> dict:
        """Which summary words come from the dialogue, and the share of new ones."""
        from studio.measure.overlap import copied_words

        return copied_words(summary, dialogue)

    def prompt_readout(self, run_id: str, top_k: int = 5) -> dict:
        """A prompt-tuning run's virtual tokens and their nearest vocabulary tokens (cosine)."""
        from studio.measure.prompt_readout import _check_top_k, readout_run

        _check_top_k(top_k)  # before the base model loads
        record = self.store.require_loadable(run_id)
        method = registry.find(record.method)
        if method is None or not method.soft_prompt:
            # By its id, with its name: a name is free text and may even be another run's id.
            named = f" ({record.name})" if record.name and record.name != record.run_id else ""
            raise ValueError(f"Run {record.run_id}{named} is a {registry.label(record.method)} run; only "
                             "prompt-tuning runs have virtual tokens to read.")
        base = self.pool.base()
        return readout_run(self.store, run_id, base, self.pool.tokenizer, top_k)

    def weight_change(self, run_id: str, matrix: str | None = None) -> dict:
        """Where a run changed the base model: each matrix's relative change, one update's singular values.

        Read from the base's and the run's safetensors files, not from the model pool: the pool's
        base may be in bf16 and carries LoRA layers, and the numbers must be the saved weights'."""
        from studio.measure.weight_change import weight_change_run

        return weight_change_run(self.store, run_id, self.base, matrix, offline=self.offline)

    def weight_singular_values(self, run_id: str, matrix: str) -> dict:
        """The singular values of one matrix's update in a full or LoRA run (weight_change's, alone)."""
        from studio.measure.weight_change import singular_values_run

        return singular_values_run(self.store, run_id, self.base, matrix, offline=self.offline)

    def forgetting(self, model_ids: list[str], progress=None) -> dict:
        """The forgetting probe's scores for 'original' and/or runs, and each run's change from the original."""
        from studio.measure.forgetting import pool_generator, run_probe

        if not isinstance(model_ids, (list, tuple)) or not all(isinstance(m, str) for m in model_ids):
            raise ValueError("The models must be a list of names: 'original' and run ids.")
        model_ids = list(dict.fromkeys(model_ids))
        for model_id in model_ids:
            if model_id != ORIGINAL:
                self.store.require_loadable(model_id)
        return run_probe(pool_generator(self.pool), model_ids, progress=progress)

    @staticmethod
    def per_topic(result: EvaluationResult, min_examples: int | None = None) -> list[dict]:
        """An evaluation's ROUGE per topic group, with counts, intervals and a too-few flag."""
        from studio.measure.topics import DEFAULT_MIN_EXAMPLES, per_topic

        return per_topic(result, min_examples=min_examples or DEFAULT_MIN_EXAMPLES)

__all__ = ["ORIGINAL", "USER_ERRORS", "GenerationSettings", "Studio", "Summary", "owner_hash", "rouge_table"]
