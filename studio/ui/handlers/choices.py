"""Which runs the Compare and Evaluate tabs offer."""
from __future__ import annotations

from ...config import METHOD_LABELS, METHODS
from ...engine import ORIGINAL
from .common import NONE, run_label


def run_choices(studio, method: str) -> list[tuple[str, str]]:
    """(label, run id) for each loadable run of `method`, newest first; a 'none' entry ends the list."""
    runs = studio.loadable_runs(method)
    choices = [(run_label(r), r["run_id"]) for r in runs]
    choices.append(("— skip —", NONE) if runs else ("none yet: train one first", NONE))
    return choices


def keep_or_newest(choices: list[tuple[str, str]], current: str | None) -> str:
    """Keep a still-valid selection; otherwise the newest run (the first choice)."""
    values = [value for _, value in choices]
    return current if current in values and current != NONE else values[0]


def model_choices(studio) -> list[tuple[str, str]]:
    choices = [("Original", ORIGINAL)]
    for record in studio.loadable_runs():
        choices.append((f"{METHOD_LABELS.get(record['method'], record['method'])}: {run_label(record)}",
                        record["run_id"]))
    return choices


def default_models(studio) -> list[str]:
    """Original plus the newest run of each method: the comparison people want first."""
    picked = [ORIGINAL]
    for method in METHODS:
        runs = studio.loadable_runs(method)
        if runs:
            picked.append(runs[0]["run_id"])
    return picked
