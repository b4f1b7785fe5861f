"""The Train tab on ZeroGPU: the Start event itself trains (inside a GPU call) and streams its loss points."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from .common import plain, text
from .train import TrainForm, loss_view, train_request

if TYPE_CHECKING:
    from studio.service.engine import Studio


@dataclass
class StreamView:
    status: str
    figure: object
    ended: bool = False
    run_id: str | None = None


def train_stream(studio: Studio, owner: str, form: TrainForm) -> Iterator[StreamView]:
    """One view per loss point while the run trains, then the final one; bad input raises before any GPU work."""
    if not owner:
        raise ValueError("The page has not finished loading; try again in a moment.")
    cfg, overrides = train_request(form)
    name = text("run name", form.name, 1000)
    points: list[dict] = []
    shown = SimpleNamespace(spec=SimpleNamespace(method=form.method), events=points)  # what loss_view reads
    for event in studio.train_streaming(form.method, cfg, overrides, owner=owner, name=name):
        if event["type"] == "step":
            points.append(event)
            yield StreamView(f"Training on the GPU: step {event['step']}/{event['max_steps']}, "
                             f"loss {event['loss']:.4f}", loss_view(studio, shown))
        elif event["type"] == "done":
            record = event["record"]
            ending = ("finished" if record["status"] == "completed" else
                      "stopped at the GPU time limit; the model so far is saved" if record["status"] == "stopped"
                      else f"failed: {plain(record.get('error') or '')}")
            yield StreamView(f"**{plain(studio.run_label(record))}** {ending}.", loss_view(studio, shown),
                             ended=True, run_id=record["run_id"])
