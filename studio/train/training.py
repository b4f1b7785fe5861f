"""One training run: tokenize, build the method's model, run the Trainer, save the run.

    spec = TrainSpec("lora", TrainConfig(steps=30), registry.method_settings("lora"))
    record = train_run(spec, store, base_choice, data, listener=print, stop_event=threading.Event())

Tokenization is lean: no padding at tokenize time (the collator pads each batch
to its longest row), labels padded with -100 so the loss counts real summary
tokens only, and length-grouped batches so rows in a batch are of similar size.
The callback turns Trainer logs into events for the listener and events.jsonl,
and checks the stop flag after every optimizer step. Every `eval_every` steps the
Trainer's own evaluation measures the loss on a fixed validation sample (the same
pairs for every run, forward only) and the callback records it as an "eval" event;
with `early_stop_patience` it ends the run once that loss stops improving.

Turns (jobs.py): given a `pause_event`, the run trains into its checkpoint folder in the
run store (checkpoints.py) and, once the event is set, the callback has the Trainer save a
checkpoint of model, optimizer, scheduler and RNG states at the end of that step and stop;
train_run then returns a PausedTurn instead of the final record, and
the run.json stays "running" (its process still holds it) with a `paused` note. Called
again with its `paused` dict as `resume`, it carries on with `trainer.train(resume_from_checkpoint=...)`:
the Trainer skips the batches already seen and restores the RNG, so the loss curve goes on
as if it had never stopped (tests/test_training_turns.py checks it step for step).
"""
from __future__ import annotations

import errno
import math
import random
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainerCallback, TrainingArguments, set_seed
from transformers.trainer_pt_utils import LengthGroupedSampler

from studio.config.settings import TrainConfig, to_jsonable
from studio.data.dialogsum import DialogData, make_prompt
from studio.model.base_model import BaseModelChoice, load_base
from studio.model.distributed import batch_fields, current_world
from studio.model.hardware import pick_device, use_bf16
from studio.model.methods import registry
from studio.model.methods.method import parameter_report
from studio.store.checkpoints import checkpoint_root, latest_checkpoint
from studio.store.processes import TRAINER_SCRATCH, owned_scratch_dir, process_identity
from studio.store.records import RunRecord
from studio.store.runs import RunStore, new_run_id, now_iso
from studio.train.compiling import PAD_BUCKET, CompileDecision, compile_decision, use_compile_cache
from studio.train.outcome import PausedTurn
from studio.train.trackers import PROJECT, reporting, tracker_plan
from studio.train.training_plan import plan_training, planned_steps


@dataclass
class TrainSpec:
    method: str
    train: TrainConfig = field(default_factory=TrainConfig)
    settings: object | None = None   # the method's settings dataclass (registry.method_settings)
    name: str = ""
    precision: str = "auto"   # "auto" | "fp32" | "bf16"
    owner_hash: str = ""      # the session that asked for it (may stop, rename, delete it); kept from creation on
    experiment: dict | None = None   # {"id", "budget", "methods"} when trained as part of a fair experiment

    @property
    def learning_rate(self) -> float:
        return self.train.learning_rate or registry.get(self.method).learning_rate


def tokenize_pairs(tokenizer, examples, cfg: TrainConfig, seed: int):
    """A datasets.Dataset of (input_ids, attention_mask, labels), one row per reference summary."""
    pairs = [(make_prompt(ex.dialogue), ref) for ex in examples for ref in ex.references]
    if cfg.train_size is not None and len(pairs) > cfg.train_size:
        pairs = random.Random(seed).sample(pairs, cfg.train_size)
    if not pairs:
        raise ValueError("The training split has no examples.")
    return _tokenized(tokenizer, pairs, cfg)


