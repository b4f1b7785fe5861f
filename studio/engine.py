"""The studio's one application context: settings, data, run store, model pool and training queue.

    studio = Studio(Settings.from_env())
    job = studio.submit_training("lora", TrainConfig(steps=30), {"r": 8}, owner=session_token)
    summaries = studio.summarize(["original", run_id], "Anna: Hi!\\nBen: Hello.")
    result = studio.evaluate(["original", run_id], limit=50)

The UI and the CLI both drive the engine through this object; it holds all
shared mutable state, so nothing else needs a global.
"""
from __future__ import annotations

import hashlib
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import torch

from . import quiet_libraries
from .budgets import check_generation_budget, check_training_budget
from .config import (MAX_DIALOGUE_CHARS, MAX_EVAL_EXAMPLES, METHOD_LABELS, METHODS, Settings, TrainConfig,
                     method_settings)
from .data import DialogData, normalize_dialogue, resolve_data
from .evaluation import EvaluationResult, evaluate_models, rouge_table
from .fairshare import FairGate
from .hardware import pick_device, use_bf16
from .inference import ORIGINAL, GenerationSettings, ModelPool
from .jobs import Job, JobQueue
from .offline import ModelUnavailable, is_offline, resolve_base_model
from .processes import TRAINER_SCRATCH, remove_dead_scratch
from .runs import RunNotFound, RunStore, clean_name
from .tokens import OwnerTokens


def inference_dtype(precision: str):
    """bf16 weights for generation where the hardware runs bf16 natively (as the course notebooks do)."""
    if precision not in ("auto", "fp32", "bf16"):
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
        # Web requests that generate take turns per client through this gate (the UI holds the turn).
        self.generation_gate = FairGate(settings.max_generations_per_client, what="summaries or evaluations")
        self.tokens = OwnerTokens.for_settings(settings)
        self._metrics_lock = threading.Lock()

    # ------------------------------------------------------------------ runs
    def label(self, ref: str) -> str:
        if ref == ORIGINAL:
            return "Original"
        record = self.store.get(ref)
        return f"{METHOD_LABELS.get(record['method'], record['method'])}: {record.get('name') or ref}"

    def loadable_runs(self, method: str | None = None) -> list[dict]:
        return self.store.list(method=method, loadable_only=True)

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
        from .training import TrainSpec  # imported on first use: the Trainer stack costs seconds at start-up

        if method not in METHODS:
            raise ValueError(f"Unknown method {method!r}: choose one of {', '.join(METHODS)}.")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError("Precision must be auto, fp32 or bf16.")
        train.validate()
        return TrainSpec(method, train, method_settings(method, overrides), name=clean_name(name or ""),
                         precision=precision)

    def submit_training(self, method: str, train: TrainConfig, overrides: dict | None = None, owner: str = "",
                        name: str = "", precision: str = "auto", max_active: int | None = None,
                        client: str | None = None) -> Job:
        """Queue a training; `max_active` caps this owner's queued-or-running jobs (default: the queue's),
        and the operator's limit caps a `client`'s (an address; the UI passes it)."""
        if precision == "auto":
            precision = self.settings.precision
        spec = self.make_spec(method, train, overrides, name, precision)
        check_training_budget(self.settings, train, len(self.data.splits.get("train") or []))
        spec.owner_hash = owner_hash(owner)  # written with the run's first record
        return self.jobs.submit(spec, owner, limit=max_active, client=client,
                                client_limit=self.settings.max_trainings_per_client)

    def _run_job(self, spec, listener, stop_event, run_id) -> dict:
        from .training import train_run

        return train_run(spec, self.store, self.base, self.data, listener, stop_event, run_id)

    # ------------------------------------------------------------------ summarizing
    def summarize(self, refs: list[str], dialogue: str, settings: GenerationSettings | None = None) -> list[Summary]:
        if not isinstance(dialogue, str):
            raise ValueError("The dialogue must be text.")
        if not dialogue.strip():
            raise ValueError("Paste a dialogue first: the box is empty.")
        if len(dialogue) > MAX_DIALOGUE_CHARS:
            raise ValueError(f"The dialogue has {len(dialogue):,} characters; the limit is {MAX_DIALOGUE_CHARS:,}.")
        check_generation_budget(self.settings, settings or GenerationSettings(), len(dialogue))
        normalized = normalize_dialogue(dialogue)
        for ref in refs:
            if ref != ORIGINAL:
                self.store.require_loadable(ref)
        results = self.pool.summarize(refs, [normalized.text], settings)
        return [Summary(ref, self.label(ref), normalized.restore_names(results[ref].summaries[0]),
                        results[ref].seconds) for ref in refs]

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, refs: list[str], limit: int = 50, split: str = "test",
                 settings: GenerationSettings | None = None, progress=None) -> EvaluationResult:
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_EVAL_EXAMPLES:
            raise ValueError(f"The number of dialogues must be a whole number from 1 to {MAX_EVAL_EXAMPLES}.")
        refs = list(dict.fromkeys(refs))  # a model chosen twice is scored once
        for ref in refs:
            if ref != ORIGINAL:
                self.store.require_loadable(ref)
        labels = {ref: self.label(ref) for ref in refs}
        result = evaluate_models(self.pool, self.data, refs, split=split, limit=limit, settings=settings,
                                 labels=labels, progress=progress)
        self._remember_metrics(result, split)
        return result

    def _remember_metrics(self, result: EvaluationResult, split: str) -> None:
        """Keep each run's latest ROUGE in its run.json, for the Runs tab and its chart."""
        with self._metrics_lock:
            for ref in result.models:
                if ref == ORIGINAL:
                    continue
                metrics = {m: round(v["mean"], 5) for m, v in result.scores[ref].items()}
                metrics.update(split=split, examples=result.examples)
                try:
                    self.store.update(ref, metrics=metrics)
                except RunNotFound:
                    pass  # deleted while we evaluated


__all__ = ["Studio", "Summary", "owner_hash", "rouge_table", "GenerationSettings", "ORIGINAL"]
