"""The Runs tab: the table, rename, delete, download, quality against size; what a tuned prompt reads as,
where a run changed the weights, and sharing runs on the Hub.

    table = runs_table(studio.runs(), yours(studio, studio.runs(), owner), experiment_notes(studio))
    rename_run(studio, run_id, "my run", owner); zip_run(studio, run_id, scratch)
    readout_table(studio, prompt_run_id, top_k=5)        # each virtual token's nearest vocabulary tokens
    view = weight_change_view(studio, run_id)            # the map, and the largest change's singular values
    view.changes_weights   # False for prompt tuning: then view.note says so and points to its readout
    figure, note = singular_values_view(studio, run_id, matrix)   # another matrix picked
    push_run(studio, run_id, "me/my-lora", private=True, owner=owner)   # the token stays on the server

The weight-change numbers come from studio.measure.weight_change through the Studio; here they are put into words.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from studio.config.declare import shown
from studio.measure.prompt_readout import CAVEAT, MAX_TOP_K
from studio.measure.weight_change import place
from studio.model.methods import registry
from studio.ui.formatting import score_text
from studio.ui.plots import efficiency_figure, singular_values_figure, weight_change_figure

from .common import fmt_bytes, fmt_params, fmt_seconds, plain, refuse_in_presenter_mode, text
from .evaluate import prune_scratch
from .queue import mark_yours

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from studio.service.engine import Studio
    from studio.store.records import RunRecord


# Shown above the empty table, so a first visitor learns where runs come from.
NO_RUNS_YET = ("**No runs saved yet.** Train one in the Train tab, or run `python -m studio prepare` to "
               "make one of each method.")
RUN_COLUMNS = ["Name", "Method", "Status", "Steps", "Time", "Trainable params", "Size on disk",
               "Final loss", "ROUGE-L", "Experiment", "Run id"]


def grouped_by_experiment(records: list[RunRecord]) -> list[RunRecord]:
    """Newest first, but the runs of one experiment together, where its newest run stands."""
    groups: dict[str, list[RunRecord]] = {}
    for r in records:
        key = r.experiment_id or r.run_id
        groups.setdefault(key, []).append(r)
    return [r for group in groups.values() for r in group]


def experiment_notes(studio: Studio) -> dict[str, str]:
    """A note for each experiment that did not end well: cut short by a restart, or failed: without
    it the Runs tab lists the runs an experiment left with nothing saying that it never finished."""
    from .train_experiment import _where_text  # one wording for "where it stopped", the Train tab's too

    notes = {}
    for experiment in studio.all_experiments():
        if experiment.status == "interrupted":
            notes[experiment.experiment_id] = (f"cut short {_where_text(experiment.stopped_at)}; its owner can "
                                               "finish it (Train tab, Train all three)")
        elif experiment.status == "failed":
            notes[experiment.experiment_id] = "failed: no training finished"
    return notes


def experiment_cell(record: RunRecord, first: bool, notes: dict[str, str] | None = None) -> str:
    """The experiment's id and budget on its first row; the rows below only point up to it."""
    experiment = record.experiment or {}
    if not experiment:
        return ""
    if not first:
        return "↳ same experiment"
    b = experiment.get("budget") or {}
    rate = "own learning rates" if b.get("learning_rate") is None else f"learning rate {b['learning_rate']:g}"
    note = (notes or {}).get(experiment.get("id"))
    return (f"{experiment.get('id', '')}: {b.get('steps')} steps × batch {b.get('batch_size')}, "
            f"{b.get('train_size')} pairs, seed {b.get('seed')}, {rate}" + (f" · {note}" if note else ""))


def status_cell(record: RunRecord) -> str:
    """The status, and whether the saved model it speaks of is still there."""
    status = record.status
    return f"{status}, model missing" if record.model_missing else status