def split_validation(data: DialogData, cfg: TrainConfig) -> tuple[list, list]:
    """(training examples, validation examples): the first `eval_size` of the validation split,
    or, where there is none, as many held out of the end of the train split (never all of it)."""
    train = data.split("train")
    if not cfg.eval_every:
        return train, []
    validation = data.splits.get("validation") or []
    if validation:
        return train, validation[: cfg.eval_size]
    held = min(cfg.eval_size, len(train) // 5)  # a small train split keeps most of itself
    return (train[:-held], train[-held:]) if held else (train, [])


def tokenize_validation(tokenizer, examples, cfg: TrainConfig):
    """One pair per dialogue (its first reference): a fixed sample, so every run is measured alike."""
    pairs = [(make_prompt(ex.dialogue), ex.references[0]) for ex in examples if ex.references]
    return _tokenized(tokenizer, pairs, cfg) if pairs else None


def _tokenized(tokenizer, pairs, cfg: TrainConfig):
    from datasets import Dataset

    sources = tokenizer([p for p, _ in pairs], max_length=cfg.max_source_tokens, truncation=True)
    targets = tokenizer(text_target=[s for _, s in pairs], max_length=cfg.max_target_tokens, truncation=True)
    return Dataset.from_dict({"input_ids": sources["input_ids"], "attention_mask": sources["attention_mask"],
                              "labels": targets["input_ids"]})


class EventCallback(TrainerCallback):
    """Trainer logs -> events (to a listener and the run's events.jsonl); stop flag -> stop."""

    def __init__(self, emit, stop_event: threading.Event, batch_size: int, patience: int = 0,
                 pause_event: threading.Event | None = None, before: dict | None = None):
        self.emit = emit
        self.stop_event = stop_event
        self.pause_event = pause_event   # set by the queue when this run's turn is over and others wait
        self.paused = False
        self.batch_size = batch_size
        self.patience = patience
        self.started = time.perf_counter()
        self.elapsed_before = 0.0        # seconds trained in earlier turns: the curve's clock goes on
        self.best: tuple[float, int] | None = None     # (validation loss, step)
        self.checks_without_gain = 0
        self.eval_seconds = 0.0
        self.last_eval_loss: float | None = None
        self.early_stop_reason: str | None = None
        if before:
            self.restore(before)

    def state(self) -> dict:
        """What a later turn needs to go on alike: the clock, and the early-stop rule's memory."""
        return {"elapsed": self.elapsed_before + time.perf_counter() - self.started,
                "best": list(self.best) if self.best else None, "checks_without_gain": self.checks_without_gain,
                "eval_seconds": self.eval_seconds, "last_eval_loss": self.last_eval_loss}

    def restore(self, state: dict) -> None:
        self.elapsed_before = float(state.get("elapsed") or 0.0)
        self.best = tuple(state["best"]) if state.get("best") else None
        self.checks_without_gain = int(state.get("checks_without_gain") or 0)
        self.eval_seconds = float(state.get("eval_seconds") or 0.0)
        self.last_eval_loss = state.get("last_eval_loss")

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        loss = (metrics or {}).get("eval_loss")
        if loss is None:
            return
        loss = float(loss)
        seconds = float((metrics or {}).get("eval_runtime", 0.0))
        self.eval_seconds += seconds
        self.last_eval_loss = loss
        self.emit({"type": "eval", "step": state.global_step, "eval_loss": loss, "seconds": round(seconds, 3)})
        if self.best is None or loss < self.best[0]:
            self.best, self.checks_without_gain = (loss, state.global_step), 0
            return
        self.checks_without_gain += 1
        if self.patience and self.checks_without_gain >= self.patience and not control.should_training_stop:
            control.should_training_stop = True
            self.early_stop_reason = (
                f"validation loss did not improve for {self.checks_without_gain} check(s) in a row "
                f"(best {self.best[0]:.4f} at step {self.best[1]}, now {loss:.4f} at step {state.global_step})")

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        elapsed = self.elapsed_before + time.perf_counter() - self.started
        self.emit({"type": "step", "step": state.global_step, "max_steps": state.max_steps,
                   "loss": float(logs["loss"]), "learning_rate": float(logs.get("learning_rate", 0.0)),
                   "epoch": float(state.epoch or 0.0), "elapsed": round(elapsed, 3),
                   "samples_per_second": round(state.global_step * self.batch_size / elapsed, 3)
                   if elapsed > 0 else 0.0})
        # Checked here, after the step's event: the listener may have just ended this turn (jobs.py), and
        # the Trainer saves after logging, so the checkpoint holds exactly the step the curve shows last.
        if (self.pause_event is not None and self.pause_event.is_set() and not self.stop_event.is_set()
                and state.global_step < state.max_steps and not control.should_training_stop):
            # A checkpoint of model, optimizer, scheduler and RNG states at this step, then the turn ends.
            control.should_save = control.should_training_stop = True
            self.paused = True

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_event.is_set():
            control.should_training_stop = True


class _EpochSeededLengthSampler(LengthGroupedSampler):
    """Length-grouped batches in an order set by the seed and the epoch alone.

    The Trainer's own sampler draws each epoch's order from torch's global RNG, whose state by
    then depends on all the training before it; a run resumed from a checkpoint in its second
    epoch would see other batches than the run that never stopped. The Trainer calls set_epoch
    before each epoch (a resumed one too), so the order here is the same either way.
    """

    def __init__(self, seed: int, batch_size: int, lengths: list[int]):
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.generator = torch.Generator().manual_seed(self.seed + int(epoch))


class _StudioTrainer(Trainer):
    def _get_train_sampler(self, train_dataset=None):
        sampler = super()._get_train_sampler(train_dataset)
        if isinstance(sampler, LengthGroupedSampler) and not isinstance(sampler, _EpochSeededLengthSampler):
            return _EpochSeededLengthSampler(self.args.data_seed or self.args.seed, sampler.batch_size,
                                             sampler.lengths)
        return sampler


def set_base_dropout(model, rate: float) -> None:
    """Every dropout of a (not yet adapted) base model at `rate`: its Dropout layers and attention's own."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = rate
        elif isinstance(getattr(module, "dropout", None), float):
            # T5's attention keeps the rate it drops attention weights at as a plain number, read from
            # the config when built: without this, "dropout off" still dropped 10% of them.
            module.dropout = rate
    model.config.dropout_rate = rate


def decide_compiling(cfg: TrainConfig, device: str, train_pairs: int, model) -> CompileDecision:
    """torch.compile for this run or not (compiling.py's rule), its caches on disk when it does. Every rank
    of a distributed run decides alike (same setting, steps, model and profile): all compile or none do."""
    decision = compile_decision(cfg.compile, device, planned_steps(cfg, train_pairs), cfg.batch_size,
                                parameter_report(model)["total_params"])
    if decision.compile:
        use_compile_cache()
    return decision


def prepare_model(base_path: str, method: str, settings, bf16: bool, device: str, seed: int,
                  dropout: float | None = None):
    """The base model wrapped for `method`, in the precision and dropout training will use."""
    found = registry.get(method)
    # Adapter methods never update the base, so with bf16 on they load it in bf16:
    # autocast re-casts frozen fp32 weights at every use, which costs more than it saves.
    # Trainable values stay fp32 (PEFT keeps adapters in fp32 over a bf16 base).
    frozen_bf16 = bf16 and not found.whole_model
    model, tokenizer = load_base(base_path, device=device, dtype=torch.bfloat16 if frozen_bf16 else None)
    if dropout is not None:  # the base's own dropout; LoRA's dropout is its own setting
        set_base_dropout(model, dropout)
    set_seed(seed)  # LoRA and random prompts draw their initial values here, before the Trainer seeds
    model = found.build(model, settings, tokenizer_path=base_path)
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()  # e.g. a prompt initialised from bf16 embeddings
    return model, tokenizer


def batch_collator(tokenizer, compiled: bool) -> DataCollatorForSeq2Seq:
    """Pads a batch: to a multiple of 8, which keeps shapes friendly to vectorised kernels at almost no
    padding cost, or on a compiled run to coarser buckets, so the compiler meets a few shapes, not one
    per batch."""
    return DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, pad_to_multiple_of=PAD_BUCKET if compiled else 8)


def build_trainer(model, tokenizer, train_set, cfg: TrainConfig, learning_rate: float, bf16: bool, device: str,
                  output_dir: str, callbacks=(), group_by_length: bool = True, eval_set=None,
                  report_to: str = "none", run_name: str | None = None, compiled: bool = False) -> Trainer:
    """The studio's Trainer: lean batches, no console bars, no reporting unless asked, and no checkpoints
    but the one a run's turn ends with (EventCallback asks for it; only the newest is kept).

    With an eval_set, the loss on it every `cfg.eval_every` steps (loss only: no logits are kept).
    `report_to` names one of transformers' own integrations (set up by trackers.reporting), which
    files the run under `run_name`; only the recording rank reports, so the default is "none".
    `compiled`: the Trainer wraps the model in torch.compile, and batches are padded to a few lengths.
    """
    evaluating = eval_set is not None and cfg.eval_every > 0
    args = TrainingArguments(
        output_dir=output_dir,
        max_steps=cfg.steps if cfg.steps is not None else -1,
        num_train_epochs=cfg.epochs if cfg.steps is None else 1,
        per_device_train_batch_size=cfg.batch_size,
        learning_rate=learning_rate,
        weight_decay=cfg.weight_decay,
        seed=cfg.seed,
        data_seed=cfg.seed,
        bf16=bf16,
        use_cpu=device == "cpu",
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        logging_strategy="steps", logging_steps=1,
        save_strategy="no", save_total_limit=1, report_to=report_to, run_name=run_name, project=PROJECT,
        disable_tqdm=True,
        dataloader_pin_memory=device == "cuda",
        remove_unused_columns=False,
        eval_strategy="steps" if evaluating else "no", eval_steps=cfg.eval_every if evaluating else None,
        per_device_eval_batch_size=16, prediction_loss_only=True,
        # Under torchrun every trainable parameter gets a gradient each step, so DDP need not search for unused ones.
        ddp_find_unused_parameters=False,
        torch_compile=compiled,
    )
    trainer = _StudioTrainer(model=model, args=args, train_dataset=train_set,
                             data_collator=batch_collator(tokenizer, compiled),
                             eval_dataset=eval_set if evaluating else None,
                             processing_class=tokenizer, callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # with tqdm off it would print every log line
    return trainer


def train_run(spec: TrainSpec, store: RunStore, base: BaseModelChoice, data: DialogData,
              listener=None, stop_event: threading.Event | None = None, run_id: str | None = None,
              pause_event: threading.Event | None = None, resume: dict | None = None) -> RunRecord | PausedTurn:
    """Train one run to the end (or the stop flag); returns its final record.

    With `pause_event`, the run may end its turn early: it then returns a PausedTurn and is
    carried on by a later call with `resume` set to its `paused`.
    Never raises for a training failure: the run is recorded as failed with the reason
    (kept in memory by the store if even that record cannot be written).
    """
    cfg = spec.train.validate()
    run = _Run(spec, cfg, store, run_id or new_run_id(spec.method), listener, stop_event or threading.Event())
    if resume is None:
        # The run's folder exists from here to the end, so a tracker's files are written straight into it.
        reported = {"reported_to": run.tracker.record} if run.tracker.record else {}
        store.create(run.run_id, {**initial_record(spec, cfg, base, data, run.device, run.bf16),
                                  **batch_fields(cfg.batch_size, run.world), **reported})
        run.emit({"type": "status", "status": "preparing", "message": "Loading the model and tokenizing"})
    # A run that may pause trains into its checkpoint folder in the run store: that survives a restart.
    turns = pause_event is not None or resume is not None
    output_dir = str(checkpoint_root(store, run.run_id)) if turns else owned_scratch_dir(TRAINER_SCRATCH)
    outcome = None
    try:
        if resume is not None:   # this process holds the run again, for its next turn
            store.update(run.run_id, status="running", process=process_identity(), paused=None, error=None,
                         finished_at=None)
            run.emit({"type": "status", "status": "preparing", "message": f"Resuming at step {resume['step']} "
                      f"of {resume['max_steps']} from its checkpoint"})
        outcome = run.train_and_save(base, data, output_dir, pause_event, resume)
        return outcome
    except Exception as exc:  # noqa: BLE001 - recorded, not raised: a failed run must leave the app usable
        return run.record_failure(exc)
    finally:
        if not isinstance(outcome, PausedTurn):
            shutil.rmtree(output_dir, ignore_errors=True)


def initial_record(spec: TrainSpec, cfg: TrainConfig, base: BaseModelChoice, data: DialogData, device: str,
                   bf16: bool) -> dict:
    """Everything that says what the run is and whose it is, written when it is created."""
    # A method's settings carry its prefix (lora_r): the keys read as they always have.
    hyper = {**to_jsonable(cfg), **to_jsonable(spec.settings),
             "learning_rate": spec.learning_rate, "precision": "bf16" if bf16 else "fp32"}
    record = {"method": spec.method, "name": spec.name, "owner_hash": spec.owner_hash, "base_model": base.name,
              "base_model_path": base.path, "base_is_standin": base.is_standin, "data": data.source,
              "hyperparameters": hyper, "device": device,
              # What the budget means for this data (the subset is a cap): said before Start, kept here.
              "budget": plan_training(data.split("train"), cfg)}
    if spec.experiment:
        record["experiment"] = spec.experiment
    return record


def failure_message(exc: BaseException) -> str:
    """The error with what to do about it, once."""
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
        return "Out of memory: try a smaller batch size. " + message
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return "The disk is full: delete runs you no longer need. " + message
    return message


def compile_results(decision: CompileDecision, steps: list[dict]) -> dict:
    """compiled, why, and (compiled) what compiling cost: the time beyond a typical step's of every step that
    took over twice as long (the first compile and a recompile for each new padded length; a validation
    check between two steps counts too). Typical is the lower quartile, not the median: in a short run
    half the steps or more may be compiles (4 steps, 2 shapes)."""
    out = {"compiled": decision.compile, "compile_reason": decision.reason}
    if decision.compile:
        clock = [e["elapsed"] for e in steps]
        durations = [later - earlier for earlier, later in zip([0.0, *clock], clock)]
        if durations:
            typical = sorted(durations)[len(durations) // 4]
            out["compile_seconds"] = round(sum(d - typical for d in durations if d > 2 * typical), 3)
    return out


class _Run:
    """One training in progress: where its events go, and the steps from a model to a saved run."""

    def __init__(self, spec: TrainSpec, cfg: TrainConfig, store: RunStore, run_id: str, listener, stop_event):
        self.spec, self.cfg, self.store, self.run_id = spec, cfg, store, run_id
        self.listener, self.stop_event = listener, stop_event
        self.device = pick_device()
        self.bf16 = use_bf16(spec.precision, self.device)
        self.world = current_world()  # under torchrun every rank trains; this one (rank 0) records
        self.effective_batch = batch_fields(cfg.batch_size, self.world)["effective_batch_size"]
        self.started = time.perf_counter()
        self.tracker = tracker_plan(cfg.report_to, store.path(run_id), store.root)
        if not spec.name:
            spec.name = run_id

    def emit(self, event: dict) -> None:
        self.store.append_event(self.run_id, event)
        if self.listener is not None:
            self.listener(event)

    def train_and_save(self, base: BaseModelChoice, data: DialogData, output_dir: str,
                       pause_event: threading.Event | None = None,
                       resume: dict | None = None) -> RunRecord | PausedTurn:
        spec, cfg = self.spec, self.cfg
        model, tokenizer = prepare_model(base.path, spec.method, spec.settings, self.bf16, self.device, cfg.seed,
                                         cfg.dropout)
        if resume is None:
            params = parameter_report(model)
            self.store.update(self.run_id, **params)
            self.emit({"type": "params", **params})
        train_examples, validation = split_validation(data, cfg)
        train_set = tokenize_pairs(tokenizer, train_examples, cfg, cfg.seed)
        eval_set = tokenize_validation(tokenizer, validation, cfg)
        steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
        compiling = decide_compiling(cfg, self.device, len(train_set), model)
        callback = EventCallback(self.emit, self.stop_event, self.effective_batch, cfg.early_stop_patience,
                                 pause_event=pause_event, before=(resume or {}).get("callback"))
        checks = f"; validation loss every {cfg.eval_every} steps on {len(eval_set)} pairs" if eval_set else ""
        again = f"; resumed at step {resume['step']}" if resume else ""
        with reporting(self.tracker):   # the integration reads its settings when built and when training begins
            trainer = build_trainer(model, tokenizer, train_set, cfg, spec.learning_rate, self.bf16, self.device,
                                    output_dir, [callback], eval_set=eval_set, report_to=self.tracker.tracker,
                                    run_name=self.run_id, compiled=compiling.compile)
            self.emit({"type": "status", "status": "training", "message": f"{len(train_set)} training pairs, "
                       f"{steps_per_epoch} steps per epoch{checks}{again}"})
            output = trainer.train(resume_from_checkpoint=resume["checkpoint"] if resume else None)
        if callback.paused and not callback.early_stop_reason and not self.stop_event.is_set():
            return self._pause(trainer, output, callback, output_dir, resume, len(train_set), steps_per_epoch)
        model.eval()
        # A run the validation loss ended is complete (it did what was asked); a stop request is not.
        status = "stopped" if self.stop_event.is_set() else "completed"
        steps = [e for e in self.store.events(self.run_id) if e.get("type") == "step"]
        record = self.store.finish(self.run_id, status, save_model=self._saver(model, tokenizer),
                                   **self._results(output, len(train_set), steps_per_epoch, steps, resume),
                                   **self._validation_results(callback, eval_set),
                                   **compile_results(compiling, steps))
        message = ("Stopped early; the model so far is saved." if status == "stopped" else
                   f"Finished early: {callback.early_stop_reason}." if callback.early_stop_reason else "Finished.")
        self.emit({"type": "status", "status": record.status, "message": message})
        return record

    def _pause(self, trainer, output, callback: EventCallback, output_dir: str, resume: dict | None,
               train_examples: int, steps_per_epoch: int) -> PausedTurn:
        """End this turn: the checkpoint the Trainer just saved, and everything the next turn needs."""
        checkpoint = latest_checkpoint(Path(output_dir))
        if checkpoint is None or checkpoint.name != f"checkpoint-{output.global_step}":
            raise RuntimeError(f"The Trainer saved no checkpoint at step {output.global_step} to resume from.")
        before = resume or {}
        step, max_steps = output.global_step, trainer.state.max_steps
        paused = {"step": step, "max_steps": max_steps, "checkpoint": str(checkpoint),
                  "train_seconds": before.get("train_seconds", 0.0) + time.perf_counter() - self.started,
                  "loop_seconds": before.get("loop_seconds", 0.0) + output.metrics.get("train_runtime", 0.0),
                  "turns": before.get("turns", 0) + 1, "callback": callback.state(),
                  "train_examples": train_examples, "steps_per_epoch": steps_per_epoch}
        self.store.update(self.run_id, paused={"step": step, "max_steps": max_steps, "at": now_iso()})
        self.emit({"type": "status", "status": "paused", "step": step, "max_steps": max_steps,
                   "message": f"Paused at step {step} of {max_steps}: back in line while others train; "
                   "it resumes from its checkpoint."})
        return PausedTurn(self.run_id, paused)

    @staticmethod
    def _validation_results(callback: EventCallback, eval_set) -> dict:
        if eval_set is None:
            return {}
        out = {"validation_pairs": len(eval_set), "eval_seconds": round(callback.eval_seconds, 3),
               "final_eval_loss": callback.last_eval_loss,
               "best_eval_loss": callback.best[0] if callback.best else None,
               "best_eval_step": callback.best[1] if callback.best else None}
        if callback.early_stop_reason:
            out.update(stopped_early=True, stop_reason=callback.early_stop_reason)
        return out

    def _saver(self, model, tokenizer):
        def save(folder):
            registry.get(self.spec.method).save(model, tokenizer, folder)
        return save

    def _results(self, output, train_examples: int, steps_per_epoch: int, steps: list[dict],
                 resume: dict | None = None) -> dict:
        """`steps`: the run's step events (its loss curve), every turn's."""
        before = resume or {}   # the turns before this one count too
        train_seconds = before.get("train_seconds", 0.0) + time.perf_counter() - self.started
        loop_seconds = before.get("loop_seconds", 0.0) + output.metrics.get("train_runtime", train_seconds)
        losses = [e["loss"] for e in steps]
        steps_done = output.global_step
        return {"steps": steps_done, "epochs": round(steps_done / steps_per_epoch, 3),
                "train_examples": train_examples, "train_seconds": round(train_seconds, 3),
                "train_loop_seconds": round(loop_seconds, 3),
                "samples_per_second": round(steps_done * self.effective_batch / max(1e-9, loop_seconds), 3),
                "final_loss": losses[-1] if losses else None,
                "final_loss_avg5": sum(losses[-5:]) / len(losses[-5:]) if losses else None,
                # Turns it trained in (jobs.py): each after the first also loaded the model and its checkpoint,
                # which train_seconds includes.
                "turns": before.get("turns", 0) + 1}

    def record_failure(self, exc: Exception) -> RunRecord:
        """Make the record final (failed, with the reason), whatever else breaks on the way."""
        message = failure_message(exc)
        record = self.store.finish(self.run_id, "failed", error=message, traceback=traceback.format_exc()[-4000:],
                                   train_seconds=round(time.perf_counter() - self.started, 3), paused=None)
        try:
            self.emit({"type": "status", "status": "failed", "message": message})
        except OSError:
            pass  # the disk that failed the run may refuse the event too; the record says it all
        return record


def train_as_follower(spec: TrainSpec, base: BaseModelChoice, data: DialogData) -> None:
    """A rank other than 0 of a distributed run: the same model, data and Trainer, and nothing written.

    The Trainer shares the batches out and averages the gradients; rank 0 (train_run) saves the
    model and the record. This rank never touches the run store and never prints.
    """
    cfg = spec.train.validate()
    device = pick_device()
    bf16 = use_bf16(spec.precision, device)
    model, tokenizer = prepare_model(base.path, spec.method, spec.settings, bf16, device, cfg.seed, cfg.dropout)
    # The same pairs, validation sample and early-stop rule as rank 0: evaluation is collective
    # (every rank must join each check) and the validation loss is the gathered one, so an early
    # stop decided here matches rank 0's.
    train_examples, validation = split_validation(data, cfg)
    train_set = tokenize_pairs(tokenizer, train_examples, cfg, cfg.seed)
    eval_set = tokenize_validation(tokenizer, validation, cfg)
    callback = EventCallback(lambda event: None, threading.Event(), cfg.batch_size, cfg.early_stop_patience)
    output_dir = owned_scratch_dir(TRAINER_SCRATCH)
    compiling = decide_compiling(cfg, device, len(train_set), model)
    try:
        build_trainer(model, tokenizer, train_set, cfg, spec.learning_rate, bf16, device, output_dir, [callback],
                      eval_set=eval_set, compiled=compiling.compile).train()
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
