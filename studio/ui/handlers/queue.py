"""The shared training queue as every participant sees it: what trains now, how many wait, your place."""
from __future__ import annotations

from typing import TYPE_CHECKING

from studio.model.methods import registry

if TYPE_CHECKING:
    from studio.service.engine import Studio

YOURS = "yours"


def queue_view(studio: Studio, owner: str | None) -> str:
    """One line: the running training (method, steps, progress; whose only if it is yours), waiting, your place."""
    from .common import presenter_mode_on

    status = studio.queue_status()
    running, waiting = status["running"], status["waiting"]
    mine = [j for j in studio.jobs_of(owner) if not j.ended] if owner else []
    if running is None and not waiting:
        # A presenter's page starts no training: it is told only that the worker is free.
        return ("**Training queue:** the shared worker is free." if presenter_mode_on(studio) else
                "**Training queue:** the shared worker is free; a training you start begins at once.")
    parts = []
    if running is not None:
        label = registry.label(running["method"])
        whose = f" ({YOURS})" if any(j.status == "running" for j in mine) else ""
        step, total = running["step"], running["max_steps"]
        progress = (f"step {step} of {total} ({100 * step / total:.0f}%)" if total and step else
                    "getting ready")
        parts.append(f"**Training now:** {label}{whose}, {progress}")
    parts.append("nobody waiting" if not waiting else f"{waiting} waiting")
    places = sorted(j.queue_position for j in mine if j.status in ("queued", "paused"))
    places = [p for p in places if p]
    if places:
        parts.append("your place: " + ", ".join(f"#{p}" for p in places))
    return " · ".join(parts) + "."


def mark_yours(label: str, yours: bool) -> str:
    """A run's label with the "yours" mark every run list and dropdown uses."""
    return f"{label} · {YOURS}" if yours else label
