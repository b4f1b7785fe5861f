"""What a training budget means for the data at hand: pairs available, pairs used, passes over them.

    plan = training_budget(data.split("train"), TrainConfig(steps=60, batch_size=8, train_size=400))
    plan["pairs_available"], plan["pairs_used"], plan["epochs"]     # 48, 48, 10.0

A training pair is one dialogue with one of its reference summaries (training.tokenize_pairs
makes one row per reference). The subset size is a cap: with fewer pairs in the split, every
pair is used and the step budget turns into more passes over them. Saying so before Start,
and keeping it in run.json, stops a preset's "400 pairs" from quietly meaning 48.
"""
from __future__ import annotations

import math

from .config import TrainConfig


def count_pairs(examples) -> int:
    """Dialogue-summary pairs in a split: one per reference summary."""
    return sum(len(ex.references) for ex in examples)


def training_budget(examples, cfg: TrainConfig) -> dict:
    """steps, batch size, pairs available and used, and the epochs that makes (steps x batch / pairs)."""
    available = count_pairs(examples)
    used = available if cfg.train_size is None else min(cfg.train_size, available)
    if cfg.steps is not None:
        steps = cfg.steps
        epochs = steps * cfg.batch_size / used if used else 0.0
    else:  # an epoch budget: the Trainer runs whole passes, each ceil(pairs / batch) steps
        epochs = float(cfg.epochs or 0)
        steps = math.ceil(epochs * math.ceil(used / cfg.batch_size)) if used else 0
    return {"steps": steps, "batch_size": cfg.batch_size, "train_size": cfg.train_size,
            "pairs_available": available, "pairs_used": used, "epochs": round(epochs, 3)}
