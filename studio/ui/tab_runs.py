"""Runs tab: every run on disk; rename or delete your own, download any as a zip; quality vs. size; what each
method learned (the soft-prompt readout) and where it changed the weights."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from . import section_hub, section_readout, section_weights
from .context import QUIET, UiContext
from .errors import guarded
from .handlers import runs as hr
from .turns import session_owner
from .widgets import refreshed_choices


@dataclass
class RunsWidgets:
    """The Runs tab's listing, its run pick and what can be done with the picked run."""
    refresh: gr.Button
    empty: gr.Markdown
    table: gr.Dataframe
    picked: gr.Dropdown         # the run the buttons below act on
    zip: gr.Button
    zip_file: gr.DownloadButton
    manage: gr.Column           # rename and delete: hidden on a presenter page
    new_name: gr.Textbox
    rename: gr.Button
    sure: gr.Checkbox
    delete: gr.Button
    message: gr.Markdown
    chart: gr.Plot              # quality vs. trained parameters


def build(ctx: UiContext, tab: gr.Tab) -> None:
    ui = _layout(ctx)
    _wire_listing(ctx, ui, tab)
    _wire_actions(ctx, ui)
    _wire_presenter(ctx, ui)
    section_readout.build(ctx, tab)  # what a prompt-tuning run's virtual tokens are near
    section_weights.build(ctx, tab)  # where a run changed the weights (prompt tuning points up to the readout)
    section_hub.build(ctx, ui.picked)


def _layout(ctx: UiContext) -> RunsWidgets:
    studio = ctx.studio
    records = studio.runs()
    with gr.Row():
        gr.Markdown("Every training run saved on this machine, newest first; anyone can download a run.",
                    elem_classes=["tab-intro"])
        refresh = gr.Button("↻ Refresh", size="sm", scale=0, min_width=120)
    empty = gr.Markdown(hr.NO_RUNS_YET, visible=not records, elem_id="runs-empty")
    table = gr.Dataframe(hr.runs_table(records, notes=hr.experiment_notes(studio)), interactive=False, wrap=True,
                         max_height=420, show_label=False, elem_id="runs-table",
                         column_widths=["14%", "9%", "8%", "5%", "7%", "11%", "7%", "6%", "6%", "15%", "12%"])
    with gr.Row():
        with gr.Column(scale=3):
            picked = gr.Dropdown(hr.run_dropdown(studio, records), value=None, label="Run", elem_id="runs-picked")
            zip_button = gr.Button("Zip the model")
            zip_file = gr.DownloadButton("Download zip", visible=False, variant="primary")
            # Renaming and deleting: hidden in presenter mode, so a stray click cannot derail a demo.
            with gr.Column(visible=not studio.settings.presenter) as manage:
                gr.Markdown("You can rename or delete the runs trained or imported in this browser.",
                            elem_classes=["runs-manage-note"])
                with gr.Row(equal_height=True):
                    new_name = gr.Textbox(label="New name", max_length=80, scale=3)
                    rename = gr.Button("Rename", scale=1)
                with gr.Row(equal_height=True, elem_classes=["danger-row"]):
                    sure = gr.Checkbox(label="I'm sure", value=False, scale=1, elem_id="runs-sure")
                    delete = gr.Button("Delete run", variant="stop", scale=1)
            message = gr.Markdown(elem_id="runs-message")
        with gr.Column(scale=4):
            chart = gr.Plot(hr.efficiency_view(studio), show_label=False)
    return RunsWidgets(refresh=refresh, empty=empty, table=table, picked=picked, zip=zip_button, zip_file=zip_file,
                       manage=manage, new_name=new_name, rename=rename, sure=sure, delete=delete, message=message,
                       chart=chart)


def _wire_listing(ctx: UiContext, ui: RunsWidgets, tab: gr.Tab) -> None:
    studio = ctx.studio

    def listing(current=None, owner=None):
        records = studio.runs()
        choices = hr.run_dropdown(studio, records, owner)
        value = current if isinstance(current, str) and current in {v for _, v in choices} else None
        return {ui.table: hr.runs_table(records, hr.yours(studio, records, owner), hr.experiment_notes(studio)),
                ui.empty: gr.Markdown(visible=not records),
                ui.picked: refreshed_choices(gr.Dropdown, choices, current, value),
                ui.chart: hr.efficiency_view(studio)}

    listed = [ui.table, ui.empty, ui.picked, ui.chart]
    inputs = [ui.picked, ctx.owner]
    # preprocess=False here and below: the handlers check run ids against the disk, so a script
    # can act on a run made after its session began (the dropdown's choices are fixed per session).
    ui.refresh.click(listing, inputs, listed, api_name="list_runs", preprocess=False)
    for trigger in (ctx.runs_version.change, tab.select, ctx.demo.load, ctx.owner.change):
        trigger(listing, inputs, listed, preprocess=False, **QUIET)


def _wire_actions(ctx: UiContext, ui: RunsWidgets) -> None:
    studio = ctx.studio

    @guarded
    def rename(run_id, name, owner, version):
        owner = session_owner(studio, owner)
        return {ui.message: hr.rename_run(studio, run_id, name, owner), ui.new_name: "",
                ctx.runs_version: (version or 0) + 1}

    rename_event = ui.rename.click(rename, [ui.picked, ui.new_name, ctx.owner, ctx.runs_version],
                    [ui.message, ui.new_name, ctx.runs_version], api_name="rename_run", preprocess=False)

    @guarded
    def delete(run_id, confirmed, owner, version):
        owner = session_owner(studio, owner)
        return {ui.message: hr.delete_run(studio, run_id, owner, confirmed), ui.sure: False,
                ctx.runs_version: (version or 0) + 1}

    delete_event = ui.delete.click(delete, [ui.picked, ui.sure, ctx.owner, ctx.runs_version],
                    [ui.message, ui.sure, ctx.runs_version], api_name="delete_run", preprocess=False)

    @guarded
    def make_zip(run_id):
        path = hr.zip_run(studio, run_id, ctx.scratch)
        return {ui.zip_file: gr.DownloadButton(f"Download {path.name}", value=str(path), visible=True)}

    ui.zip.click(make_zip, ui.picked, ui.zip_file, api_name="download_run", preprocess=False)

    # "I'm sure" confirms one action on one run: it resets when the run changes and when any action
    # ends, refused or done, so the next Delete always needs a fresh tick (a tick left from an
    # earlier run would delete the next one picked without asking).
    def unconfirm():
        return gr.Checkbox(value=False)

    for event in (delete_event, rename_event):
        event.then(unconfirm, None, ui.sure, **QUIET)

    # A new pick unticks it in the browser at once: a server round trip could land after the person
    # has already ticked it again for the new run, and erase that fresh tick.
    ui.picked.change(None, None, ui.sure, js="() => false")
    # A zip of another run must not linger next to a new choice either.
    ui.picked.change(lambda _: gr.DownloadButton(value=None, visible=False), ui.picked, ui.zip_file, **QUIET)


def _wire_presenter(ctx: UiContext, ui: RunsWidgets) -> None:
    if ctx.presenter is not None:
        ctx.presenter.change(lambda on: gr.Column(visible=on is not True), ctx.presenter, ui.manage, **QUIET)
