"""The operator's ceilings on what one request may ask for: training steps and time, and the cost of one summary.

    check_step_cap(settings, plan["steps"])   # ValueError over STUDIO_MAX_STEPS_PER_RUN (plan: plan_training's)
    estimate = run_time_estimate(records, "lora", 30, batch_size=8, base_path=..., device="cpu", total_params=...)
    check_run_time(settings, estimate, "cpu")   # ValueError over STUDIO_MAX_RUN_SECONDS ("about 12 min; ... 3 min")
    check_generation_cost(settings, generation, dialogue_chars)   # over STUDIO_MAX_GENERATION_COST

The form's own bounds (5,000 steps, 8 beams, 256 tokens, 20,000 characters) say what the
studio can do; these say what one person may take of a shared machine. A summary's cost
grows with beams x new tokens x dialogue length, so the ceiling is on that product.

Time: a step's cost is measured, not guessed. Every finished run on disk says how long its
training loop took for how many steps of how many rows, on which device and base model; the
newest such runs on this machine give seconds per row, so the estimate follows the hardware the
studio actually runs on (and a loaded machine's slowness). Until a run has been measured here,
a prior from docs/benchmark.md stands in (FLAN-T5-small, fp32, per million parameters). A run
estimated over the ceiling is refused before it is queued, with the steps that would fit: a
quietly capped run would not be the run the person asked for.
"""
from __future__ import annotations

import math
import statistics
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from studio.store.records import RunRecord

# The ceiling when the operator set none (STUDIO_MAX_RUN_SECONDS): on a shared Space, a few minutes,
# so a queue of quick runs keeps moving; elsewhere (a laptop, a lab machine) there is none.
SPACE_CEILING_SECONDS = {"cpu": 180.0, "cuda": 900.0}
# Seconds per training row per million parameters before anything was measured here: full
# fine-tuning of FLAN-T5-small (77M) in fp32 took 4.26 s per batch of 8 on a 2-core CPU
# (docs/benchmark.md), and about 0.02 s per row in bf16 on a GPU (studio/service/zerogpu.py's cost).
PRIOR_ROW_SECONDS_PER_MPARAM = {"cpu": 4.26 / 8 / 77.0, "cuda": 0.02 / 77.0}
MEASURED_RUNS = 5          # the newest runs measured here that the estimate follows


def check_step_cap(settings, steps: int) -> None:
    """Refuse a training of more optimizer steps than one run may take (steps as plan_training counts them)."""
    if steps > settings.max_steps_per_run:
        raise ValueError(f"This training would take {steps:,} steps; this studio allows at most "
                         f"{settings.max_steps_per_run:,} per run (STUDIO_MAX_STEPS_PER_RUN). Ask for fewer steps.")


def generation_cost(generation, dialogue_chars: int) -> int:
    return int(generation.num_beams) * int(generation.max_new_tokens) * int(dialogue_chars)


def check_generation_cost(settings, generation, dialogue_chars: int) -> None:
    cost = generation_cost(generation, dialogue_chars)
    if cost > settings.max_generation_cost:
        raise ValueError(f"This summary asks for {generation.num_beams} beams x {generation.max_new_tokens} new "
                         f"tokens x {dialogue_chars:,} characters = {cost:,}; this studio allows at most "
                         f"{settings.max_generation_cost:,} (STUDIO_MAX_GENERATION_COST). Use fewer beams, fewer "
                         "new tokens or a shorter dialogue.")


# ------------------------------------------------------------------ time per run

def run_ceiling_seconds(settings, device: str) -> float | None:
    """The seconds one run may train here: the operator's STUDIO_MAX_RUN_SECONDS, else a Space's default."""
    ceiling = settings.max_run_seconds
    if ceiling is None:
        ceiling = SPACE_CEILING_SECONDS.get(device, SPACE_CEILING_SECONDS["cuda"]) if settings.on_space else 0
    return float(ceiling) or None


