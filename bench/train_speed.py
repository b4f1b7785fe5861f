"""Training throughput and loss of one method under one recipe: the course notebooks' or the studio's.

    measure_training(model_path, "lora", "course", steps=5, pairs_source=train_examples)
"""
from __future__ import annotations

import shutil
import tempfile
import time

from studio.config.settings import TrainConfig
from studio.data.dialogsum import make_prompt
from studio.model.methods import registry

BATCH_SIZE = 8
COURSE_MAX_LENGTH = 512          # the course pads every input and label to the tokenizer's 512

# The studio's recipe and its fp32 twin, then the ablation chain from the course recipe to the
# studio's, one change at a time: (bf16 autocast, length-grouped batches, base dropout).
RECIPES = {
    "studio": (True, True, 0.0),
    "studio-fp32": (False, True, 0.0),
    "1 dynamic padding, -100 labels (fp32)": (False, False, None),
    "2 + length-grouped batches": (False, True, None),
    "3 + bf16 autocast": (True, True, None),
    "4 + dropout off (= studio)": (True, True, 0.0),
}
ABLATION_RECIPES = [name for name in RECIPES if name[0].isdigit()]


class StepClock:
    """Trainer callback: wall time at the end of every optimizer step, and the logged losses."""

    def __new__(cls):
        from transformers import TrainerCallback

        class _Clock(TrainerCallback):
            def __init__(self):
                self.times, self.losses = [], []

            def on_step_end(self, args, state, control, **kwargs):
                self.times.append(time.perf_counter())

            def on_log(self, args, state, control, logs=None, **kwargs):
                if logs and "loss" in logs:
                    self.losses.append(float(logs["loss"]))

        return _Clock()


def _course_dataset(tokenizer, pairs):
    """The notebooks' tokenization: everything padded to 512, pad ids left in the labels."""
    from datasets import Dataset

    src = tokenizer([p for p, _ in pairs], padding="max_length", truncation=True, max_length=COURSE_MAX_LENGTH)
    tgt = tokenizer([s for _, s in pairs], padding="max_length", truncation=True, max_length=COURSE_MAX_LENGTH)
    return Dataset.from_dict({"input_ids": src["input_ids"], "attention_mask": src["attention_mask"],
                              "labels": tgt["input_ids"]})


def _course_trainer(model_path, method, settings, steps, pairs_source, seed, out_dir, clock):
    """The notebooks' set-up: the whole model in bf16 (trainable weights included), default Trainer."""
    import torch
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, PrinterCallback, Trainer, TrainingArguments, set_seed

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_path, dtype=torch.bfloat16)
    set_seed(seed)
    model = registry.get(method).build(model, settings, tokenizer_path=model_path)
    pairs = [(make_prompt(ex.dialogue), ref) for ex in pairs_source for ref in ex.references]
    args = TrainingArguments(output_dir=out_dir, learning_rate=registry.get(method).learning_rate, max_steps=steps,
                             per_device_train_batch_size=BATCH_SIZE, weight_decay=0.01, logging_steps=1,
                             save_strategy="no", report_to="none", disable_tqdm=True, use_cpu=True, seed=seed)
    trainer = Trainer(model=model, args=args, train_dataset=_course_dataset(tokenizer, pairs), callbacks=[clock])
    trainer.remove_callback(PrinterCallback)
    return trainer


def _studio_trainer(model_path, method, settings, recipe, steps, pairs_source, seed, out_dir, clock):
    """The studio's own model preparation and Trainer, with the recipe's switches."""
    from studio.train.training import build_trainer, prepare_model, tokenize_pairs

    bf16, grouped, dropout = RECIPES[recipe]
    cfg = TrainConfig(steps=steps, batch_size=BATCH_SIZE, train_size=None, seed=seed)
    model, tokenizer = prepare_model(model_path, method, settings, bf16, "cpu", seed, dropout)
    train_set = tokenize_pairs(tokenizer, pairs_source, cfg, seed)
    return build_trainer(model, tokenizer, train_set, cfg, registry.get(method).learning_rate, bf16=bf16, device="cpu",
                         output_dir=out_dir, callbacks=[clock], group_by_length=grouped)


def measure_training(model_path: str, method: str, recipe: str, steps: int, pairs_source, seed: int = 42) -> dict:
    """Train `steps` steps with one recipe; samples/s over all steps after the first (warm-up)."""
    settings = registry.method_settings(method)
    clock = StepClock()
    out_dir = tempfile.mkdtemp(prefix="bench-trainer-")
    try:
        if recipe == "course":
            trainer = _course_trainer(model_path, method, settings, steps, pairs_source, seed, out_dir, clock)
        else:
            trainer = _studio_trainer(model_path, method, settings, recipe, steps, pairs_source, seed, out_dir,
                                      clock)
        trainer.train()
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    times = clock.times
    measured = len(times) - 1
    seconds = times[-1] - times[0]
    return {"method": method, "recipe": recipe, "steps": len(times),
            "samples_per_second": measured * BATCH_SIZE / seconds,
            "seconds_per_step": seconds / measured, "losses": clock.losses,
            "final_loss": sum(clock.losses[-3:]) / len(clock.losses[-3:])}
