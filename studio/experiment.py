"""A fair experiment: several methods trained on one budget, then scored with the original on the same dialogues.

    experiment = studio.start_experiment(["full", "lora", "prompt"], TrainConfig(steps=30), owner=token)
    experiment.stage            # {"stage": "training", "method": "lora", "index": 2, "of": 3, "step": 12, ...}
    studio.stop_experiment(experiment.experiment_id, token)   # stops every training of it, skips evaluation
    result = studio.run_experiment(["full", "lora"], TrainConfig(steps=30), limit=50)   # blocks; a dict

Fair means: the same steps, batch size, training subset and seed for every method; each
method keeps its own learning rate unless one is given for all. The trainings go through
the ordinary job queue (one at a time, like anyone else's), each run's record carries the
experiment's id and budget, and the evaluation scores the original and every finished run
on the same test dialogues, with every pairwise difference as a paired-bootstrap interval
in plain words. A training that fails is reported; what finished is still evaluated.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING

from .config import (
    METHOD_LABELS,
    METHODS,
    ORIGINAL,
    EvaluationSettings,
    GenerationSettings,
    TrainConfig,
)
from .declare import check
from .evaluation import pairwise_differences
from .jobs import ACTIVE, QueueFull

if TYPE_CHECKING:
    from .engine import Studio
    from .jobs import Job

log = logging.getLogger("studio.experiment")
# How often a waiting experiment reports the running training's step (the per-job wait wakes
# at once when the job ends; this only paces the progress lines in between).
PROGRESS_SECONDS = 1.0
BUDGET_FIELDS = ("steps", "epochs", "batch_size", "train_size", "seed", "learning_rate")
ENDED = ("completed", "stopped", "failed")


class ExperimentStopped(Exception):
    """Raised inside the evaluation's progress callback to end it when the experiment is stopped."""


def budget_of(train: TrainConfig) -> dict:
    """What every method of the experiment shares (learning_rate None: each method's own)."""
    return {name: getattr(train, name) for name in BUDGET_FIELDS}


def check_methods(methods) -> list[str]:
    if not isinstance(methods, (list, tuple)) or not methods:
        raise ValueError(f"Choose at least one method for the experiment: {', '.join(METHODS)}.")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"Unknown method {unknown[0]!r}: choose from {', '.join(METHODS)}.")
    return [m for m in METHODS if m in methods]  # one of each, in the usual order


