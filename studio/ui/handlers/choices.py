"""Which runs the Compare and Evaluate tabs offer."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...config import METHODS, ORIGINAL
from .common import NONE

if TYPE_CHECKING:
    from ...engine import Studio


def run_choices(studio: Studio, method: str) -> list[tuple[str, str]]:
    """(label, run id) for each loadable run of `method`, newest first; a 'none' entry ends the list."""
    runs = studio.loadable_runs(method)
    choices = [(studio.run_label(r, method=False, details=True), r["run_id"]) for r in runs]
    choices.append(("— skip —", NONE) if runs else ("none yet: train one first", NONE))
    return choices


def keep_or_newest(choices: list[tuple[str, str]], current: str | None) -> str:
    """Keep a still-valid selection; otherwise the newest run (the first choice)."""
    values = [value for _, value in choices]
    return current if current in values and current != NONE else values[0]


def model_choices(studio: Studio) -> list[tuple[str, str]]:
    return [("Original", ORIGINAL)] + [(studio.run_label(r, details=True), r["run_id"])
                                       for r in studio.loadable_runs()]


def default_models(studio: Studio) -> list[str]:
    """Original plus the newest run of each method: the comparison people want first."""
    picked = [ORIGINAL]
    for method in METHODS:
        runs = studio.loadable_runs(method)
        if runs:
            picked.append(runs[0]["run_id"])
    return picked
