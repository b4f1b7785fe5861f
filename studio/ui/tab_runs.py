"""Runs tab: every run on disk; rename or delete your own, download any as a zip; quality vs. size."""
from __future__ import annotations

import gradio as gr

from . import handlers as h
from .app import UiContext, guarded


def build(ctx: UiContext, tab: gr.Tab) -> None:
    studio = ctx.studio
    records = studio.store.list()
    with gr.Row():
        gr.Markdown("Every training run saved on this machine, newest first. You can rename or delete runs "
                    "trained in this browser; anyone can download a run.", elem_classes=["tab-intro"])
        refresh_btn = gr.Button("↻ Refresh", size="sm", scale=0, min_width=120)
    table = gr.Dataframe(h.runs_table(records), interactive=False, wrap=True, max_height=420,
                         show_label=False, elem_id="runs-table",
                         column_widths=["17%", "10%", "9%", "6%", "8%", "13%", "8%", "7%", "7%", "15%"])
    with gr.Row():
        with gr.Column(scale=3):
            picked = gr.Dropdown(h.run_dropdown(records), value=None, label="Run")
            new_name = gr.Textbox(label="New name", max_length=80)
            with gr.Row():
                rename_btn = gr.Button("Rename")
                zip_btn = gr.Button("Zip the model")
            zip_file = gr.DownloadButton("Download zip", visible=False, variant="primary")
            with gr.Row(equal_height=True, elem_classes=["danger-row"]):
                sure = gr.Checkbox(label="I'm sure", value=False, scale=1)
                delete_btn = gr.Button("Delete run", variant="stop", scale=1)
            message = gr.Markdown()
        with gr.Column(scale=4):
            chart = gr.Plot(h.efficiency_view(studio), show_label=False)

    def listing(current=None):
        records = studio.store.list()
        choices = h.run_dropdown(records)
        value = current if isinstance(current, str) and current in {v for _, v in choices} else None
        return h.runs_table(records), gr.Dropdown(choices=choices, value=value), h.efficiency_view(studio)

    listed = [table, picked, chart]
    # preprocess=False here and below: the handlers check run ids against the disk, so a script
    # can act on a run made after its session began (the dropdown's choices are fixed per session).
    refresh_btn.click(listing, picked, listed, api_name="list_runs", preprocess=False)
    quiet = dict(api_visibility="private", show_progress="hidden")
    ctx.runs_version.change(listing, picked, listed, **quiet)
    tab.select(listing, picked, listed, **quiet)
    ctx.demo.load(listing, picked, listed, **quiet)

    @guarded(3)
    def rename(run_id, name, owner, version):
        text = h.rename_run(studio, run_id, name, owner)
        return text, "", (version or 0) + 1

    rename_btn.click(rename, [picked, new_name, ctx.owner, ctx.runs_version], [message, new_name, ctx.runs_version],
                     api_name="rename_run", preprocess=False)

    @guarded(3)
    def delete(run_id, confirmed, owner, version):
        text = h.delete_run(studio, run_id, owner, confirmed)
        return text, False, (version or 0) + 1

    delete_btn.click(delete, [picked, sure, ctx.owner, ctx.runs_version], [message, sure, ctx.runs_version],
                     api_name="delete_run", preprocess=False)

    @guarded(1)
    def make_zip(run_id):
        path = h.zip_run(studio, run_id, ctx.scratch)
        return gr.DownloadButton(f"Download {path.name}", value=str(path), visible=True)

    zip_btn.click(make_zip, picked, zip_file, api_name="download_run", preprocess=False)
    # A zip of another run must not linger next to a new choice.
    picked.change(lambda _: gr.DownloadButton(value=None, visible=False), picked, zip_file, **quiet)
