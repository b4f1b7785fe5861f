"""A fair experiment: several methods trained on one budget, then scored with the original on the same dialogues.

    experiment = studio.start_experiment(["full", "lora", "prompt"], TrainConfig(steps=30), owner=token)
    experiment.stage            # {"stage": "training", "method": "lora", "index": 2, "of": 3, "step": 12, ...}
    studio.stop_experiment(experiment.experiment_id, token)   # stops every training of it, skips evaluation
    result = studio.run_experiment(["full", "lora"], TrainConfig(steps=30), limit=50)   # blocks; a dict
    result = studio.run_experiment(["full", "lora"], TrainConfig(steps=30), seeds=3)    # each method 3 times
    studio.finish_experiment(experiment_id, token)   # after a restart: train what is missing, then evaluate

Fair means: the same steps, batch size, training subset and seed for every method; each
method keeps its own learning rate unless one is given for all. The trainings go through
the ordinary job queue (one at a time, like anyone else's), each run's record carries the
experiment's id and budget, and the evaluation scores the original and every finished run
on the same test dialogues. The verdict (verdict.py) leads with one headline sentence, then
every pair with its paired-bootstrap interval over the test dialogues. With several seeds
each method is trained once per seed (seed, seed + 1, ...), one round of methods at a time,
and a pair counts as clearly better only when it also wins with every seed.

Every experiment is kept on disk as it goes (experiment_records.py): after a restart one that
was cut short says where it stopped, and its owner (or the operator, from the CLI) may finish
it. A training that fails is reported; what finished is still evaluated; when every training
failed the experiment failed, and says why.
"""
from __future__ import annotations

import dataclasses
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.config.declare import check, setting, spec
from studio.config.settings import ORIGINAL, EvaluationSettings, GenerationSettings, TrainConfig
from studio.measure.evaluation import pairwise_differences
from studio.measure.verdict import experiment_verdict
from studio.model.methods import registry
from studio.service.jobs import ACTIVE, QueueFull
from studio.service.owner_tokens import owner_hash as hash_owner  # the run records' hash: one token proves both
from studio.store.experiment_records import UNDER_WAY, ExperimentRecords, as_seen
from studio.store.processes import process_identity
from studio.train.trackers import require_tracker

if TYPE_CHECKING:
    from studio.service.engine import Studio
    from studio.service.jobs import JobStatus

log = logging.getLogger("studio.service.experiment")
# How often a waiting experiment reports the running training's step (the per-job wait wakes
# at once when the job ends; this only paces the progress lines in between).
PROGRESS_SECONDS = 1.0
BUDGET_FIELDS = ("steps", "epochs", "batch_size", "train_size", "seed", "learning_rate")
ENDED = ("completed", "stopped", "failed")


@dataclass
class ExperimentSettings:
    # One seed shows what the test sample does to a difference; a few more show what training's
    # own randomness does. Five rounds of three methods is already a long wait on a CPU.
    seeds: int = setting(1, "train each method once per seed (seed, seed + 1, ...); the verdict then needs a win "
                         "with every seed", name="number of seeds", label="Seeds", low=1, high=5,
                         info="each method trained once per seed; more seeds, a sturdier verdict")


class ExperimentStopped(Exception):
    """Raised inside the evaluation's progress callback to end it when the experiment is stopped."""


def budget_of(train: TrainConfig) -> dict:
    """What every method of the experiment shares (learning_rate None: each method's own)."""
    return {name: getattr(train, name) for name in BUDGET_FIELDS}


def check_methods(methods) -> list[str]:
    if not isinstance(methods, (list, tuple)) or not methods:
        raise ValueError(f"Choose at least one method for the experiment: {', '.join(registry.NAMES)}.")
    unknown = [m for m in methods if m not in registry.NAMES]
    if unknown:
        raise ValueError(f"Unknown method {unknown[0]!r}: choose from {', '.join(registry.NAMES)}.")
    return [m for m in registry.NAMES if m in methods]  # one of each, in the usual order