class Experiment:
    """One experiment in progress or ended: its jobs, where it stands, and its result."""

    def __init__(self, studio: Studio, methods: list[str], train: TrainConfig, owner: str, limit: int,
                 generation: GenerationSettings | None, overrides: dict | None = None, progress=None,
                 client=None):
        self.studio = studio
        # Who asked (a Caller, person and address; None: the owner is its own person, as for the
        # CLI): its trainings count against that person's and address's caps like any other, and
        # its evaluation takes that person's turns at the generation gate.
        self.client = client
        self.experiment_id = "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        self.methods, self.train, self.owner = methods, train, owner
        self.limit, self.generation = limit, generation
        self.overrides = overrides or {}
        self.budget = budget_of(train)
        self.trainings: dict[str, Job] = {}
        self.status = "starting"                 # training / evaluating / completed / stopped / failed
        self.stage: dict = {"stage": "starting"}
        self.result: dict | None = None
        self.error: str | None = None
        self.failed: dict[str, str] = {}         # method -> why its training did not complete
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self._progress = progress

    # ------------------------------------------------------------------ public
    @property
    def ended(self) -> bool:
        return self.done.is_set()

    def run_ids(self) -> dict[str, str]:
        return {method: job.run_id for method, job in self.trainings.items()}

    def stop(self) -> None:
        """Stop every training of the experiment (queued ones are cancelled) and skip the evaluation."""
        self.stop_event.set()
        for job in self.trainings.values():
            self.studio.stop_job(job.job_id, self.owner)

    # ------------------------------------------------------------------ steps
    def submit(self) -> None:
        """Queue one training per method, all with the same budget; undo them all if one is refused."""
        mine = [j for j in self.studio.jobs_of(self.owner) if j.status in ACTIVE]
        if mine:
            raise QueueFull("You already have a training queued or running; wait for it to finish or stop it.")
        marker = {"id": self.experiment_id, "budget": self.budget, "methods": self.methods}
        try:
            for index, method in enumerate(self.methods):
                # Each submission may raise the owner's count by one only: a second click that races
                # this one is refused by the queue's own check instead of doubling the experiment.
                self.trainings[method] = self.studio.submit_training(
                    method, dataclasses.replace(self.train), self.overrides.get(method), owner=self.owner,
                    name=f"{self.experiment_id[4:]} {METHOD_LABELS[method]}", max_active=index + 1,
                    client=self.client, experiment=marker)
        except Exception:
            self.stop()
            raise
        self.status = "training"

    def run(self) -> dict:
        """Wait for the trainings, evaluate what finished, and keep (and return) the result."""
        try:
            self._wait_for_trainings()
            if self.stop_event.is_set():
                self.status = "stopped"
                self.result = self._outcome(None)
            else:
                evaluation = self._evaluate()
                self.status = "completed"  # `failed` names any training that did not complete
                self.result = self._outcome(evaluation)
        except ExperimentStopped:
            self.status = "stopped"
            self.result = self._outcome(None)
        except Exception as exc:  # the experiment thread reports a bug; it never dies silently
            log.exception("Experiment %s failed", self.experiment_id)
            self.status, self.error = "failed", f"{type(exc).__name__}: {exc}"
            self.result = {**self._outcome(None), "error": self.error}
        finally:
            self.finished_at = time.time()
            self._report({"stage": "done", "status": self.status})
            self.done.set()
        return self.result

    def _wait_for_trainings(self) -> None:
        total = len(self.trainings)
        for index, (method, job) in enumerate(self.trainings.items(), start=1):
            while True:
                self._report(self._training_stage(method, job, index, total))
                try:
                    self.studio.wait_job(job.job_id, timeout=PROGRESS_SECONDS)
                    break
                except TimeoutError:
                    continue
            self._report(self._training_stage(method, job, index, total))  # how it ended
            if job.status != "completed":
                self.failed[method] = job.error or job.status

    def _training_stage(self, method: str, job: Job, index: int, total: int) -> dict:
        stage = {"stage": "training", "method": method, "index": index, "of": total, "status": job.status,
                 "run_id": job.run_id}
        if job.status == "queued":
            stage["position"] = self.studio.queue_position(job.job_id)
        last = job.latest("step")
        if last:
            stage.update(step=last["step"], max_steps=last.get("max_steps"))
        return stage

    def _evaluate(self):
        finished = [self.trainings[m].run_id for m in self.methods if m not in self.failed]
        models = [ORIGINAL, *finished]
        methods_of = {job.run_id: method for method, job in self.trainings.items()}

        def progress(done, total):
            if self.stop_event.is_set():
                raise ExperimentStopped()
            per_model = max(1, total // len(models))
            index = min((max(done, 1) - 1) // per_model, len(models) - 1)
            self._report({"stage": "evaluating", "model": models[index], "index": index + 1, "of": len(models),
                          "method": methods_of.get(models[index], ORIGINAL), "done": done, "total": total})

        self.status = "evaluating"
        # Every generation takes turns, wherever it starts: this one between its decoding steps too.
        with self.studio.generation_turn(self.client or self.owner):
            self._report({"stage": "evaluating", "model": ORIGINAL, "index": 1, "of": len(models),
                          "method": ORIGINAL, "done": 0, "total": 0})
            result = self.studio.evaluate(models, limit=self.limit, settings=self.generation, progress=progress)
        # The sentences name methods ("LoRA beats Full fine-tuning"): in one experiment each method is one run.
        labels = {model: METHOD_LABELS.get(methods_of.get(model), "Original") for model in result.models}
        return dataclasses.replace(result, labels=labels)

    def _outcome(self, result) -> dict:
        out = {"experiment": self.experiment_id, "status": self.status, "methods": self.methods,
               "runs": self.run_ids(), "budget": self.budget, "failed": dict(self.failed),
               "examples": 0, "labels": {ORIGINAL: "Original"}, "scores": {}, "paired": [],
               "seconds": round(time.time() - self.started_at, 3)}
        if result is not None:
            out.update(examples=result.examples, labels=dict(result.labels),
                       scores={m: result.scores[m] for m in result.models},
                       paired=pairwise_differences(result), evaluation_seconds=round(result.seconds, 3))
        out["train_seconds"] = {m: (j.record or {}).get("train_seconds") for m, j in self.trainings.items()}
        return out

    def _report(self, stage: dict) -> None:
        self.stage = stage
        if self._progress is not None:
            self._progress(stage)


class Experiments:
    """The studio's experiments by id: who started which, and one at a time per session."""

    def __init__(self, studio: Studio):
        self.studio = studio
        self._all: dict[str, Experiment] = {}
        self._lock = threading.Lock()

    def create(self, methods, train: TrainConfig, owner: str, limit: int = EvaluationSettings.limit,
               generation: GenerationSettings | None = None, overrides: dict | None = None,
               progress=None, client=None) -> Experiment:
        """Check the request, queue its trainings, and return the experiment (not yet waited for)."""
        if not owner:
            raise ValueError("An experiment needs an owner token.")
        methods = check_methods(methods)
        train = dataclasses.replace(train).validate()
        limit = check(EvaluationSettings, "limit", limit)
        if generation is not None:
            generation.validate()
        with self._lock:  # one experiment per session at a time
            if any(e.owner == owner and not e.ended for e in self._all.values()):
                raise QueueFull("Your experiment is still running; wait for it to finish or stop it.")
            experiment = Experiment(self.studio, methods, train, owner, limit, generation, overrides, progress,
                                    client=client)
            experiment.submit()
            self._all[experiment.experiment_id] = experiment
        return experiment

    def start(self, *args, **kwargs) -> Experiment:
        """create(), then wait and evaluate in a background thread."""
        experiment = self.create(*args, **kwargs)
        threading.Thread(target=experiment.run, name=f"studio-{experiment.experiment_id}", daemon=True).start()
        return experiment

    def get(self, experiment_id: str | None) -> Experiment | None:
        return self._all.get(experiment_id) if isinstance(experiment_id, str) else None

    def of(self, owner: str) -> list[Experiment]:
        return [e for e in self._all.values() if owner and e.owner == owner]

    def stop(self, experiment_id: str, owner: str) -> bool:
        """Stop an experiment; False when `owner` did not start it."""
        experiment = self.get(experiment_id)
        if experiment is None or not owner or not secrets.compare_digest(experiment.owner, owner):
            return False
        experiment.stop()
        return True
