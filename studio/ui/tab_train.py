"""Train tab: pick a method and budget, start a run, watch its loss live against earlier runs.

A gr.Timer polls this session's job every 1.5 s while it is queued or running and
switches itself off when the job ends; the last tick bumps ctx.runs_version so the
other tabs list the new run without a reload. Widget bounds, labels and defaults
come from the settings' declarations (config.py) through widgets.number.
"""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from ..config import (
    LORA_TARGETS,
    METHOD_LABELS,
    PRESETS,
    PROMPT_INIT_TEXT,
    LoraSettings,
    PromptSettings,
    TrainConfig,
)
from ..declare import spec
from . import handlers as h
from . import section_base, section_command, section_experiment, section_zerogpu
from .context import QUIET, UiContext
from .errors import guarded
from .turns import current_client
from .widgets import number, widget_args

POLL_SECONDS = 1.5
DEFAULT_METHOD = "lora"


def build(ctx: UiContext) -> None:
    ui = _layout(ctx)
    _wire_form(ui)
    _wire_job(ctx, ui)
    with ui.form_column:
        section_base.build(ctx, ui)
        section_command.build(ui)
    section_experiment.build(ctx)  # "Train all three": one budget, then every pair compared


def _layout(ctx: UiContext) -> SimpleNamespace:
    ui = SimpleNamespace(job_id=gr.State(None), timer=gr.Timer(POLL_SECONDS, active=False),
                         steps_seen=gr.State(-1))  # loss points on the plot: redrawn only when they change
    with gr.Row():
        with gr.Column(scale=2, min_width=360) as ui.form_column:
            _form(ui)
            with gr.Row():
                ui.start = gr.Button("Start training", variant="primary")
                ui.stop = gr.Button("Stop", variant="stop")
        with gr.Column(scale=3, min_width=420):
            ui.status = gr.Markdown(h.job_view(ctx.studio, None).status, elem_classes=["job-status"],
                                    elem_id="job-status")
            ui.progress = gr.Markdown(elem_classes=["job-progress"], elem_id="job-progress")
            ui.params = gr.Markdown(elem_id="job-params")
            ui.plot = gr.Plot(h.loss_view(ctx.studio), show_label=False, elem_id="loss-plot")
    return ui


def _form(ui: SimpleNamespace) -> None:
    form = h.TrainForm(method=DEFAULT_METHOD)
    ui.method = gr.Radio([(label, key) for key, label in METHOD_LABELS.items()], value=DEFAULT_METHOD,
                         label="Method")
    ui.method_help = gr.Markdown(h.METHOD_HELP[DEFAULT_METHOD], elem_classes=["method-help"])
    ui.preset = gr.Radio([("Quick", "quick"), ("Standard", "standard")], value="quick", label="Preset",
                         info=_preset_info())
    with gr.Row():
        ui.steps = number(TrainConfig, "steps", form.steps)
        ui.batch_size = number(TrainConfig, "batch_size", form.batch_size)
        ui.train_size = number(TrainConfig, "train_size", form.train_size)
    with gr.Row():
        # A textbox, not gr.Number: a Number cannot be blank, and blank means "the method's default".
        ui.learning_rate = gr.Textbox("", label="Learning rate", info=h.learning_rate_hint(DEFAULT_METHOD),
                                      placeholder=f"{h.default_learning_rate(DEFAULT_METHOD):g}", max_length=32)
        ui.seed = number(TrainConfig, "seed", form.seed)
    ui.name = gr.Textbox(label="Run name (optional)", max_length=80, placeholder="e.g. lora-r8-quick")
    with gr.Group(visible=DEFAULT_METHOD == "lora") as ui.lora_box:
        with gr.Row():
            ui.lora_r = number(LoraSettings, "r", form.lora_r)
            ui.lora_alpha = number(LoraSettings, "alpha", form.lora_alpha)
            ui.lora_dropout = number(LoraSettings, "dropout", form.lora_dropout, step=0.05)
        ui.lora_targets = gr.CheckboxGroup(list(LORA_TARGETS), value=list(form.lora_targets),
                                           **widget_args(LoraSettings, "target_modules"))
    with gr.Group(visible=DEFAULT_METHOD == "prompt") as ui.prompt_box:
        with gr.Row():
            ui.prompt_tokens = number(PromptSettings, "num_virtual_tokens", form.prompt_tokens)
            ui.prompt_init = gr.Radio([("From text", "text"), ("Random", "random")], value=form.prompt_init,
                                      label=spec(PromptSettings, "init").label)
        ui.prompt_init_text = gr.Textbox(PROMPT_INIT_TEXT, label=spec(PromptSettings, "init_text").label,
                                         max_length=spec(PromptSettings, "init_text").chars)


