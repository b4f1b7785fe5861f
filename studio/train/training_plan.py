"""What a training's steps or epochs mean for the data at hand: pairs available, pairs used, passes, steps.

    plan = plan_training(data.split("train"), TrainConfig(steps=60, batch_size=8, train_size=400))
    plan["pairs_available"], plan["pairs_used"], plan["epochs"]     # 48, 48, 10.0
    planned_steps(TrainConfig(steps=None, epochs=2, batch_size=4), 10)   # 6: two passes of 3 batches

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


def pairs_used(cfg: TrainConfig, available: int) -> int:
    """The pairs a training draws: its subset size, or every pair when the split has fewer."""
    return available if cfg.train_size is None else min(cfg.train_size, available)


def planned_steps(cfg: TrainConfig, available: int) -> int:
    """The optimizer steps a training over `available` pairs takes, counted as the Trainer counts them.

    A step count is taken as it is. Epochs become ceil(epochs x batches per pass), a pass being
    ceil(pairs used / batch) batches with the last one short: build_trainer hands the Trainer
    num_train_epochs, and transformers sets max_steps = ceil(num_train_epochs x len(dataloader)).
    (epochs x pairs / batch, rounded once, undercounts: 2 epochs of 10 pairs in batches of 4 are
    6 steps, not 5.) The operator's step cap and the plan shown before Start both count this way.
    """
    if cfg.steps is not None:
        return int(cfg.steps)
    used = pairs_used(cfg, available)
    return math.ceil(float(cfg.epochs or 0) * math.ceil(used / cfg.batch_size)) if used else 0


def plan_training(examples, cfg: TrainConfig) -> dict:
    """steps, batch size, pairs available and used, and the epochs that makes (steps x batch / pairs)."""
    available = count_pairs(examples)
    used = pairs_used(cfg, available)
    steps = planned_steps(cfg, available)
    if cfg.steps is not None:
        epochs = steps * cfg.batch_size / used if used else 0.0
    else:
        epochs = float(cfg.epochs or 0)
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
