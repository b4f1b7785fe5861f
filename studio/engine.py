"""The studio's one application context: settings, data, run store, model pool and training queue.

    studio = Studio(Settings.from_env())
    job = studio.submit_training("lora", TrainConfig(steps=30), {"r": 8}, owner=session_token)
    summaries = studio.summarize(["original", run_id], "Anna: Hi!\\nBen: Hello.")
    result = studio.evaluate(["original", run_id], limit=50)

The UI and the CLI both drive the engine through this object, and only through
it: they never reach its store, queue or pool. It holds all shared mutable state,
so nothing else needs a global. Importing it is cheap (torch loads when a Studio
is built), so the gradio-free handlers can name its types.
"""
from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from . import quiet_libraries
from .config import (
    MAX_DIALOGUE_CHARS,
    METHOD_LABELS,
    METHODS,
    ORIGINAL,
    PRECISIONS,
    EvaluationSettings,
    GenerationSettings,
    Settings,
    TrainConfig,
    method_settings,
)
from .data import DialogData, normalize_dialogue, resolve_data
from .declare import check
from .evaluation import EvaluationResult, evaluate_models, rouge_table
from .jobs import Job, JobQueue, QueueFull
from .offline import ModelUnavailable, is_offline, resolve_base_model
from .processes import TRAINER_SCRATCH, remove_dead_scratch
from .runs import RunNotFound, RunStore, clean_name

# Errors whose message is meant for the person who caused them; anything else is a bug.
USER_ERRORS = (ValueError, PermissionError, RunNotFound, QueueFull, ModelUnavailable, TimeoutError)


def inference_dtype(precision: str):
    """bf16 weights for generation where the hardware runs bf16 natively (as the course notebooks do)."""
    import torch

    from .hardware import pick_device, use_bf16

    if precision not in PRECISIONS:
        raise ValueError(f"Precision must be auto, fp32 or bf16, not {precision!r}.")
    return torch.bfloat16 if use_bf16(precision, pick_device()) else None


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


def owner_hash(owner: str) -> str:
    """What run.json keeps of a session's token: enough to match it, useless to steal."""
    return hashlib.sha256(owner.encode()).hexdigest()[:24] if owner else ""


@dataclass
class Summary:
    model: str
    label: str
    text: str
    seconds: float


