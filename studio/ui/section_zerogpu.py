"""Train tab on ZeroGPU: Start runs the training inside its own event, streaming loss points (no background queue)."""
from __future__ import annotations

import secrets
from types import SimpleNamespace

from .context import UiContext
from .errors import guarded
from .handlers.train import TrainForm, train_stream


def wire_start(ctx: UiContext, ui: SimpleNamespace, form_fields: tuple[str, ...]) -> None:
    studio = ctx.studio

    def start(owner, version, **fields):
        owner = owner or secrets.token_hex(16)
        views = guarded(lambda: list_first(train_stream(studio, owner, TrainForm(**fields))))()
        if not isinstance(views, tuple):  # a user error: guarded showed it and changed nothing
            yield views
            return
        first, rest = views
        for view in (first, *rest):
            out = {ctx.owner: owner, ui.status: view.status, ui.plot: view.figure, ui.progress: ""}
            if view.ended:
                out[ctx.runs_version] = (version or 0) + 1
            yield out

    started = ui.start.click(start, outputs=[ctx.owner, ui.status, ui.plot, ui.progress, ctx.runs_version],
                             api_name="train", preprocess=False,
                             inputs_kwargs={"owner": ctx.owner, "version": ctx.runs_version,
                                            **{f: getattr(ui, f) for f in form_fields}})
    # Stop closes the streaming event: the training stops at its next step and is saved as "stopped"
    # before the GPU call returns (studio/service/zerogpu.py), still this session's to rename or delete.
    ui.stop.click(None, None, None, cancels=[started])


def list_first(views):
    """The first view (so bad input and a refused budget raise inside `guarded`), and the rest lazily."""
    return next(views), views
