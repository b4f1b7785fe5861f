"""Evaluate tab's "What each method forgot": the forgetting probe per task, next to each run's DialogSum ROUGE.

    view = forgetting_view(studio, ["original", lora_id, full_id])
    view.table      # one row per task: % exact match for each model, with its change from the original
    view.figure     # grouped bars per task
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from studio.config.settings import ORIGINAL
from studio.ui.formatting import score_text
from studio.ui.plots import forgetting_figure

from .common import fmt_seconds, plain

if TYPE_CHECKING:
    from studio.service.engine import Studio


@dataclass
class ForgettingView:
    table: pd.DataFrame
    figure: object
    summary: str


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _change(value: float) -> str:
    points = round(100 * value)
    return "±0" if points == 0 else f"{points:+d}".replace("-", "−")


def forgetting_view(studio: Studio, model_ids, progress=None) -> ForgettingView:
    if not model_ids:
        raise ValueError("Tick at least one model to probe (the original and the runs to compare with it).")
    if not isinstance(model_ids, (list, tuple)) or not all(isinstance(m, str) for m in model_ids):
        raise ValueError("The models must be a list of names: 'original' and run ids.")
    result = studio.forgetting(list(model_ids), progress=progress)
    models = list(result["scores"])
    labels = {m: studio.run_label(m, width=40) for m in models}
    methods = {m: ORIGINAL if m == ORIGINAL else studio.run(m).get("method", "") for m in models}
    tasks = list(result["tasks"])
    rows = []
    for task in tasks:
        row = {"Task": task.replace("_", " "), "Questions": result["tasks"][task]}
        for model in models:
            cell = _percent(result["scores"][model]["per_task"][task]["exact_match"])
            if model in result["change"]:
                cell += f" ({_change(result['change'][model]['per_task'][task]['exact_match'])})"
            row[labels[model]] = cell
        rows.append(row)
    for key, name in (("exact_match", "All tasks: exact match"), ("f1", "All tasks: word F1")):
        row = {"Task": name, "Questions": result["examples"]}
        for model in models:
            cell = _percent(result["scores"][model]["overall"][key])
            if model in result["change"]:
                cell += f" ({_change(result['change'][model]['overall'][key])})"
            row[labels[model]] = cell
        rows.append(row)
    row = {"Task": "DialogSum ROUGE-L (last evaluation)", "Questions": ""}
    for model in models:
        rouge = None if model == ORIGINAL else (studio.run(model).get("metrics") or {}).get("rougeL")
        row[labels[model]] = score_text(rouge)
    rows.append(row)
    summary = _summary(result, labels, fmt_seconds(result["seconds"]))
    return ForgettingView(pd.DataFrame(rows), forgetting_figure(result["scores"], labels, methods), summary)


def _summary(result: dict, labels: dict, seconds: str) -> str:
    text = (f"Asked **{result['examples']}** short questions from {len(result['tasks'])} tasks FLAN-T5 learned "
            f"before DialogSum, in {seconds}. Cells: % answered exactly right; in brackets, the change from the "
            "original in points.")
    if result.get("measurable") is False:
        return text + "\n\n" + _not_measurable(result, labels)
    lines = []
    for model, change in result["change"].items():
        points = 100 * change["overall"]["exact_match"]
        verdict = "shows no change" if round(points) == 0 else (
            f"lost {-points:.0f} points" if points < 0 else f"gained {points:.0f} points")
        lines.append(f"- **{plain(labels[model])}** {verdict} overall.")
    return text + ("\n\n" + "\n".join(lines) if lines else "")


def _not_measurable(result: dict, labels: dict) -> str:
    """What to say when the original itself scores (near) zero: no run can be said to have kept anything."""
    base = result["scores"][ORIGINAL]["overall"]["exact_match"]
    runs = [f"{plain(labels[model])} {_percent(result['scores'][model]['overall']['exact_match'])}"
            for model in result["change"]]
    return (f"**Forgetting cannot be measured on this model.** The original answers only {_percent(base)} of "
            "the questions exactly right, so there is next to nothing a run could forget, and an unchanged "
            "score says nothing about it. The offline stand-in knows none of these tasks; load FLAN-T5 "
            "(`python -m studio prefetch` while online) to measure it."
            + (f" Exactly right: {'; '.join(runs)}." if runs else ""))