class Studio:
    def __init__(self, settings: Settings, data: DialogData | None = None):
        import torch

        from .inference import (
            ModelPool,  # torch and transformers load here, not on import
        )

        quiet_libraries()
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        self.settings = settings
        require_allowed_base(settings)
        self.offline = is_offline(settings)
        self.notices: list[str] = []
        self.base = resolve_base_model(settings)
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
        self.pool = ModelPool(self.base, self.store, dtype=inference_dtype(settings.precision))
        self.jobs = JobQueue(self._run_job)
        self._metrics_lock = threading.Lock()
        self._shares: dict | None = None

    # ------------------------------------------------------------------ runs
    def run_label(self, run: str | dict, *, method: bool = True, details: bool = False,
                  width: int | None = None) -> str:
        """How a run reads everywhere: "LoRA: my run"; "Original" for the base model.

        method=False drops the method; details=True adds steps, ROUGE-L and an unusual status
        ("my run (30 steps, ROUGE-L 31.2, stopped early)"); width cuts the name.
        """
        if run == ORIGINAL:
            return "Original"
        record = self.store.get(run) if isinstance(run, str) else run
        name = record.get("name") or record["run_id"]
        label = name[:width] if width else name
        if details:
            bits = [f"{record['steps']} steps"] if record.get("steps") else []
            rouge_l = (record.get("metrics") or {}).get("rougeL")
            if rouge_l is not None:
                bits.append(f"ROUGE-L {100 * rouge_l:.1f}")
            status = record.get("status")
            if status == "stopped":
                bits.append("stopped early")
            elif status not in (None, "completed"):
                bits.append(status)
            label = f"{label} ({', '.join(bits)})" if bits else label
        if method:
            label = f"{self.method_label(record.get('method'))}: {label}"
        return label

    def label(self, run: str) -> str:
        """The run's label with its method, as evaluation tables name it."""
        return self.run_label(run)

    @staticmethod
    def method_label(method: str | None) -> str:
        return "Original" if method == ORIGINAL else METHOD_LABELS.get(method, method or "?")

    def runs(self, method: str | None = None) -> list[dict]:
        """Every run record on disk, newest first."""
        return self.store.list(method=method)

    def loadable_runs(self, method: str | None = None) -> list[dict]:
        """Runs with a saved model to summarize with, newest first."""
        return self.store.list(method=method, loadable_only=True)

    def run(self, run_id: str) -> dict:
        """One run's record (RunNotFound if there is none)."""
        return self.store.get(run_id)

    def loadable_run(self, run_id: str) -> dict:
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
                             f"(status: {record.get('status')}).")
        target = Path(tempfile.mkdtemp(prefix="zip-", dir=folder))
        return self.store.export_zip(run_id, target)  # without the server's paths, host name or pid

    # The CLI's runs / delete / rename need only the disk: no model is resolved or loaded, and
    # the CLI acts as the operator, so no owner check applies.
    @staticmethod
    def saved_runs(settings: Settings) -> tuple[list[dict], list[dict]]:
        """The run records, and the files skipped as unreadable (run id, file, reason)."""
        store = RunStore(settings.runs_dir)
        return store.list(), store.problems

    @staticmethod
    def delete_saved_run(settings: Settings, run_id: str) -> dict:
        """Delete a run (not one that is still training); returns the record it had."""
        store = RunStore(settings.runs_dir)
        record = store.get(run_id)
        store.delete(run_id)
        return record

    @staticmethod
    def rename_saved_run(settings: Settings, run_id: str, name: str) -> dict:
        return RunStore(settings.runs_dir).rename(run_id, name)

    def _require_owner(self, run_id: str, owner: str | None, action: str) -> dict:
        """A UI session (owner given) may change only runs it started; the CLI (None) any."""
        record = self.store.get(run_id)
        if owner is not None and (not owner or record.get("owner_hash") != owner_hash(owner)):
            raise PermissionError(f"Only the session that trained this run can {action} it.")
        return record

    def rename_run(self, run_id: str, name: str, owner: str | None) -> dict:
        self._require_owner(run_id, owner, "rename")
        return self.store.rename(run_id, name)

    def delete_run(self, run_id: str, owner: str | None) -> None:
        self._require_owner(run_id, owner, "delete")
        self.store.delete(run_id)
        self.pool.forget(run_id)

    # ------------------------------------------------------------------ training
    def make_spec(self, method: str, train: TrainConfig, overrides: dict | None = None, name: str = "",
                  precision: str = "auto"):
        from .training import (
            TrainSpec,  # imported on first use: the Trainer stack costs seconds at start-up
        )

        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
        if precision not in PRECISIONS:
            raise ValueError("Precision must be auto, fp32 or bf16.")
        train.validate()
        return TrainSpec(method, train, method_settings(method, overrides), name=clean_name(name or ""),
                         precision=precision)

    def submit_training(self, method: str, train: TrainConfig, overrides: dict | None = None, owner: str = "",
                        name: str = "", precision: str = "auto", max_active: int | None = None) -> Job:
        """Queue a training; `max_active` caps this owner's queued-or-running jobs (default: the queue's)."""
        if precision == "auto":
            precision = self.settings.precision
        spec = self.make_spec(method, train, overrides, name, precision)
        spec.owner_hash = owner_hash(owner)  # written with the run's first record
        return self.jobs.submit(spec, owner, limit=max_active)

    def job(self, job_id: str | None) -> Job | None:
        return self.jobs.get(job_id) if job_id else None

    def jobs_of(self, owner: str) -> list[Job]:
        return self.jobs.jobs_of(owner)

    def queue_position(self, job_id: str) -> int:
        """1 for the next job to run, 2 behind it, ..."""
        return self.jobs.position(job_id)

    def running_job(self) -> Job | None:
        return self.jobs.running()

    def stop_job(self, job_id: str, owner: str) -> bool:
        """Ask a job to stop; False when `owner` did not start it."""
        return self.jobs.stop(job_id, owner)

    def wait_job(self, job_id: str, timeout: float | None = None) -> Job:
        return self.jobs.wait(job_id, timeout)

    def _run_job(self, spec, listener, stop_event, run_id) -> dict:
        from .training import train_run

        return train_run(spec, self.store, self.base, self.data, listener, stop_event, run_id)

    # ------------------------------------------------------------------ what a participant sees
    # (issue 10: the shared queue, whose runs are whose, what a budget means, the methods' shares)
    def owns(self, run: str | dict, owner: str | None) -> bool:
        """True when the session with token `owner` trained this run."""
        record = self.store.get(run) if isinstance(run, str) else run
        return bool(owner) and record.get("owner_hash") == owner_hash(owner)

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

    def training_plan(self, train: TrainConfig) -> dict:
        """What `train` means for this data: pairs available and used, epochs (as run.json's budget)."""
        from .budget import training_budget

        return training_budget(self.data.splits.get("train") or [], train)

    def method_shares(self) -> dict[str, tuple[int, int]]:
        """(trainable, total) parameters per method at its default settings, for the loaded base model.

        Counted from the base's config (memory.py's layer-by-layer count, which matches what
        training reports); empty when the base is not a gated T5 whose shape that count knows.
        """
        if self._shares is None:
            self._shares = self._count_shares()
        return self._shares

    def _count_shares(self) -> dict[str, tuple[int, int]]:
        from .config import LoraSettings, PromptSettings
        from .memory import T5Shape, t5_parameter_count, trainable_parameter_count

        try:
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(self.base.path)
        except Exception:  # noqa: BLE001 - no config to read: the help text then speaks of the default model
            return {}
        if getattr(config, "model_type", "") != "t5" or not getattr(config, "is_gated_act", False):
            return {}
        shape = T5Shape.from_config(config)
        base = t5_parameter_count(shape)
        lora, prompt = LoraSettings(), PromptSettings()
        added = {"lora": trainable_parameter_count(shape, "lora", lora_r=lora.r, lora_targets=lora.target_modules),
                 "prompt": trainable_parameter_count(shape, "prompt", virtual_tokens=prompt.num_virtual_tokens)}
        return {"full": (base, base), **{m: (n, base + n) for m, n in added.items()}}

    # ------------------------------------------------------------------ summarizing
    def summarize(self, model_ids: list[str], dialogue: str,
                  settings: GenerationSettings | None = None) -> list[Summary]:
        if not isinstance(dialogue, str):
            raise ValueError("The dialogue must be text.")
        if not dialogue.strip():
            raise ValueError("Paste a dialogue first: the box is empty.")
        if len(dialogue) > MAX_DIALOGUE_CHARS:
            raise ValueError(f"The dialogue has {len(dialogue):,} characters; the limit is {MAX_DIALOGUE_CHARS:,}.")
        normalized = normalize_dialogue(dialogue)
        for model_id in model_ids:
            if model_id != ORIGINAL:
                self.store.require_loadable(model_id)
        results = self.pool.summarize(model_ids, [normalized.text], settings)
        return [Summary(model_id, self.label(model_id), normalized.restore_names(results[model_id].summaries[0]),
                        results[model_id].seconds) for model_id in model_ids]

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, model_ids: list[str], limit: int = EvaluationSettings.limit, split: str = "test",
                 settings: GenerationSettings | None = None, progress=None) -> EvaluationResult:
        limit = check(EvaluationSettings, "limit", limit)
        model_ids = list(dict.fromkeys(model_ids))  # a model chosen twice is scored once
        for model_id in model_ids:
            if model_id != ORIGINAL:
                self.store.require_loadable(model_id)
        labels = {model_id: self.label(model_id) for model_id in model_ids}
        result = evaluate_models(self.pool, self.data, model_ids, split=split, limit=limit, settings=settings,
                                 labels=labels, progress=progress)
        self._remember_metrics(result, split)
        return result

    def _remember_metrics(self, result: EvaluationResult, split: str) -> None:
        """Keep each run's latest ROUGE in its run.json, for the Runs tab and its chart."""
        with self._metrics_lock:
            for model_id in result.models:
                if model_id == ORIGINAL:
                    continue
                metrics = {m: round(v["mean"], 5) for m, v in result.scores[model_id].items()}
                metrics.update(split=split, examples=result.examples)
                try:
                    self.store.update(model_id, metrics=metrics)
                except RunNotFound:
                    pass  # deleted while we evaluated


__all__ = ["ORIGINAL", "USER_ERRORS", "GenerationSettings", "Studio", "Summary", "owner_hash", "rouge_table"]
