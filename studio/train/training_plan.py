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

from studio.config.settings import TrainConfig


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


# How often to measure the validation loss, from the run's length rather than a fixed 15 steps
# (a 30-step run then got two checks, too few to see it memorise). About CHECKS_PER_RUN checks,
# but never so often that checking costs more than MAX_CHECK_SHARE of training: one check is a
# forward pass over the validation pairs, measured in docs/benchmark.md at 1% of a 30-step loop
# for 8 pairs (2 checks = 2.0%), i.e. about 0.3 of a training step per 8 pairs.
CHECKS_PER_RUN = 8
MAX_CHECK_SHARE = 0.10
CHECK_STEPS_PER_PAIR = 0.3 / 8


def validation_interval(steps: int, pairs: int) -> int:
    """Steps between validation-loss checks for a run of `steps` steps checking on `pairs` pairs."""
    if steps <= 0 or pairs <= 0:
        return 0
    for_checks = math.ceil(steps / CHECKS_PER_RUN)
    for_cost = math.ceil(CHECK_STEPS_PER_PAIR * pairs / MAX_CHECK_SHARE)
    return max(1, for_checks, for_cost)


def validation_checks(steps: int, every: int) -> int:
    """How many checks a run of `steps` steps gets at one every `every` steps."""
    return steps // every if every > 0 else 0
