"""The Evaluate tab: ROUGE and BLEU for several models on test dialogues, and its downloads."""
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
from studio.ui.plots import rouge_figure

from .common import fmt_seconds, presenter_mode_on
from .topic_groups import topic_group_table

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
    methods = {m: (ORIGINAL if m == ORIGINAL else studio.run(m).get("method", m)) for m in result.models}
    figure = rouge_figure(result.scores, {m: short_label(studio, m) for m in result.models}, methods,
                          metrics=CHART_METRICS)
    baseline = result.labels[ORIGINAL] if ORIGINAL in result.models else result.labels[result.models[0]]
    csv_path = write_scratch(scratch, "evaluation", ".csv", result.per_example.to_csv(index=False))
    per_topic, too_few = topic_group_table(studio, result, column_names(studio, result.models))
    summary = (f"Scored **{result.examples}** test dialogues with {len(result.models)} model(s) in "
               f"{fmt_seconds(result.seconds)}. Gains are against **{baseline}**, on the same dialogues; "
               "an interval that includes 0 means the difference may be chance. BLEU is sacrebleu's corpus "
               "BLEU against every reference: n-gram precision over all the summaries at once, with a "
               "penalty for being shorter than the references.")
    return EvaluationView(figure, gains_table(result.gains), _on_screen(studio, result), per_topic, csv_path,
                          summary, too_few)


def _on_screen(studio: Studio, result) -> pd.DataFrame:
    """Short column names, summaries and ROUGE-L only (the CSV keeps the full labels and every metric)."""
    short = column_names(studio, result.models)
    table = result.per_example[["id", "topic", "reference"]].copy()
    for model_id in result.models:
        table[short[model_id]] = result.per_example[f"{result.labels[model_id]}: summary"]
        table[f"{short[model_id]} ROUGE-L"] = (100 * result.per_example[f"{result.labels[model_id]}: rougeL"]).round(1)
    return table


def column_names(studio: Studio, model_ids: list[str]) -> dict[str, str]:
    """Method names as column headers; the run name is added only where a method appears twice."""
    methods = {m: ORIGINAL if m == ORIGINAL else studio.run(m).get("method", "") for m in model_ids}
    names = {}
    for model_id, method in methods.items():
        name = "Original" if method == ORIGINAL else registry.label(method)
        if list(methods.values()).count(method) > 1 and model_id != ORIGINAL:
            name = f"{name} ({studio.run_label(model_id, method=False, width=24)})"
        names[model_id] = name
    return names


def gains_table(gains: pd.DataFrame) -> pd.DataFrame:
    """One row per model: each metric's score and its gain with a 95% interval, in ROUGE (or BLEU) points."""
    rows = {}
    for record in gains.to_dict("records"):
        row = rows.setdefault(record["model"], {"Model": record["model"]})
        name = METRIC_NAMES.get(record["metric"], record["metric"])
        row[name] = round(100 * record["score"], 1)
        row[f"{name} gain"] = (f"{100 * record['gain']:+.1f} "
                               f"[{100 * record['gain_low']:+.1f}, {100 * record['gain_high']:+.1f}]")
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
