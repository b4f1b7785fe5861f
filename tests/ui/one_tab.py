"""Build one tab in a bare gr.Blocks and call the functions it wired, without a server or a browser.

    demo, ctx = build_tab(tab_dataset, studio, tmp_path)
    fn = wired(demo, button, "click")          # the BlockFunction a click runs
    out = fn.fn(*values)                       # what the event would send back, keyed by component
"""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.ui.context import UiContext


def build_tab(module, studio, scratch: Path, **build_args) -> tuple[gr.Blocks, UiContext]:
    """The components every tab shares (as studio/ui/app.py makes them), then module.build(ctx)."""
    with gr.Blocks() as demo:
        owner, runs_version = gr.State("alice"), gr.State(0)
        sent_example, presenter = gr.State(None), gr.State(False)
        dialogue = gr.Textbox(label="Dialogue", render=False)   # Compare's box (it renders it); others fill it
        with gr.Tabs() as tabs:
            ctx = UiContext(studio, demo, owner, tabs, runs_version, dialogue, sent_example, scratch, presenter)
            with gr.Tab("Tab under test") as tab:
                module.build(ctx, *([tab] if build_args.pop("with_tab", False) else []), **build_args)
    return demo, ctx


def by_label(demo: gr.Blocks, label: str, kind=None):
    found = [b for b in demo.blocks.values() if getattr(b, "label", None) == label
             and (kind is None or isinstance(b, kind))]
    assert len(found) == 1, f"{len(found)} components labelled {label!r}"
    return found[0]


def by_elem_id(demo: gr.Blocks, elem_id: str):
    return next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)


def wired(demo: gr.Blocks, trigger, event: str):
    """The first function `trigger`'s `event` runs (demo.load: pass trigger=demo, event="load")."""
    found = all_wired(demo, trigger, event)
    assert found, f"nothing wired to {event} of {trigger}"
    return found[0]


def all_wired(demo: gr.Blocks, trigger, event: str) -> list:
    """Every function `trigger`'s `event` runs, in the order they were wired."""
    return [fn for fn in demo.fns.values() if (trigger._id, event) in [tuple(t) for t in fn.targets]]
