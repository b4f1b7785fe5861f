"""The Evaluate tab: ROUGE and BLEU for several models on test dialogues, per topic group, its downloads,
and "What each method forgot" (the forgetting probe).

    view = run_evaluation(studio, ["original", lora_id], 20, 64, scratch)
    view.gains, view.per_example, view.csv_path          # tables, and every column as CSV
    view.per_topic                                       # ROUGE-L per topic group, small groups flagged

    view = forgetting_view(studio, ["original", lora_id, full_id])
    view.table      # one row per task: % exact match for each model, with its change from the original
    view.figure     # grouped bars per task
"""
from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from studio.config.declare import parse, spec
from studio.config.settings import ORIGINAL, EvaluationSettings, GenerationSettings
from studio.measure.evaluation import BLEU, METRIC_NAMES
from studio.model.methods import registry
from studio.ui.formatting import DECIMALS, MISSING, points, score_text
from studio.ui.plots import forgetting_figure, rouge_figure

from .common import fmt_seconds, plain, presenter_mode_on

if TYPE_CHECKING:
    from studio.service.engine import Studio


@dataclass
class EvaluationView:
    figure: object
    gains: pd.DataFrame
    per_example: pd.DataFrame     # what the page shows: summaries and ROUGE-L
    per_topic: pd.DataFrame
    csv_path: Path                # every column, for download
    summary: str
    per_topic_too_few: list = field(default_factory=list)   # per per_topic row: too few dialogues to say


CHART_METRICS = ("rouge1", "rouge2", "rougeL", BLEU)


def short_label(studio: Studio, model_id: str) -> str:
    return studio.run_label(model_id, width=40)


def run_evaluation(studio: Studio, model_ids: list[str], count, max_new_tokens, scratch: Path,
                   progress=None) -> EvaluationView:
    if not model_ids:
        raise ValueError("Tick at least one model to evaluate.")
    if not isinstance(model_ids, (list, tuple)) or not all(isinstance(m, str) for m in model_ids):
        raise ValueError("The models must be a list of names: 'original' and run ids.")
    test_size = len(studio.data.split("test"))
    limit = parse(EvaluationSettings, "limit", count, name="number of test dialogues",
                  high=min(spec(EvaluationSettings, "limit").high, test_size))
    gen = GenerationSettings(max_new_tokens=parse(GenerationSettings, "max_new_tokens", max_new_tokens)).validate()
    # A presenter's evaluation is shown, not kept: presenter mode changes nothing others see.
    result = studio.evaluate(list(model_ids), limit=limit, settings=gen, progress=progress,
                             remember=not presenter_mode_on(studio))
    methods = {m: (ORIGINAL if m == ORIGINAL else studio.run(m).method) for m in result.models}
    figure = rouge_figure(result.scores, {m: short_label(studio, m) for m in result.models}, methods,
                          metrics=CHART_METRICS)
    baseline = result.labels[ORIGINAL] if ORIGINAL in result.models else result.labels[result.models[0]]
    csv_path = write_scratch(scratch, "evaluation", ".csv", result.per_example.to_csv(index=False))
    per_topic, too_few = topic_group_table(studio, result, column_names(studio, result.models))
    summary = (f"Scored **{result.examples}** test dialogues with {len(result.models)} model(s) in "
               f"{fmt_seconds(result.seconds)}. Gains are against **{baseline}**, on the same dialogues; "
               "an interval that includes 0 means the difference may be chance. Where a dialogue has several "
               "references, ROUGE scores each summary against the one it matches best. BLEU is sacrebleu's corpus "
               "BLEU against every reference: n-gram precision over all the summaries at once, with a "
               "penalty for being shorter than the references.")
    return EvaluationView(figure, gains_table(result.gains, baseline), _on_screen(studio, result), per_topic, csv_path,
                          summary, too_few)


def _on_screen(studio: Studio, result) -> pd.DataFrame:
    """Short column names, summaries and ROUGE-L only (the CSV keeps the full labels and every metric)."""
    short = column_names(studio, result.models)
    table = result.per_example[["id", "topic", "references"]].copy()   # all of them: ROUGE takes the best match
    for model_id in result.models:
        table[short[model_id]] = result.per_example[f"{result.labels[model_id]}: summary"]
        table[f"{short[model_id]} ROUGE-L"] = (100 * result.per_example[f"{result.labels[model_id]}: rougeL"]).round(1)
    return table


