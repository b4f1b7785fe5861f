"""The operator's ceilings on what one request may ask for: training steps, and the cost of one summary.

    check_training_budget(settings, train_config, train_rows)   # ValueError over STUDIO_MAX_STEPS_PER_RUN
    check_generation_budget(settings, generation, dialogue_chars)   # over STUDIO_MAX_GENERATION_COST

The form's own bounds (5,000 steps, 8 beams, 256 tokens, 20,000 characters) say what the
studio can do; these say what one person may take of a shared machine. A summary's cost
grows with beams x new tokens x dialogue length, so the ceiling is on that product.
"""
from __future__ import annotations

import math


def planned_steps(train, train_rows: int) -> int:
    """The optimizer steps a training will take: its steps, or epochs over the subset it draws."""
    if train.steps is not None:
        return int(train.steps)
    rows = min(train.train_size, train_rows) if train.train_size is not None else train_rows
    return max(1, math.ceil(float(train.epochs) * max(rows, 1) / train.batch_size))


def check_training_budget(settings, train, train_rows: int) -> None:
    steps = planned_steps(train, train_rows)
    if steps > settings.max_steps_per_run:
        raise ValueError(f"This training would take {steps:,} steps; this studio allows at most "
                         f"{settings.max_steps_per_run:,} per run (STUDIO_MAX_STEPS_PER_RUN). Ask for fewer steps.")


def generation_cost(generation, dialogue_chars: int) -> int:
    return int(generation.num_beams) * int(generation.max_new_tokens) * int(dialogue_chars)


def check_generation_budget(settings, generation, dialogue_chars: int) -> None:
    cost = generation_cost(generation, dialogue_chars)
    if cost > settings.max_generation_cost:
        raise ValueError(f"This summary asks for {generation.num_beams} beams x {generation.max_new_tokens} new "
                         f"tokens x {dialogue_chars:,} characters = {cost:,}; this studio allows at most "
                         f"{settings.max_generation_cost:,} (STUDIO_MAX_GENERATION_COST). Use fewer beams, fewer "
                         "new tokens or a shorter dialogue.")
