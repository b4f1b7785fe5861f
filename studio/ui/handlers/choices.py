"""Which runs the Compare and Evaluate tabs offer, the person's own marked "yours" and picked first."""
from __future__ import annotations

from typing import TYPE_CHECKING

from studio.config.settings import ORIGINAL
from studio.model.methods import registry

from ..formatting import short_run_name
from .common import NONE, SKIP
from .queue import mark_yours

PICKER_NAME_CHARS = 28   # a run's name in a Compare picker, two pickers a row

if TYPE_CHECKING:
    from studio.service.engine import Studio


def run_choices(studio: Studio, method: str, owner: str | None = None) -> list[tuple[str, str]]:
    """(label, run id) for each loadable run of `method`, newest first; 'skip' (or 'none yet') ends the list."""
    runs = studio.loadable_runs(method)
    # The picker's label already names the method and a dropdown is narrow: an experiment's run reads
    # "exp 004049-8746 (30 steps, ROUGE-L 2.5)", not "20261208-004049-8746 Full fine-tuning (30 ..." cut short.
    choices = [(mark_yours(studio.run_label(r, method=False, details=True, name=short_run_name(r, PICKER_NAME_CHARS)),
                           studio.owns(r, owner)), r.run_id) for r in runs]
    choices.append(("— skip —", SKIP) if runs else ("none yet: train one first", NONE))
    return choices


def default_run(studio: Studio, method: str, owner: str | None = None) -> str | None:
    """The person's own newest run of `method`; the newest of anyone only when they have none."""
    runs = studio.loadable_runs(method)
    own = [r for r in runs if studio.owns(r, owner)]
    return (own or runs)[0].run_id if runs else None


def keep_or_newest(choices: list[tuple[str, str]], current: str | None, preferred: str | None = None) -> str:
    """Keep a still-valid selection (a skip too); otherwise `preferred` if offered, else the newest run.

    "none yet" is not kept: once a run of the method exists, the column shows it.
    """
    values = [value for _, value in choices]
    if current in values and current != NONE:
        return current
    return preferred if preferred in values else values[0]


def compare_picks(studio: Studio, owner: str | None, current=None) -> dict[str, tuple[list, str]]:
    """Per method: the Compare dropdown's choices, and the pick kept or defaulted to the person's own."""
    current = list(current or []) + [None] * len(registry.NAMES)
    out = {}
    for method, value in zip(registry.NAMES, current):
        choices = run_choices(studio, method, owner)
        out[method] = (choices, keep_or_newest(choices, value, default_run(studio, method, owner)))
    return out


def model_choices(studio: Studio, owner: str | None = None) -> list[tuple[str, str]]:
    return [("Original", ORIGINAL)] + [(mark_yours(studio.run_label(r, details=True), studio.owns(r, owner)),
                                        r.run_id) for r in studio.loadable_runs()]


def default_models(studio: Studio, owner: str | None = None) -> list[str]:
    """Original plus, per method, the person's own newest run (anyone's newest if they have none)."""
    picked = [ORIGINAL]
    for method in registry.NAMES:
        run_id = default_run(studio, method, owner)
        if run_id:
            picked.append(run_id)
    return picked


def evaluate_selection(studio: Studio, owner: str | None, current, seen) -> tuple[list, list[str], list[str]]:
    """The Evaluate tab's models after runs changed: (choices, ticked, now seen).

    Ticks stay as the person left them; a run is ticked on its own only when it is the person's
    own newest of its method and new since the last look (their training just finished). Other
    people's new runs are offered, never ticked.
    """
    choices = model_choices(studio, owner)
    valid = [value for _, value in choices]
    kept = [m for m in (current or []) if m in valid]
    fresh = [m for m in default_models(studio, owner)
             if m != ORIGINAL and m not in (seen or []) and m not in kept and studio.owns(m, owner)]
    return choices, kept + fresh, valid