def runs_table(records: list[RunRecord], yours: set[str] | frozenset = frozenset(),
               notes: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per run; runs whose id is in `yours` (this session's) say so after their name;
    `notes`: experiment id -> what went wrong with it (experiment_notes)."""
    rows, seen = [], set()
    for r in grouped_by_experiment(records):
        loss = r.final_loss
        experiment_id = r.experiment_id
        rows.append({
            "Name": mark_yours(r.name or r.run_id, r.run_id in yours),
            "Method": registry.label(r.method),
            "Status": status_cell(r),
            "Steps": r.steps if r.steps is not None else "",
            "Time": fmt_seconds(r.train_seconds),
            "Trainable params": fmt_params(r.trainable_params, r.trainable_share),
            "Size on disk": fmt_bytes(r.size_bytes),
            "Final loss": f"{loss:.3f}" if isinstance(loss, (int, float)) else "",
            "ROUGE-L": score_text(r.rouge_l),
            "Experiment": experiment_cell(r, experiment_id not in seen, notes),
            "Run id": r.run_id,
        })
        seen.add(experiment_id)
    return pd.DataFrame(rows, columns=RUN_COLUMNS)


def run_dropdown(studio: Studio, records: list[RunRecord], owner: str | None = None) -> list[tuple[str, str]]:
    return [(mark_yours(studio.run_label(r, details=True), studio.owns(r, owner)), r.run_id) for r in records]


def yours(studio: Studio, records: list[RunRecord], owner: str | None) -> set[str]:
    """The ids of the runs this session trained."""
    return {r.run_id for r in records if studio.owns(r, owner)}


def rename_run(studio: Studio, run_id: str | None, name: str, owner: str) -> str:
    """Rename one of this session's runs (others' runs are theirs to name)."""
    refuse_in_presenter_mode(studio, "renaming runs")
    if not run_id:
        raise ValueError("Pick a run first.")
    record = studio.rename_run(run_id, name, owner)
    return f"Renamed to **{plain(record.name)}**."


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


# ------------------------------------------------------------------ "What prompt tuning learned"

DEFAULT_TOP_K = 5
CAVEAT_LINE = f"⚠️ {CAVEAT} “▁” marks the start of a word."


def prompt_run_choices(studio: Studio, owner: str | None = None) -> list[tuple[str, str]]:
    """(label, run id) for every soft-prompt run (prompt tuning) with a saved prompt, newest first; the person's
    own marked."""
    soft_prompts = {m.name for m in registry.METHODS if m.soft_prompt}
    return [(mark_yours(studio.run_label(r, method=False, details=True), studio.owns(r, owner)), r.run_id)
            for r in studio.loadable_runs() if r.method in soft_prompts]


def _top_k(value) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_TOP_K:
        raise ValueError(f"The number of nearest tokens must be a whole number from 1 to {MAX_TOP_K}, "
                         f"not {shown(value)}.")
    return value


def readout_table(studio: Studio, run_id, top_k=DEFAULT_TOP_K) -> pd.DataFrame:
    """One row per virtual token: its index, then its nearest tokens with their cosine, most similar first."""
    if not run_id or not isinstance(run_id, str):
        raise ValueError("Pick a prompt-tuning run first.")
    top_k = _top_k(top_k)
    result = studio.prompt_readout(run_id, top_k)
    rows = []
    for entry in result["virtual_tokens"]:
        row = {"Virtual token": entry["index"] + 1}
        if "part" in entry:
            row["Part"] = entry["part"]
        for rank, near in enumerate(entry["nearest"], 1):
            row[f"Nearest {rank}"] = f"{near['token']} ({near['cosine']:.2f})"
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------ "Where each method changed the model"

READOUT_POINTER = "That section is just above this one, in this tab."


@dataclass
class WeightChangeView:
    changes_weights: bool
    note: str                                  # markdown: what the map shows, in words
    map_figure: go.Figure | None
    matrix_choices: list[tuple[str, str]]      # (label, weight name), in the model's order
    matrix: str | None
    values_figure: go.Figure | None
    values_note: str                           # markdown: what the singular values say


def weight_run_choices(studio: Studio, owner: str | None = None) -> list[tuple[str, str]]:
    """(label, run id) for every run of a known method with a saved model, newest first; prompt tuning too, and
    a change the view does not read (each says why there is no map); the person's own marked."""
    return [(mark_yours(studio.run_label(r, details=True), studio.owns(r, owner)), r.run_id)
            for r in studio.loadable_runs() if registry.find(r.method) is not None]


WHOLE_MODEL = {"shared": "input embeddings (shared)", "lm_head": "output head (lm_head)"}


def matrix_label(name: str) -> str:
    """How a weight reads on screen: "decoder 2 · cross-attn q", "encoder position bias"; others by their name."""
    part, layer, kind = place(name)
    if layer is not None:
        return f"{part} {layer + 1} · {kind}"
    if name.endswith("relative_attention_bias.weight"):   # T5 keeps one table per stack, in its first layer
        return f"{name.split('.')[0]} position bias"
    return WHOLE_MODEL.get(kind, kind)


def _percent(value) -> str:
    if value is None:
        return "–"
    return "0%" if value == 0 else f"{100 * value:.2g}%"


def _run_id(run_id) -> str:
    if not run_id or not isinstance(run_id, str):
        raise ValueError("Pick a run first.")
    return run_id


def _matrix(matrix) -> str | None:
    if matrix in (None, ""):
        return None
    if not isinstance(matrix, str):
        raise ValueError("Pick a weight matrix from the list.")
    return matrix


def _map_note(result: dict) -> str:
    matrices = result["matrices"]
    changed = [m for m in matrices if m["relative_change"]]
    largest = next(m for m in matrices if m["name"] == result["largest"]) if result["largest"] else None
    top = (f" The largest change is **{_percent(largest['relative_change'])}** of a matrix's size, in "
           f"{matrix_label(largest['name'])}." if largest else "")
    whole = [m for m in matrices if m["layer"] is None]
    outside = ("  \nNot on the map (whole-model matrices): " + ", ".join(
        f"{matrix_label(m['name'])} {_percent(m['relative_change'])}" for m in whole)) if whole else ""
    if result.get("low_rank"):
        lora = result[result["method"]]   # the adapter's settings, under its method's name
        rslora = " (rsLoRA: alpha / √r)" if lora.get("use_rslora") else " (alpha / r)"
        scaling = lora["scaling"] if not isinstance(lora["scaling"], list) else ", ".join(map(str, lora["scaling"]))
        targets = ", ".join(map(str, lora.get("target_modules") or []))
        return (f"LoRA added an update B A × {scaling}{rslora} beside **{len(changed)} of {len(matrices)}** weight "
                f"matrices, its target modules ({targets}); every other matrix is exactly the base model's, 0 on "
                f"the map.{top}{outside}")
    return (f"Full fine-tuning changed **{len(changed)} of {len(matrices)}** weight matrices: every weight was "
            f"trainable.{top}{outside}")


def _values_note(values: dict) -> str:
    rank, size = values["numerical_rank"], min(values["shape"])
    name = matrix_label(values["matrix"])
    if rank == 0:
        return f"The update to **{name}** is zero: LoRA did not target this matrix."
    if values.get("rank_limit") is not None:   # a low-rank update: B A has at most r directions
        return (f"The update to **{name}** has rank **{rank}** of a possible {size}: B A can never have more than "
                f"r = {values['rank_limit']} directions, so the values after no. {values['rank_limit']} are "
                "round-off of zero.")
    return (f"The update to **{name}** has rank **{rank}** of a possible {size}: full fine-tuning is not held to "
            "a few directions, though most of the change often sits in the first ones.")


def weight_change_view(studio: Studio, run_id, matrix=None) -> WeightChangeView:
    """The map of a run's change, and the singular values of `matrix` (default: the largest change)."""
    run_id = _run_id(run_id)
    result = studio.weight_change(run_id, _matrix(matrix))
    if not result["changes_weights"]:   # False: a soft prompt, read in the section above; None: not read here
        pointer = f" {READOUT_POINTER}" if result["changes_weights"] is False else ""
        return WeightChangeView(False, f"{result['message']}{pointer}", None, [], None, None, "")
    label = studio.run_label(run_id)
    values = result["singular_values"]
    choices = [(f"{matrix_label(m['name'])} ({_percent(m['relative_change'])})", m["name"])
               for m in result["matrices"]]
    return WeightChangeView(True, _map_note(result), weight_change_figure(result, label), choices, values["matrix"],
                            singular_values_figure(values, result["method"], matrix_label(values["matrix"])),
                            _values_note(values))


def singular_values_view(studio: Studio, run_id, matrix) -> tuple[go.Figure, str]:
    """Another matrix picked: its update's singular values and what they say (the map stays as it is)."""
    run_id, matrix = _run_id(run_id), _matrix(matrix)
    if matrix is None:
        raise ValueError("Pick a weight matrix from the list.")
    method = studio.run(run_id).method
    values = studio.weight_singular_values(run_id, matrix)
    return singular_values_figure(values, method, matrix_label(matrix)), _values_note(values)


# ------------------------------------------------------------------ "Share on the Hugging Face Hub"

MAX_IMPORT_FILES = 20


def push_run(studio: Studio, run_id: str | None, repo: str, private: bool, owner: str,
             client_factory=None) -> str:
    """Upload one of this session's runs; the token stays on the server (studio/model/hub.py reads it)."""
    refuse_in_presenter_mode(studio, "pushing runs")
    if not run_id:
        raise ValueError("Pick a run first.")
    repo = text("repository", repo, 200).strip()
    try:
        result = studio.push_run(run_id, repo, private=private is True, owner=owner, client_factory=client_factory)
    except PermissionError:  # ours (not this session's run): its message says why
        raise
    except OSError as exc:  # the network or the Hub said no: say so, without a traceback
        raise ValueError(f"The Hub did not accept the upload: {type(exc).__name__}.") from None
    visibility = "private" if result["private"] else "public"
    return (f"Pushed **{plain(studio.run_label(run_id, method=False))}** to the {visibility} model repo "
            f"[{plain(repo)}](https://huggingface.co/{repo}): {len(result['files'])} files.")


def import_from_hub(studio: Studio, repo: str, client_factory=None, owner: str = "") -> str:
    """A pushed run or a PEFT adapter repo on the Hub, as a new run here."""
    refuse_in_presenter_mode(studio, "importing runs")
    from studio.model.hub import check_repo_id

    repo = check_repo_id(text("repository", repo, 200).strip())  # never a folder on the server
    try:
        record = studio.pull_run(repo, client_factory=client_factory, owner=owner or None)
    except PermissionError:
        raise
    except OSError as exc:  # unreachable, unknown or private repo
        raise ValueError(f"Could not fetch {repo} from the Hub ({type(exc).__name__}): is it public, "
                         "spelled right, and is this studio online?") from None
    return f"Imported {plain(repo)} as **{plain(studio.run_label(record))}**."


def import_files(studio: Studio, paths: list[str] | None, scratch: Path, owner: str = "") -> str:
    """Uploaded files of one run or adapter folder (weights as safetensors, configs), as a new run."""
    refuse_in_presenter_mode(studio, "importing runs")
    paths = [p for p in (paths or []) if p]
    if not paths:
        raise ValueError("Choose the files of a run or adapter folder first (adapter_config.json and "
                         "adapter_model.safetensors, or config.json and model.safetensors).")
    if len(paths) > MAX_IMPORT_FILES:
        raise ValueError(f"{len(paths)} files is more than a run holds; choose at most {MAX_IMPORT_FILES}.")
    from studio.model.hub import os_error_text

    holder = None
    try:
        scratch.mkdir(parents=True, exist_ok=True)
        holder = Path(tempfile.mkdtemp(prefix="import-", dir=scratch))
        folder = holder / "uploaded files"  # the origin an imported run is named after
        folder.mkdir()
        for path in paths:
            name = Path(path).name
            if not name or name.startswith("."):
                continue
            shutil.copy2(path, folder / name)
        record = studio.pull_run(str(folder), owner=owner or None)
    except OSError as exc:  # the server's disk (full, say) while copying the upload: the person's words
        raise ValueError(f"The uploaded files could not be imported: {os_error_text(exc)}") from None
    finally:
        if holder is not None:
            shutil.rmtree(holder, ignore_errors=True)
    return f"Imported the uploaded files as **{plain(studio.run_label(record))}**."