def check_seeds(seeds, first_seed: int) -> int:
    seeds = check(ExperimentSettings, "seeds", seeds)
    highest = spec(TrainConfig, "seed").high
    if first_seed + seeds - 1 > highest:
        raise ValueError(f"With {seeds} seeds the seeds run from {first_seed} to {first_seed + seeds - 1}, past "
                         f"the highest seed {highest}; start from a lower seed.")
    return seeds


def slot_key(method: str, seed: int, several: bool) -> str:
    """How one training of the experiment is named in its record: "lora", or "lora@43" with several seeds."""
    return f"{method}@{seed}" if several else method


def slot_parts(key: str, default_seed: int) -> tuple[str, int]:
    method, _, seed = key.partition("@")
    return method, int(seed) if seed else default_seed


def owner_matches(owner_hash_kept: str, owner: str) -> bool:
    return bool(owner and owner_hash_kept) and secrets.compare_digest(owner_hash_kept, hash_owner(owner))


class Experiment:
    """One experiment in progress or ended: its jobs, where it stands, and its result."""

    def __init__(self, studio: Studio, methods: list[str], train: TrainConfig, owner: str, limit: int,
                 generation: GenerationSettings | None, overrides: dict | None = None, progress=None,
                 client=None, seeds: int = 1, records: ExperimentRecords | None = None,
                 experiment_id: str | None = None, owner_hash: str | None = None):
        self.studio = studio
        # Who asked (a Caller, person and address; None: the owner is its own person, as for the
        # CLI): its trainings count against that person's and address's caps like any other, and
        # its evaluation takes that person's turns at the generation gate.
        self.client = client
        self.experiment_id = experiment_id or "exp-" + time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)
        self.methods, self.train, self.owner = methods, train, owner
        # Kept on disk instead of the token; a finish from the CLI keeps the person's, so it stays theirs.
        self.owner_hash = owner_hash if owner_hash is not None else hash_owner(owner)
        self.limit, self.generation = limit, generation
        self.overrides = overrides or {}
        self.budget = budget_of(train)
        self.seeds = [train.seed + i for i in range(seeds)]
        several = len(self.seeds) > 1
        # One round of methods per seed: the first seed's trainings first, so one full comparison
        # exists early, and an experiment never holds more places in the queue than its methods.
        self.slots = {slot_key(m, s, several): (m, s) for s in self.seeds for m in methods}
        self.trainings: dict[str, JobStatus] = {}   # slot -> the job training it in this process
        self.runs: dict[str, str] = {}           # slot -> run id, as queued (kept across a restart)
        self.reused: set[str] = set()            # slots finished before a restart: not trained again
        self.status = "starting"                 # training / evaluating / completed / stopped / failed / interrupted
        self.stage: dict = {"stage": "starting"}
        self.where = "starting"                  # the stage in words, as the record keeps it: "training lora"
        self.stopped_at: str | None = None       # where an interrupted experiment was cut short
        self.result: dict | None = None
        self.error: str | None = None
        self.failed: dict[str, str] = {}         # slot -> why its training did not complete
        self.started_at = time.time()
        self.finished_at: float | None = None
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self._progress = progress
        self._records = records
        self._process = process_identity()
        self.save_problem: str | None = None     # why the record could not be written (a full disk)
        self.elsewhere = False                   # restored while its own process still runs it

    # ------------------------------------------------------------------ public
    @property
    def ended(self) -> bool:
        return self.done.is_set()

    @property
    def finishable(self) -> bool:
        """Cut short by a restart: its owner may train what is missing and evaluate."""
        return self.status == "interrupted"

    def run_ids(self) -> dict[str, str]:
        return dict(self.runs)

    def label_of(self, key: str) -> str:
        method, seed = self.slots.get(key) or slot_parts(key, self.train.seed)
        label = registry.label(method)
        return f"{label} (seed {seed})" if len(self.seeds) > 1 else label

    def stop(self) -> None:
        """Stop every training of the experiment (queued ones are cancelled) and skip the evaluation."""
        self.stop_event.set()
        for job in list(self.trainings.values()):
            self.studio.stop_job(job.job_id, self.owner)

    # ------------------------------------------------------------------ steps
    def submit(self) -> None:
        """Queue the first round that needs training, all with the same budget; undo it if one is refused."""
        mine = [j for j in self.studio.jobs_of(self.owner) if j.status in ACTIVE]
        if mine:
            raise QueueFull("You already have a training queued or running; wait for it to finish or stop it.")
        try:
            for seed in self.seeds:
                if self._submit_round(seed):
                    break
        except Exception:
            self.stop()
            raise
        self.status = "training"
        self._save()

    def _submit_round(self, seed: int) -> bool:
        """Queue this seed's trainings not done yet; False when there was none to queue."""
        marker = {"id": self.experiment_id, "budget": self.budget, "methods": self.methods}
        if len(self.seeds) > 1:
            marker["seeds"] = self.seeds
        keys = [k for k, (_, s) in self.slots.items() if s == seed and k not in self.reused and k not in self.trainings]
        for index, key in enumerate(keys):
            method, _ = self.slots[key]
            name = f"{self.experiment_id[4:]} {registry.label(method)}" + (f" seed {seed}" if len(self.seeds) > 1
                                                                           else "")
            # Each submission may raise the owner's count by one only: a second click that races
            # this one is refused by the queue's own check instead of doubling the experiment.
            job = self.studio.submit_training(
                method, dataclasses.replace(self.train, seed=seed), self.overrides.get(method), owner=self.owner,
                name=name, max_active=index + 1, client=self.client, experiment=marker)
            self.trainings[key] = job
            self.runs[key] = job.run_id
            # A Stop that came while this was being queued went through the trainings before this one was
            # among them: stop it here. (stop() sets the event before it looks, so one of the two sees it.)
            if self.stop_event.is_set():
                self.studio.stop_job(job.job_id, self.owner)
            self._save()   # the run id is kept as soon as it exists: a restart knows which run was this
        return bool(keys)

    def run(self) -> dict:
        """Wait for the trainings, evaluate what finished, and keep (and return) the result.

        The result is in place before the status says the experiment ended: a page polling between the
        two would otherwise show "finished" with nothing in it, and stop polling."""
        try:
            self._wait_for_trainings()
            finished = [k for k in self.slots if k not in self.failed]
            if self.stop_event.is_set():
                self._end("stopped", self._outcome(None, "stopped"))
            elif not finished:
                # Evaluating the original alone compares nothing: say that the experiment failed, and why.
                self.error = "no training finished: " + "; ".join(
                    f"{self.label_of(k)}: {why}" for k, why in self.failed.items())
                self._end("failed", {**self._outcome(None, "failed"), "error": self.error})
            else:
                evaluation = self._evaluate()
                # `failed` names any training that did not complete
                self._end("completed", self._outcome(evaluation, "completed"))
        except ExperimentStopped:
            self._end("stopped", self._outcome(None, "stopped"))
        except Exception as exc:  # the experiment thread reports a bug; it never dies silently
            log.exception("Experiment %s failed", self.experiment_id)
            self.error = f"{type(exc).__name__}: {exc}"
            self._end("failed", {**self._outcome(None, "failed"), "error": self.error})
        finally:
            self.finished_at = time.time()
            self._report({"stage": "done", "status": self.status})
            self._save()
            self.done.set()
        return self.result

    def _wait_for_trainings(self) -> None:
        total = len(self.slots)
        for index, (key, (method, seed)) in enumerate(self.slots.items(), start=1):
            if key in self.reused:
                self._report({"stage": "training", "method": method, "seed": seed, "index": index, "of": total,
                              "status": "completed", "run_id": self.runs[key], "reused": True})
                continue
            if key not in self.trainings and not self.stop_event.is_set():
                try:   # the next round: queued now, behind whoever is waiting
                    self._submit_round(seed)
                except (QueueFull, PermissionError, ValueError) as exc:
                    for missing in [k for k, (_, s) in self.slots.items() if s == seed and k not in self.trainings
                                    and k not in self.reused]:
                        self.failed[missing] = f"not queued: {exc}"
            job = self.trainings.get(key)
            if job is None:
                self.failed.setdefault(key, "stopped before it was queued")
                continue
            while True:
                self._report(self._training_stage(key, job, index, total))
                try:
                    self.studio.wait_job(job.job_id, timeout=PROGRESS_SECONDS)
                    break
                except TimeoutError:
                    continue
            self._report(self._training_stage(key, job, index, total))  # how it ended
            if job.status != "completed":
                self.failed[key] = job.error or job.status

    def _training_stage(self, key: str, job: JobStatus, index: int, total: int) -> dict:
        method, seed = self.slots[key]
        stage = {"stage": "training", "method": method, "seed": seed, "index": index, "of": total,
                 "status": job.status, "run_id": job.run_id}
        if job.status == "queued":
            stage["position"] = self.studio.jobs.position(job.job_id)
        last = job.latest("step")
        if last:
            stage.update(step=last["step"], max_steps=last.get("max_steps"))
        return stage

    def _evaluate(self):
        finished = [k for k in self.slots if k not in self.failed]
        models = [ORIGINAL, *(self.runs[k] for k in finished)]
        key_of = {self.runs[k]: k for k in finished}

        def progress(done, total):
            if self.stop_event.is_set():
                raise ExperimentStopped()
            per_model = max(1, total // len(models))
            index = min((max(done, 1) - 1) // per_model, len(models) - 1)
            method = self.slots[key_of[models[index]]][0] if models[index] in key_of else ORIGINAL
            self._report({"stage": "evaluating", "model": models[index], "index": index + 1, "of": len(models),
                          "method": method, "done": done, "total": total})

        self.status = "evaluating"
        # Every generation takes turns, wherever it starts: this one between its decoding steps too.
        with self.studio.generation_turn(self.client or self.owner):
            self._report({"stage": "evaluating", "model": ORIGINAL, "index": 1, "of": len(models),
                          "method": ORIGINAL, "done": 0, "total": 0})
            result = self.studio.evaluate(models, limit=self.limit, settings=self.generation, progress=progress)
        # The sentences name methods ("LoRA beats Full fine-tuning"): in one experiment each method is one run
        # (one per seed with several, and those carry their seed).
        labels = {model: self.label_of(key_of[model]) if model in key_of else "Original" for model in result.models}
        return dataclasses.replace(result, labels=labels)

    def _verdict(self, result) -> dict | None:
        """The verdict per method: each method's runs grouped by seed, the original on its own."""
        if not result.per_model:
            return None   # an evaluation that kept no per-example scores (a GPU worker's) has no pairs
        tables: dict = {ORIGINAL: {None: result.per_model[ORIGINAL]}}
        bleu: dict = {ORIGINAL: {None: result.bleu_stats[ORIGINAL]}} if ORIGINAL in result.bleu_stats else {}
        for key, run_id in self.runs.items():
            if run_id in result.per_model and key not in self.failed:
                method, seed = self.slots[key]
                tables.setdefault(method, {})[seed] = result.per_model[run_id]
                if run_id in result.bleu_stats:
                    bleu.setdefault(method, {})[seed] = result.bleu_stats[run_id]
        labels = {ORIGINAL: "Original", **registry.LABELS}
        return experiment_verdict(tables, labels, self.seeds, result.examples, bleu=bleu)

    def _end(self, status: str, result: dict) -> None:
        """The result first, then the status that says it is there (a poll may come in between)."""
        self.result = result
        self.status = status

    def _outcome(self, result, status: str) -> dict:
        out = {"experiment": self.experiment_id, "status": status, "methods": self.methods,
               "seeds": self.seeds, "runs": self.run_ids(), "budget": self.budget, "failed": dict(self.failed),
               "examples": 0, "labels": {ORIGINAL: "Original"}, "scores": {}, "paired": [], "verdict": None,
               "seconds": round(time.time() - self.started_at, 3)}
        if self.reused:
            out["reused"] = sorted(self.reused)   # trained before a restart, evaluated now
        if result is not None:
            out.update(examples=result.examples, labels=dict(result.labels),
                       scores={m: result.scores[m] for m in result.models},
                       paired=pairwise_differences(result) if result.per_model else [],
                       verdict=self._verdict(result), evaluation_seconds=round(result.seconds, 3))
        out["train_seconds"] = {k: j.record.train_seconds if j.record else None for k, j in self.trainings.items()}
        return out

    def _report(self, stage: dict) -> None:
        self.stage = stage
        where = _stage_words(stage, several=len(self.seeds) > 1)
        if where != self.where:   # the record follows the stage, not every step
            self.where = where
            self._save()
        if self._progress is not None:
            self._progress(stage)

    # ------------------------------------------------------------------ on disk
    def record(self) -> dict:
        return {"experiment_id": self.experiment_id, "created_at": self.started_at, "updated_at": time.time(),
                "process": self._process, "owner_hash": self.owner_hash, "methods": self.methods,
                "seeds": self.seeds, "budget": self.budget, "train": dataclasses.asdict(self.train),
                "limit": self.limit,
                "generation": dataclasses.asdict(self.generation) if self.generation is not None else None,
                "overrides": self.overrides, "runs": dict(self.runs), "reused": sorted(self.reused),
                "status": self.status, "stage": self.where, "failed": dict(self.failed), "error": self.error,
                "finished_at": self.finished_at, "result": self.result}

    def _save(self) -> None:
        if self._records is None:
            return
        try:
            self._records.save(self.record())
            self.save_problem = None
        except (OSError, TypeError, ValueError) as exc:   # a full disk must not stop the experiment itself
            self.save_problem = f"the experiment's record could not be written ({exc})"
            log.warning("Experiment %s: %s", self.experiment_id, self.save_problem)

    @classmethod
    def restored(cls, studio: Studio, record: dict, records: ExperimentRecords) -> Experiment:
        """An experiment of an earlier process, as its record left it (ValueError: a record that makes no sense)."""
        known = {f.name for f in dataclasses.fields(TrainConfig)}
        train = TrainConfig(**{k: v for k, v in record["train"].items() if k in known}).validate()
        gen_known = {f.name for f in dataclasses.fields(GenerationSettings)}
        generation = (GenerationSettings(**{k: v for k, v in record["generation"].items() if k in gen_known})
                      if isinstance(record.get("generation"), dict) else None)
        seeds = record.get("seeds") or [train.seed]
        experiment = cls(studio, check_methods(record["methods"]), train, "", int(record.get("limit") or 1),
                         generation, record.get("overrides") if isinstance(record.get("overrides"), dict) else None,
                         seeds=check_seeds(len(seeds), train.seed), records=records,
                         experiment_id=record["experiment_id"], owner_hash=str(record.get("owner_hash") or ""))
        seen = as_seen(record)
        experiment.status, experiment.where = seen.get("status") or "interrupted", seen.get("stage") or "starting"
        experiment.stopped_at = seen.get("stopped_at")
        experiment.runs = {k: v for k, v in record["runs"].items() if k in experiment.slots and isinstance(v, str)}
        experiment.reused = {k for k in record.get("reused") or () if k in experiment.runs}
        experiment.failed = dict(record.get("failed") or {})
        experiment.result, experiment.error = record.get("result"), record.get("error")
        experiment.started_at = record.get("created_at") or experiment.started_at
        experiment.finished_at = record.get("finished_at")
        experiment._process = record.get("process")
        # Under way with its process alive: another process (a CLI next to the app) is running it.
        experiment.elsewhere = experiment.status in UNDER_WAY
        experiment.done.set()   # nothing of it runs in this process
        return experiment

    def trained_before(self) -> dict[str, str]:
        """Slots whose run finished and still has its model: a finish keeps them."""
        from studio.store.runs import RunNotFound

        kept = {}
        for key, run_id in self.runs.items():
            try:
                record = self.studio.run(run_id)
            except RunNotFound:
                continue
            if record.status == "completed" and not record.model_missing:
                kept[key] = run_id
        return kept


def _stage_words(stage: dict, several: bool) -> str:
    """The stage as the record keeps it: "training lora" ("training lora (seed 43)"), "evaluating", "done"."""
    if stage.get("stage") == "training":
        return f"training {stage['method']}" + (f" (seed {stage['seed']})" if several else "")
    return str(stage.get("stage") or "starting")


def _read(name: str, doc: str = "") -> property:
    return property(lambda self: getattr(self._experiment, name), doc=doc or None)


class ExperimentStatus:
    """What the UI and the CLI see of an experiment: where it stands, read-only.

    Its trainings are JobStatus views; nothing here stops, runs or waits on it (the Studio does)."""

    __slots__ = ("_experiment",)

    def __init__(self, experiment: Experiment):
        self._experiment = experiment

    experiment_id = _read("experiment_id")
    status = _read("status", "training / evaluating / completed / stopped / failed / interrupted")
    where = _read("where", 'the stage in words, as the record keeps it: "training lora"')
    stopped_at = _read("stopped_at")
    result = _read("result")
    error = _read("error")
    methods = _read("methods")
    train = _read("train")
    budget = _read("budget")
    limit = _read("limit")
    seeds = _read("seeds")
    reused = _read("reused")
    elsewhere = _read("elsewhere")
    ended = _read("ended")
    finishable = _read("finishable")
    started_at = _read("started_at")
    finished_at = _read("finished_at")
    save_problem = _read("save_problem")

    @property
    def stage(self) -> dict:
        return dict(self._experiment.stage)

    @property
    def slots(self) -> dict[str, tuple[str, int]]:
        return dict(self._experiment.slots)

    @property
    def runs(self) -> dict[str, str]:
        return dict(self._experiment.runs)

    @property
    def failed(self) -> dict[str, str]:
        return dict(self._experiment.failed)

    @property
    def trainings(self) -> dict:
        """slot -> its training's JobStatus, in this process."""
        return dict(self._experiment.trainings)

    def label_of(self, key: str) -> str:
        return self._experiment.label_of(key)

    def trained_before(self) -> dict[str, str]:
        return self._experiment.trained_before()

    def __repr__(self) -> str:
        return f"ExperimentStatus({self.experiment_id!r}, {self.status!r})"


class Experiments:
    """The studio's experiments by id: who started which, one at a time per session, kept on disk."""

    def __init__(self, studio: Studio):
        self.studio = studio
        self.records = ExperimentRecords(studio.settings.runs_dir)
        self._all: dict[str, Experiment] = {}
        self._lock = threading.Lock()
        self.problems: dict[str, str] = self.records.problems   # records that could not be read, and why
        for record in self.records.load():
            try:
                self._all[record["experiment_id"]] = Experiment.restored(studio, record, self.records)
            except (KeyError, TypeError, ValueError) as exc:
                self.problems[f"{record['experiment_id']}.json"] = f"not a usable experiment record ({exc})"

    def create(self, methods, train: TrainConfig, owner: str, limit: int = EvaluationSettings.limit,
               generation: GenerationSettings | None = None, overrides: dict | None = None,
               progress=None, client=None, seeds: int = 1) -> Experiment:
        """Check the request, queue its trainings, and return the experiment (not yet waited for)."""
        if not owner:
            raise ValueError("An experiment needs an owner token.")
        methods = check_methods(methods)
        train = dataclasses.replace(train).validate()
        require_tracker(train.report_to)   # before any method is queued
        limit = check(EvaluationSettings, "limit", limit)
        seeds = check_seeds(seeds, train.seed)
        if generation is not None:
            generation.validate()
        with self._lock:  # one experiment per session at a time
            self._refuse_a_second(owner)
            experiment = Experiment(self.studio, methods, train, owner, limit, generation, overrides, progress,
                                    client=client, seeds=seeds, records=self.records)
            experiment.submit()
            self._all[experiment.experiment_id] = experiment
        return experiment

    def finish(self, experiment_id: str, owner: str, progress=None, client=None, operator: bool = False) -> Experiment:
        """Continue an experiment cut short: keep what finished, train what is missing (not yet waited for).

        Only its owner may, or the operator (`operator=True`: the CLI, which runs as the operator)."""
        if not owner:
            raise ValueError("Finishing an experiment needs an owner token.")
        before = self.get(experiment_id)
        if before is None:
            raise ValueError(f"There is no experiment {str(experiment_id)[:80]!r} to finish.")
        if not operator and not owner_matches(before.owner_hash, owner):
            raise PermissionError("Only the session that started this experiment can finish it.")
        if not before.finishable:
            raise ValueError(f"Experiment {experiment_id} is {before.status}, not cut short: there is nothing "
                             "to finish.")
        with self._lock:
            self._refuse_a_second(owner)
            if self._all.get(experiment_id) is not before:   # a second click raced this one
                raise QueueFull("This experiment is being finished already.")
            experiment = Experiment(self.studio, before.methods, before.train, owner, before.limit,
                                    before.generation, before.overrides, progress, client=client,
                                    seeds=len(before.seeds), records=self.records,
                                    experiment_id=before.experiment_id, owner_hash=before.owner_hash)
            experiment.started_at = before.started_at
            kept = before.trained_before()
            experiment.runs.update(kept)
            experiment.reused = set(kept)
            experiment.submit()
            self._all[experiment_id] = experiment
        return experiment

    def _refuse_a_second(self, owner: str) -> None:
        if any(e.owner == owner and not e.ended for e in self._all.values()):
            raise QueueFull("Your experiment is still running; wait for it to finish or stop it.")

    def start(self, *args, **kwargs) -> Experiment:
        """create(), then wait and evaluate in a background thread."""
        return self._in_background(self.create(*args, **kwargs))

    def start_finish(self, *args, **kwargs) -> Experiment:
        """finish(), then wait and evaluate in a background thread."""
        return self._in_background(self.finish(*args, **kwargs))

    @staticmethod
    def _in_background(experiment: Experiment) -> Experiment:
        threading.Thread(target=experiment.run, name=f"studio-{experiment.experiment_id}", daemon=True).start()
        return experiment

    def get(self, experiment_id: str | None) -> Experiment | None:
        return self._all.get(experiment_id) if isinstance(experiment_id, str) else None

    def all(self) -> list[Experiment]:
        """Every experiment known here, oldest first (an earlier process's, from their records, too)."""
        return list(self._all.values())

    def of(self, owner: str) -> list[Experiment]:
        """The owner's experiments, oldest first: those of this process, and those an earlier one left."""
        # list() first: another session's start adds to the dict while owner_matches() runs
        return [e for e in list(self._all.values())
                if owner and (e.owner == owner or owner_matches(e.owner_hash, owner))]

    def stop(self, experiment_id: str, owner: str) -> bool:
        """Stop an experiment; False when `owner` did not start it."""
        experiment = self.get(experiment_id)
        if experiment is None or not owner or not experiment.owner or not secrets.compare_digest(experiment.owner,
                                                                                                 owner):
            return False
        experiment.stop()
        return True


__all__ = ["ENDED", "UNDER_WAY", "Experiment", "ExperimentSettings", "Experiments", "slot_key"]