def measured_row_seconds(records: list[RunRecord], method: str, base_path: str,
                         device: str) -> tuple[float, int] | None:
    """(seconds per training row, runs it comes from): the median over the newest runs of this base on
    this device, those of `method` when there are any (methods differ by about a third).

    Only runs trained here count: an imported run's timings are whatever its run.json says (anyone can
    upload one), so a forged one could refuse every training or lift the operator's ceiling."""
    def rate(record):
        steps, seconds = record.steps, record.train_loop_seconds
        hyper = record.hyperparameters or {}
        rows = record.effective_batch_size or hyper.get("batch_size")
        if not (isinstance(steps, int) and isinstance(seconds, (int, float)) and isinstance(rows, int)):
            return None
        return seconds / (steps * rows) if steps > 0 and rows > 0 and seconds > 0 else None

    here = [r for r in records if r.status in ("completed", "stopped") and r.pulled_from is None
            and r.device == device and r.base_model_path == base_path and rate(r) is not None]
    same = [r for r in here if r.method == method] or here
    newest = sorted(same, key=lambda r: r.created_at, reverse=True)[:MEASURED_RUNS]
    return (statistics.median(rate(r) for r in newest), len(newest)) if newest else None


def run_time_estimate(records: list[RunRecord], method: str, steps: int, batch_size: int, base_path: str, device: str,
                      total_params: int | None) -> dict | None:
    """How long `steps` steps of `batch_size` rows train here: {"seconds", "step_seconds", "measured_runs"}.

    None when nothing was measured and the model's size is unknown (no estimate, so no refusal)."""
    measured = measured_row_seconds(records, method, base_path, device)
    if measured is not None:
        row_seconds, runs = measured
    elif total_params:
        prior = PRIOR_ROW_SECONDS_PER_MPARAM.get(device, PRIOR_ROW_SECONDS_PER_MPARAM["cuda"])
        row_seconds, runs = prior * total_params / 1e6, 0
    else:
        return None
    step_seconds = row_seconds * batch_size
    return {"seconds": step_seconds * steps, "step_seconds": step_seconds, "steps": steps,
            "measured_runs": runs}


def check_run_time(settings, estimate: dict | None, device: str) -> None:
    """Refuse a run estimated to train longer than this room allows, saying what would fit."""
    ceiling = run_ceiling_seconds(settings, device)
    if ceiling is None or estimate is None or estimate["seconds"] <= ceiling:
        return
    fits = math.floor(ceiling / estimate["step_seconds"]) if estimate["step_seconds"] > 0 else 0
    advice = (f"Ask for at most {fits:,} step{'s' if fits != 1 else ''}, or a smaller batch." if fits >= 1 else
              "Even one step of this batch would take longer: ask for a smaller batch.")
    raise ValueError(f"This training would take {duration(estimate['seconds'])} here ({estimate['steps']:,} "
                     f"steps at {estimate['step_seconds']:.2g} s each, {basis(estimate)}); this room allows "
                     f"{duration(ceiling, about=False)} per run (STUDIO_MAX_RUN_SECONDS), so it was not queued. "
                     f"{advice}")


def basis(estimate: dict) -> str:
    runs = estimate["measured_runs"]
    return (f"measured on this machine over {runs} earlier run{'s' if runs != 1 else ''}" if runs else
            "estimated from the model's size until a run has been measured here")


def duration(seconds: float, about: bool = True) -> str:
    """"about 12 min", "about 40 s", "3 min": a time as a person plans with it."""
    prefix = "about " if about else ""
    if seconds < 90:
        return f"{prefix}{max(1, round(seconds))} s"
    minutes = seconds / 60
    if minutes < 90:
        shown = f"{minutes:.0f}" if minutes >= 10 else f"{minutes:.1f}".rstrip("0").rstrip(".")
        return f"{prefix}{shown} min"
    return f"{prefix}{minutes / 60:.1f} h"
