"""The Runs tab: the table, rename, delete, download, quality against size."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from studio.model.methods import registry
from studio.ui.formatting import score_text
from studio.ui.plots import efficiency_figure

from .common import fmt_bytes, fmt_params, fmt_seconds, plain, refuse_in_presenter_mode
from .evaluate import prune_scratch
from .queue import mark_yours

if TYPE_CHECKING:
    from studio.service.engine import Studio


# Shown above the empty table, so a first visitor learns where runs come from.
NO_RUNS_YET = ("**No runs saved yet.** Train one in the Train tab, or run `python -m studio prepare` to "
               "make one of each method.")
RUN_COLUMNS = ["Name", "Method", "Status", "Steps", "Time", "Trainable params", "Size on disk",
               "Final loss", "ROUGE-L", "Experiment", "Run id"]


def grouped_by_experiment(records: list[dict]) -> list[dict]:
    """Newest first, but the runs of one experiment together, where its newest run stands."""
    groups: dict[str, list[dict]] = {}
    for r in records:
        key = (r.get("experiment") or {}).get("id") or r["run_id"]
        groups.setdefault(key, []).append(r)
    return [r for group in groups.values() for r in group]


def experiment_notes(studio: Studio) -> dict[str, str]:
    """A note for each experiment that did not end well: cut short by a restart, or failed: without
    it the Runs tab lists the runs an experiment left with nothing saying that it never finished."""
    from .experiment import _where_text  # one wording for "where it stopped", the Train tab's too

    notes = {}
    for experiment in studio.all_experiments():
        if experiment.status == "interrupted":
            notes[experiment.experiment_id] = (f"cut short {_where_text(experiment.stopped_at)}; its owner can "
                                               "finish it (Train tab, Train all three)")
        elif experiment.status == "failed":
            notes[experiment.experiment_id] = "failed: no training finished"
    return notes


def experiment_cell(record: dict, first: bool, notes: dict[str, str] | None = None) -> str:
    """The experiment's id and budget on its first row; the rows below only point up to it."""
    experiment = record.get("experiment") or {}
    if not experiment:
        return ""
    if not first:
        return "↳ same experiment"
    b = experiment.get("budget") or {}
    rate = "own learning rates" if b.get("learning_rate") is None else f"learning rate {b['learning_rate']:g}"
    note = (notes or {}).get(experiment.get("id"))
    return (f"{experiment.get('id', '')}: {b.get('steps')} steps × batch {b.get('batch_size')}, "
            f"{b.get('train_size')} pairs, seed {b.get('seed')}, {rate}" + (f" · {note}" if note else ""))


def status_cell(record: dict) -> str:
    """The status, and whether the saved model it speaks of is still there."""
    status = record.get("status", "")
    return f"{status}, model missing" if record.get("model_missing") else status


def runs_table(records: list[dict], yours: set[str] | frozenset = frozenset(),
               notes: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per run; runs whose id is in `yours` (this session's) say so after their name;
    `notes`: experiment id -> what went wrong with it (experiment_notes)."""
    rows, seen = [], set()
    for r in grouped_by_experiment(records):
        loss = r.get("final_loss")
        experiment_id = (r.get("experiment") or {}).get("id")
        rows.append({
            "Name": mark_yours(r.get("name") or r["run_id"], r["run_id"] in yours),
            "Method": registry.label(r.get("method", "")),
            "Status": status_cell(r),
            "Steps": r.get("steps") if r.get("steps") is not None else "",
            "Time": fmt_seconds(r.get("train_seconds")),
            "Trainable params": fmt_params(r.get("trainable_params"), r.get("trainable_share")),
            "Size on disk": fmt_bytes(r.get("size_bytes")),
            "Final loss": f"{loss:.3f}" if isinstance(loss, (int, float)) else "",
            "ROUGE-L": score_text((r.get("metrics") or {}).get("rougeL")),
            "Experiment": experiment_cell(r, experiment_id not in seen, notes),
            "Run id": r["run_id"],
        })
        seen.add(experiment_id)
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def run_dropdown(studio: Studio, records: list[dict], owner: str | None = None) -> list[tuple[str, str]]:
    return [(mark_yours(studio.run_label(r, details=True), studio.owns(r, owner)), r["run_id"]) for r in records]


def yours(studio: Studio, records: list[dict], owner: str | None) -> set[str]:
    """The ids of the runs this session trained."""
    return {r["run_id"] for r in records if studio.owns(r, owner)}


def rename_run(studio: Studio, run_id: str | None, name: str, owner: str) -> str:
    """Rename one of this session's runs (others' runs are theirs to name)."""
    refuse_in_presenter_mode(studio, "renaming runs")
    if not run_id:
        raise ValueError("Pick a run first.")
    record = studio.rename_run(run_id, name, owner)
    return f"Renamed to **{plain(record['name'])}**."


def delete_run(studio: Studio, run_id: str | None, owner: str, confirmed: bool) -> str:
    refuse_in_presenter_mode(studio, "deleting runs")
    if not run_id:
        raise ValueError("Pick a run first.")
    if confirmed is not True:
        raise ValueError("Tick “I'm sure” first: deleting a run cannot be undone.")
    name = studio.run_label(run_id, method=False)
    studio.delete_run(run_id, owner)
    return f"Deleted **{plain(name)}**."


def zip_run(studio: Studio, run_id: str | None, scratch: Path) -> Path:
    """The run's model, run.json and loss curve as a zip in the scratch folder, fit to share."""
    if not run_id:
        raise ValueError("Pick a run first.")
    studio.run(run_id)  # an unknown or malformed id is refused before the scratch folder is touched
    prune_scratch(scratch)
    return studio.zip_run(run_id, scratch)


def efficiency_view(studio: Studio):
    return efficiency_figure(studio.runs())
