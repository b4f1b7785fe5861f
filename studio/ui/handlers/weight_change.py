"""Runs tab's "Where each method changed the model": a run's weight-change map and one update's singular values.

    view = weight_change_view(studio, run_id)            # the map, and the largest change's singular values
    view.changes_weights   # False for prompt tuning: then view.note says so and points to its readout
    view.map_figure, view.values_figure                  # Plotly figures
    view.matrix_choices, view.matrix                     # the dropdown of matrices and the one shown
    figure, note = singular_values_view(studio, run_id, matrix)   # another matrix picked

The numbers come from studio.measure.weight_change through the Studio; here they are put into words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.measure.weight_change import place
from studio.model.methods import registry
from studio.ui.plots import singular_values_figure, weight_change_figure

from .queue import mark_yours

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from studio.service.engine import Studio

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
    return [(mark_yours(studio.run_label(r, details=True), studio.owns(r, owner)), r["run_id"])
            for r in studio.loadable_runs() if registry.find(r.get("method")) is not None]


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
    method = studio.run(run_id).get("method")
    values = studio.weight_singular_values(run_id, matrix)
    return singular_values_figure(values, method, matrix_label(matrix)), _values_note(values)