def column_names(studio: Studio, model_ids: list[str]) -> dict[str, str]:
    """Method names as column headers; the run name is added only where a method appears twice."""
    methods = {m: ORIGINAL if m == ORIGINAL else studio.run(m).method for m in model_ids}
    names = {}
    for model_id, method in methods.items():
        name = "Original" if method == ORIGINAL else registry.label(method)
        if list(methods.values()).count(method) > 1 and model_id != ORIGINAL:
            name = f"{name} ({studio.run_label(model_id, method=False, width=24)})"
        names[model_id] = name
    return names


def gains_table(gains: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """One row per model: each metric's score and its gain with a 95% interval, in ROUGE (or BLEU) points.
    The `baseline` (the model gains are measured against) says so instead of "+0.0 [+0.0, +0.0]"."""
    rows = {}
    for record in gains.to_dict("records"):
        row = rows.setdefault(record["model"], {"Model": record["model"]})
        name = METRIC_NAMES.get(record["metric"], record["metric"])
        row[name] = round(100 * record["score"], 1)
        if record["model"] == baseline:
            row[f"{name} gain"] = "baseline"
            continue
        gain, low, high = (points(record[key]) for key in ("gain", "gain_low", "gain_high"))   # never "-0.0"
        row[f"{name} gain"] = f"{gain:+.1f} [{low:+.1f}, {high:+.1f}]"
    return pd.DataFrame(list(rows.values()))


def write_scratch(scratch: Path, stem: str, suffix: str, text: str) -> Path:
    """A fresh file in the app's scratch folder; files older than an hour are cleared first."""
    prune_scratch(scratch)
    folder = Path(tempfile.mkdtemp(prefix=f"{stem}-", dir=scratch))
    path = folder / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}{suffix}"
    path.write_text(text, encoding="utf-8")
    return path


def prune_scratch(scratch: Path, max_age: float = 3600) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - max_age
    for entry in scratch.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()
        except OSError:
            pass  # another request is clearing it too


# ------------------------------------------------------------------ ROUGE per topic group

TOO_FEW_STYLE = "color: #9a9a9a; font-style: italic"


def topic_group_table(studio: Studio, result, names: dict[str, str]) -> tuple[pd.DataFrame, list[bool]]:
    """One row per topic group (largest first): dialogues, then ROUGE-L [95% interval] per model.

    Returns the table and, per row, whether the group has too few dialogues to say anything.
    """
    rows, too_few = [], []
    for group in studio.per_topic(result):
        row = {"Topic group": group["group"], "Dialogues": group["examples"]}
        for model, scores in group["scores"].items():
            s = scores["rougeL"]
            # A group too small to read gets its mean alone: a one-dialogue "interval" such as
            # [3.0, 3.0] would look like certainty where there is none.
            row[f"{names[model]} ROUGE-L"] = (f"{100 * s['mean']:.1f}" if group["too_few"] else
                                              f"{100 * s['mean']:.1f} [{100 * s['low']:.1f}, {100 * s['high']:.1f}]")
        if group["too_few"]:
            row["Topic group"] += " (too few to say)"
        rows.append(row)
        too_few.append(group["too_few"])
    return pd.DataFrame(rows), too_few


def styled(table: pd.DataFrame, too_few: list[bool]):
    """The table with too-small groups greyed out (a pandas Styler; tables render it as shown)."""
    return one_decimal(table).apply(lambda row: [TOO_FEW_STYLE if too_few[row.name] else ""] * len(row), axis=1)


def one_decimal(table: pd.DataFrame):
    """The table as a pandas Styler that writes every score with one decimal, as the text and the chart do:
    a table shows a float as JavaScript writes it, so 4.0 read "4" beside "5.4". The values stay numbers
    (a column still sorts by value, and the API returns them as numbers)."""
    scores = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
    return table.style.format(f"{{:.{DECIMALS}f}}", subset=scores, na_rep=MISSING)


# ------------------------------------------------------------------ "What each method forgot"

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
    methods = {m: ORIGINAL if m == ORIGINAL else studio.run(m).method for m in models}
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
        rouge = None if model == ORIGINAL else studio.run(model).rouge_l
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
