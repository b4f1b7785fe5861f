"""One training run: tokenize, build the method's model, run the Trainer, save the run.

    spec = TrainSpec("lora", TrainConfig(steps=30), method_settings("lora"))
    record = train_run(spec, store, base_choice, data, listener=print, stop_event=threading.Event())

Tokenization is lean: no padding at tokenize time (the collator pads each batch
to its longest row), labels padded with -100 so the loss counts real summary
tokens only, and length-grouped batches so rows in a batch are of similar size.
The callback turns Trainer logs into events for the listener and events.jsonl,
and checks the stop flag after every optimizer step.
"""
from __future__ import annotations

import errno
import math
import random
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field

import torch
from transformers import (DataCollatorForSeq2Seq, PrinterCallback, Trainer, TrainerCallback, TrainingArguments,
                          set_seed)

from .base_model import BaseModelChoice, load_base
from .config import LoraSettings, PromptSettings, FullSettings, TrainConfig, to_jsonable
from .data import DialogData, make_prompt
from .methods import build_method_model, parameter_report
from .hardware import pick_device, use_bf16
from .runs import RunStore, new_run_id


@dataclass
class TrainSpec:
    method: str
    train: TrainConfig = field(default_factory=TrainConfig)
    settings: FullSettings | LoraSettings | PromptSettings | None = None
    name: str = ""
    precision: str = "auto"   # "auto" | "fp32" | "bf16"

    @property
    def learning_rate(self) -> float:
        return self.train.learning_rate or self.settings.learning_rate


def tokenize_pairs(tokenizer, examples, cfg: TrainConfig, seed: int):
    """A datasets.Dataset of (input_ids, attention_mask, labels), one row per reference summary."""
    from datasets import Dataset

    pairs = [(make_prompt(ex.dialogue), ref) for ex in examples for ref in ex.references]
    if cfg.train_size is not None and len(pairs) > cfg.train_size:
        pairs = random.Random(seed).sample(pairs, cfg.train_size)
    if not pairs:
        raise ValueError("The training split has no examples.")
    sources = tokenizer([p for p, _ in pairs], max_length=cfg.max_source_tokens, truncation=True)
    targets = tokenizer(text_target=[s for _, s in pairs], max_length=cfg.max_target_tokens, truncation=True)
    return Dataset.from_dict({"input_ids": sources["input_ids"], "attention_mask": sources["attention_mask"],
                              "labels": targets["input_ids"]})


class EventCallback(TrainerCallback):
    """Trainer logs -> events (to a listener and the run's events.jsonl); stop flag -> stop."""

    def __init__(self, emit, stop_event: threading.Event, batch_size: int):
        self.emit = emit
        self.stop_event = stop_event
        self.batch_size = batch_size
        self.started = time.perf_counter()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        elapsed = time.perf_counter() - self.started
        self.emit({"type": "step", "step": state.global_step, "max_steps": state.max_steps,
                   "loss": float(logs["loss"]), "learning_rate": float(logs.get("learning_rate", 0.0)),
                   "epoch": float(state.epoch or 0.0), "elapsed": round(elapsed, 3),
                   "samples_per_second": round(state.global_step * self.batch_size / elapsed, 3)
                   if elapsed > 0 else 0.0})

    def on_step_end(self, args, state, control, **kwargs):
        if self.stop_event.is_set():
            control.should_training_stop = True


def prepare_model(base_path: str, method: str, settings, bf16: bool, device: str, seed: int,
                  dropout: float | None = None):
    """The base model wrapped for `method`, in the precision and dropout training will use."""
    # LoRA and prompt tuning never update the base, so with bf16 on they load it in bf16:
    # autocast re-casts frozen fp32 weights at every use, which costs more than it saves.
    # Trainable values stay fp32 (PEFT keeps adapters in fp32 over a bf16 base).
    frozen_bf16 = bf16 and method != "full"
    model, tokenizer = load_base(base_path, device=device, dtype=torch.bfloat16 if frozen_bf16 else None)
    if dropout is not None:  # the base's own dropout layers; LoRA's dropout is its own setting
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = dropout
        model.config.dropout_rate = dropout
    set_seed(seed)  # LoRA and random prompts draw their initial values here, before the Trainer seeds
    model = build_method_model(method, model, settings, tokenizer_path=base_path)
    for param in model.parameters():
        if param.requires_grad and param.dtype != torch.float32:
            param.data = param.data.float()  # e.g. a prompt initialised from bf16 embeddings
    return model, tokenizer