def _wire_form(ui: SimpleNamespace) -> None:
    def on_method(key):
        key = key if key in METHOD_LABELS else DEFAULT_METHOD
        return {ui.method_help: h.METHOD_HELP[key], ui.lora_box: gr.Group(visible=key == "lora"),
                ui.prompt_box: gr.Group(visible=key == "prompt"),
                ui.learning_rate: gr.Textbox(info=h.learning_rate_hint(key),
                                             placeholder=f"{h.default_learning_rate(key):g}")}

    ui.method.change(on_method, ui.method, [ui.method_help, ui.lora_box, ui.prompt_box, ui.learning_rate],
                     **QUIET)

    @guarded
    def on_preset(name_):
        values = h.preset_values(name_)
        return {ui.steps: values["steps"], ui.batch_size: values["batch_size"], ui.train_size: values["train_size"]}

    ui.preset.input(on_preset, ui.preset, [ui.steps, ui.batch_size, ui.train_size], **QUIET)


def _wire_job(ctx: UiContext, ui: SimpleNamespace) -> None:
    studio = ctx.studio
    view_outputs = [ui.status, ui.progress, ui.params, ui.plot]

    def shown(view, figure) -> dict:
        return {ui.status: view.status, ui.progress: view.progress, ui.params: view.params, ui.plot: figure}

    @guarded
    def start_training(owner, **fields):
        # API clients never run the page's load event: give their session a token here.
        owner = owner or studio.issue_owner_token()
        job = h.start_training(studio, owner, h.TrainForm(**fields),
                               client=current_client(studio.settings.proxy_hops))
        return {ctx.owner: owner, ui.job_id: job.job_id, ui.timer: gr.Timer(active=True),
                **shown(h.job_view(studio, job), h.loss_view(studio, job))}

    form_fields = ("method", "steps", "batch_size", "train_size", "learning_rate", "seed", "name", "lora_r",
                   "lora_alpha", "lora_dropout", "lora_targets", "prompt_tokens", "prompt_init", "prompt_init_text")
    if studio.on_zerogpu:  # the event itself trains, inside a GPU call (section_zerogpu)
        section_zerogpu.wire_start(ctx, ui, form_fields)
    else:
        ui.start.click(start_training, outputs=[ctx.owner, ui.job_id, ui.timer, *view_outputs], api_name="train",
                       inputs_kwargs={"owner": ctx.owner, **{f: getattr(ui, f) for f in form_fields}},
                       # Raw values reach the handler, which checks each one and says what is wrong with it
                       # (Gradio's own checks answer a script's "ten steps" with a bare error).
                       preprocess=False)

    @guarded
    def stop_training(current, owner):
        gr.Info(h.stop_training(studio, current, owner))
        return {ui.status: h.job_view(studio, studio.job(current)).status}

    ui.stop.click(stop_training, [ui.job_id, ctx.owner], ui.status, api_name="stop")

    def poll(current, version, seen):
        job = studio.job(current)
        view = h.job_view(studio, job)
        redraw = view.steps_seen != seen or view.ended
        out = {**shown(view, h.loss_view(studio, job) if redraw else gr.skip()), ui.steps_seen: view.steps_seen}
        if view.ended:
            if job is not None and job.status == "completed":
                gr.Info(f"{METHOD_LABELS[job.spec.method]} training finished.")
            # The job ended: stop polling, and tell the other tabs a run list changed.
            out.update({ui.timer: gr.Timer(active=False), ctx.runs_version: (version or 0) + (job is not None)})
        return out

    ui.timer.tick(poll, [ui.job_id, ctx.runs_version, ui.steps_seen],
                  [*view_outputs, ui.timer, ctx.runs_version, ui.steps_seen], api_name="job_status",
                  show_progress="hidden", concurrency_limit=None)

    def reattach(owner):
        """After a reload, pick up this browser's queued or running job again."""
        current = h.active_job_id(studio, owner)
        return {ui.job_id: current, ui.timer: gr.Timer(active=True), ui.steps_seen: -1} if current else gr.skip()

    ctx.owner.change(reattach, ctx.owner, [ui.job_id, ui.timer, ui.steps_seen], **QUIET)


def _preset_info() -> str:
    return " · ".join(f"{name}: {p['steps']} steps × batch {p['batch_size']} from {p['train_size']:,} pairs"
                      for name, p in PRESETS.items())