def build_trainer(model, tokenizer, train_set, cfg: TrainConfig, learning_rate: float, bf16: bool, device: str,
                  output_dir: str, callbacks=(), group_by_length: bool = True) -> Trainer:
    """The studio's Trainer: lean batches, no checkpoints, no reporting, no console bars."""
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
        save_strategy="no", report_to="none", disable_tqdm=True,
        dataloader_pin_memory=device == "cuda",
        remove_unused_columns=False,
    )
    # pad_to_multiple_of=8 keeps tensor shapes friendly to vectorised kernels at almost no padding cost.
    collator = DataCollatorForSeq2Seq(tokenizer, label_pad_token_id=-100, pad_to_multiple_of=8)
    trainer = Trainer(model=model, args=args, train_dataset=train_set, data_collator=collator,
                      processing_class=tokenizer, callbacks=list(callbacks))
    trainer.remove_callback(PrinterCallback)  # with tqdm off it would print every log line
    return trainer


def train_run(spec: TrainSpec, store: RunStore, base: BaseModelChoice, data: DialogData,
              listener=None, stop_event: threading.Event | None = None, run_id: str | None = None) -> dict:
    """Train one run to the end (or the stop flag); returns its final run.json record.

    Never raises for a training failure: the run is recorded as failed with the reason.
    """
    cfg = spec.train.validate()
    stop_event = stop_event or threading.Event()
    run_id = run_id or new_run_id(spec.method)
    device = pick_device()
    bf16 = use_bf16(spec.precision, device)
    hyper = {**to_jsonable(cfg), **{f"{spec.method}_{k}": v for k, v in to_jsonable(spec.settings).items()
                                    if k != "learning_rate"},
             "learning_rate": spec.learning_rate, "precision": "bf16" if bf16 else "fp32"}
    store.create(run_id, {"method": spec.method, "name": spec.name or run_id, "base_model": base.name,
                          "base_model_path": base.path, "base_is_standin": base.is_standin,
                          "data": data.source, "hyperparameters": hyper, "device": device})

    def emit(event: dict) -> None:
        store.append_event(run_id, event)
        if listener is not None:
            listener(event)

    emit({"type": "status", "status": "preparing", "message": "Loading the model and tokenizing"})
    output_dir = tempfile.mkdtemp(prefix="studio-trainer-")
    started = time.perf_counter()
    try:
        model, tokenizer = prepare_model(base.path, spec.method, spec.settings, bf16, device, cfg.seed,
                                         cfg.dropout)
        params = parameter_report(model)
        store.update(run_id, **params)
        emit({"type": "params", **params})
        train_set = tokenize_pairs(tokenizer, data.split("train"), cfg, cfg.seed)
        steps_per_epoch = math.ceil(len(train_set) / cfg.batch_size)
        callback = EventCallback(emit, stop_event, cfg.batch_size)
        trainer = build_trainer(model, tokenizer, train_set, cfg, spec.learning_rate, bf16, device, output_dir,
                                [callback])
        emit({"type": "status", "status": "training", "message": f"{len(train_set)} training pairs, "
              f"{steps_per_epoch} steps per epoch"})
        output = trainer.train()
        train_seconds = time.perf_counter() - started
        losses = [e["loss"] for e in store.events(run_id) if e.get("type") == "step"]
        stopped = stop_event.is_set()
        model.eval()

        def save(folder):
            model.save_pretrained(folder)
            if spec.method == "full":
                tokenizer.save_pretrained(folder)

        steps_done = output.global_step
        record = store.finish(
            run_id, "stopped" if stopped else "completed", save_model=save,
            steps=steps_done, epochs=round(steps_done / steps_per_epoch, 3),
            train_examples=len(train_set), train_seconds=round(train_seconds, 3),
            train_loop_seconds=round(output.metrics.get("train_runtime", train_seconds), 3),
            samples_per_second=round(steps_done * cfg.batch_size / max(1e-9, output.metrics.get(
                "train_runtime", train_seconds)), 3),
            final_loss=losses[-1] if losses else None,
            final_loss_avg5=sum(losses[-5:]) / len(losses[-5:]) if losses else None)
        emit({"type": "status", "status": record["status"],
              "message": "Stopped early; the model so far is saved." if stopped else "Finished."})
        return record
    except Exception as exc:  # recorded, not raised: a failed run must leave the app usable
        message = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower():
            message = "Out of memory: try a smaller batch size. " + message
        elif isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
            message = "The disk is full: delete runs you no longer need. " + message
        record = store.finish(run_id, "failed", error=message, traceback=traceback.format_exc()[-4000:],
                              train_seconds=round(time.perf_counter() - started, 3))
        emit({"type": "status", "status": "failed", "message": message})
        return record
    finally:
        shutil.rmtree(output_dir, ignore_errors=True)
