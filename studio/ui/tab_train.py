"""Train tab: pick a method and budget, start a run, watch its loss live against earlier runs.

A gr.Timer polls this session's job every 1.5 s while it is queued or running and
switches itself off when the job ends; the last tick bumps ctx.runs_version so the
other tabs list the new run without a reload. Widget bounds, labels and defaults
come from the settings' declarations through widgets.number and widgets.setting_widget:
each method's box of settings is built from its settings dataclass (registry), shown
while that method is picked.
"""
from __future__ import annotations

from dataclasses import fields
from types import SimpleNamespace

import gradio as gr

from studio.config.settings import TrainConfig
from studio.model.methods import registry

from . import section_base_model, section_command, section_experiment, section_zerogpu
from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train as ht
from .turns import current_caller, current_request
from .widgets import number, setting_widget, widget_args

POLL_SECONDS = 1.5
DEFAULT_METHOD = registry.DEFAULT_TRAINING

# The form's fields, each a widget on ui by the same name: the shared ones, then every method's settings.
FORM_FIELDS = tuple(f.name for f in fields(ht.TrainForm))
# After Start, bring the status into view if the page is scrolled away from it (on a wide screen
# the sticky column already keeps it there, and "nearest" then does not move the page).
_SHOW_STATUS = "() => { document.getElementById('job-status')?.scrollIntoView({block: 'nearest'}); }"


def build(ctx: UiContext) -> None:
    ui = _layout(ctx)
    _wire_form(ctx, ui)
    _wire_job(ctx, ui)
    with ui.form_column:
        section_base_model.build(ctx, ui)
        section_command.build(ui)
    ui.experiment = section_experiment.build(ctx)  # "Train all three": one budget, then every pair compared
    _wire_presenter(ctx, ui)


def _layout(ctx: UiContext) -> SimpleNamespace:
    ui = SimpleNamespace(job_id=gr.State(None), timer=gr.Timer(POLL_SECONDS, active=False),
                         steps_seen=gr.State(-1))  # loss points on the plot: redrawn only when they change
    presenter = bool(ctx.studio.settings.presenter)
    with gr.Row():
        with gr.Column(scale=2, min_width=360, visible=not presenter) as ui.form_column:
            ui.controls = ui.form_column  # what presenter mode hides
            _form(ctx, ui)
            with gr.Row():
                ui.start = gr.Button("Start training", variant="primary", elem_id="start-training")
                ui.stop = gr.Button("Stop", variant="stop")
        # Sticky: the status, progress and plot stay on screen while the person scrolls the form
        # down to the Start button, where a long form would otherwise push them off screen.
        with gr.Column(scale=3, min_width=420, elem_id="train-live"):
            ui.presenter_note = gr.Markdown("**Presenter mode:** training is switched off on this page; the "
                                            "chart shows the prepared runs.", visible=presenter,
                                            elem_id="presenter-note")
            ui.status = gr.Markdown(ht.job_view(ctx.studio, None).status, elem_classes=["job-status"],
                                    elem_id="job-status")
            ui.progress = gr.Markdown(elem_classes=["job-progress"], elem_id="job-progress")
            ui.params = gr.Markdown(elem_id="job-params")
            ui.plot = gr.Plot(ht.loss_view(ctx.studio), show_label=False, elem_id="loss-plot")
            # Minimum widths (style.css: a checkbox ignores min_width) let a phone wrap the three onto
            # lines of their own instead of squeezing "Overlay my earlier runs" one word per line.
            with gr.Row(equal_height=True, elem_id="loss-options"):
                ui.own_runs = gr.Checkbox(label="Overlay my earlier runs", value=False, elem_classes=["loss-toggle"],
                                          elem_id="loss-overlay")
                ui.smoothing = gr.Slider(1, ht.MAX_SMOOTHING, value=1, step=1, label="Smoothing (steps)",
                                         info="moving average; 1 = raw", min_width=220)
                ui.log_scale = gr.Checkbox(label="Log scale", value=False, elem_classes=["loss-toggle"])
    return ui


def _form(ctx: UiContext, ui: SimpleNamespace) -> None:
    quick = ht.preset_values(ctx.studio, "quick")   # fitted to the loaded base model
    form = ht.TrainForm(method=DEFAULT_METHOD, **quick)
    ui.built_for_base = ctx.studio.settings.base_model  # a base switched later gets its own numbers on load
    ui.method = gr.Radio([(m.label, m.name) for m in registry.METHODS], value=DEFAULT_METHOD, label="Method")
    ui.method_help = gr.Markdown(ht.method_help(ctx.studio, DEFAULT_METHOD), elem_classes=["method-help"],
                                 elem_id="method-help")
    ui.preset = gr.Radio([("Quick", "quick"), ("Standard", "standard")], value="quick", label="Preset",
                         info=ht.preset_info(ctx.studio))
    with gr.Row():
        ui.steps = number(TrainConfig, "steps", form.steps)
        ui.batch_size = number(TrainConfig, "batch_size", form.batch_size)
        ui.train_size = number(TrainConfig, "train_size", form.train_size)
    ui.budget = gr.Markdown(ht.budget_text(ctx.studio, form.steps, form.batch_size, form.train_size),
                            elem_id="train-budget", elem_classes=["train-budget"])
    with gr.Row():
        # A textbox, not gr.Number: a Number cannot be blank, and blank means "the method's default".
        ui.learning_rate = gr.Textbox("", label="Learning rate", info=ht.learning_rate_hint(DEFAULT_METHOD),
                                      placeholder=f"{ht.default_learning_rate(DEFAULT_METHOD):g}", max_length=32)
        ui.seed = number(TrainConfig, "seed", form.seed)
    # "" (not Gradio's None): the value is the API's default, so a script may leave the name out.
    ui.name = gr.Textbox(form.name, label="Run name (optional)", max_length=80, placeholder="e.g. lora-r8-quick")
    _method_boxes(ui, form)
    with gr.Accordion("Advanced settings", open=False, elem_id="train-advanced"):
        ui.report_to = gr.Dropdown(ht.tracker_choices(), value=form.report_to, elem_id="train-report-to",
                                   **widget_args(TrainConfig, "report_to"))


def _method_boxes(ui: SimpleNamespace, form) -> None:
    """A box per method with settings of its own, shown while that method is picked: its numbers and
    choices side by side, then its lists and texts. Each widget is ui.<field> (ui.lora_r, ...)."""
    ui.method_boxes = {}
    for method in registry.METHODS:
        declared = [s for m, s in registry.form_settings() if m is method]
        if not declared:
            continue   # full fine-tuning: nothing to set but the shared budget
        short = [s for s in declared if s.kind in (int, float) or s.choices is not None]
        with gr.Group(visible=method.name == DEFAULT_METHOD) as ui.method_boxes[method.name]:
            if short:
                with gr.Row():
                    for s in short:
                        setattr(ui, s.field, setting_widget(method.settings, s.field, getattr(form, s.field)))
            for s in declared:
                if s not in short:
                    setattr(ui, s.field, setting_widget(method.settings, s.field, getattr(form, s.field)))


def _boxes_for(ui: SimpleNamespace, method: str) -> dict:
    return {box: gr.Group(visible=name == method) for name, box in ui.method_boxes.items()}


def _wire_form(ctx: UiContext, ui: SimpleNamespace) -> None:
    def on_method(key):
        key = key if key in registry.NAMES else DEFAULT_METHOD
        return {ui.method_help: ht.method_help(ctx.studio, key), **_boxes_for(ui, key),
                ui.learning_rate: gr.Textbox(info=ht.learning_rate_hint(key),
                                             placeholder=f"{ht.default_learning_rate(key):g}")}

    ui.method.change(on_method, ui.method, [ui.method_help, *ui.method_boxes.values(), ui.learning_rate],
                     **QUIET)

    @guarded
    def on_preset(name_):
        values = ht.preset_values(ctx.studio, name_)
        return {ui.steps: values["steps"], ui.batch_size: values["batch_size"], ui.train_size: values["train_size"]}

    ui.preset.input(on_preset, ui.preset, [ui.steps, ui.batch_size, ui.train_size], **QUIET)

    def on_budget(steps, batch_size, train_size):
        return ht.budget_text(ctx.studio, steps, batch_size, train_size)

    # Raw values: a half-typed number gets the budget line's own message, not Gradio's error toast.
    for box in (ui.steps, ui.batch_size, ui.train_size):
        box.change(on_budget, [ui.steps, ui.batch_size, ui.train_size], ui.budget, preprocess=False,
                   trigger_mode="always_last", **QUIET)


def _wire_job(ctx: UiContext, ui: SimpleNamespace) -> None:
    """Start, Stop, the live status while a job runs, a reload's re-attachment, and the loss chart."""
    if ctx.studio.on_zerogpu:  # the event itself trains, inside a GPU call; Stop cancels it (section_zerogpu)
        section_zerogpu.wire_start(ctx, ui, FORM_FIELDS)
    else:
        _wire_start_and_stop(ctx, ui)
    ui.start.click(None, None, None, js=_SHOW_STATUS)
    _wire_poll(ctx, ui)
    _wire_reattach(ctx, ui)
    _wire_chart(ctx, ui)


def _view_outputs(ui: SimpleNamespace) -> list:
    return [ui.status, ui.progress, ui.params, ui.plot]


def _shown(ui: SimpleNamespace, view, figure) -> dict:
    return {ui.status: view.status, ui.progress: view.progress, ui.params: view.params, ui.plot: figure}


def _plot_options(ui: SimpleNamespace) -> list:
    return [ui.own_runs, ui.smoothing, ui.log_scale]


def _wire_start_and_stop(ctx: UiContext, ui: SimpleNamespace) -> None:
    studio = ctx.studio

    @guarded
    def start_training(owner, presenter=False, own_runs=False, smoothing=1, log_scale=False, **fields):
        # API clients never run the page's load event: give their session a token here, and
        # remember it, so the session's later requests are charged to the same person.
        if not owner:
            owner = studio.issue_owner_token()
            studio.people.remember(getattr(current_request(), "session_hash", None), owner)
        job = ht.start_training(studio, owner, ht.TrainForm(**fields),
                                client=current_caller(studio, token=owner), presenter=presenter is True)
        figure = ht.loss_view(studio, job, owner, own_runs, smoothing, log_scale)
        return {ctx.owner: owner, ui.job_id: job.job_id, ui.timer: gr.Timer(active=True),
                **_shown(ui, ht.job_view(studio, job), figure)}

    inputs = {"owner": ctx.owner, **{f: getattr(ui, f) for f in FORM_FIELDS},
              "own_runs": ui.own_runs, "smoothing": ui.smoothing, "log_scale": ui.log_scale}
    if ctx.presenter is not None:
        inputs["presenter"] = ctx.presenter
    ui.start.click(start_training, outputs=[ctx.owner, ui.job_id, ui.timer, *_view_outputs(ui)], api_name="train",
                   inputs_kwargs=inputs,
                   # Raw values reach the handler, which checks each one and says what is wrong with it
                   # (Gradio's own checks answer a script's "ten steps" with a bare error).
                   preprocess=False)

    @guarded
    def stop_training(current, owner):
        gr.Info(ht.stop_training(studio, current, owner))
        return {ui.status: ht.job_view(studio, studio.job(current)).status}

    ui.stop.click(stop_training, [ui.job_id, ctx.owner], ui.status, api_name="stop")


def _wire_poll(ctx: UiContext, ui: SimpleNamespace) -> None:
    studio = ctx.studio

    def poll(current, version, seen, owner, own_runs, smoothing, log_scale):
        job = studio.job(current)
        view = ht.job_view(studio, job)
        redraw = view.steps_seen != seen or view.ended
        figure = ht.loss_view(studio, job, owner, own_runs, smoothing, log_scale) if redraw else gr.skip()
        out = {**_shown(ui, view, figure), ui.steps_seen: view.steps_seen}
        if view.ended:
            if job is not None and job.status == "completed":
                gr.Info(f"{registry.label(job.spec.method)} training finished.")
            # The job ended: stop polling, and tell the other tabs a run list changed.
            out.update({ui.timer: gr.Timer(active=False), ctx.runs_version: (version or 0) + (job is not None)})
        return out

    ui.timer.tick(poll, [ui.job_id, ctx.runs_version, ui.steps_seen, ctx.owner, *_plot_options(ui)],
                  [*_view_outputs(ui), ui.timer, ctx.runs_version, ui.steps_seen], api_name="job_status",
                  show_progress="hidden", concurrency_limit=None, preprocess=False)


def _wire_reattach(ctx: UiContext, ui: SimpleNamespace) -> None:
    studio = ctx.studio

    def reattach(owner):
        """After a reload, pick up this browser's queued or running job again, and show the form that asked for it."""
        current = ht.active_job_id(studio, owner)
        if not current:
            return _form_for_switched_base(ctx, ui)
        return {ui.job_id: current, ui.timer: gr.Timer(active=True), ui.steps_seen: -1,
                **_form_shown(ctx, ui, ht.form_of_job(studio.job(current)))}

    form_boxes = [getattr(ui, f) for f in FORM_FIELDS]
    ctx.owner.change(reattach, ctx.owner, [ui.job_id, ui.timer, ui.steps_seen, *form_boxes, ui.method_help,
                                           *ui.method_boxes.values(), ui.learning_rate, ui.budget], **QUIET)


def _form_for_switched_base(ctx: UiContext, ui: SimpleNamespace):
    """A page built before the base model was switched starts from the loaded base's quick preset
    (e.g. a smaller batch on a bigger model); otherwise the form stays as built."""
    if ctx.studio.settings.base_model == ui.built_for_base:
        return gr.skip()
    quick = ht.preset_values(ctx.studio, "quick")
    return _form_shown(ctx, ui, ht.TrainForm(method=DEFAULT_METHOD, **quick))


def _wire_chart(ctx: UiContext, ui: SimpleNamespace) -> None:
    def redraw(current, owner, own_runs, smoothing, log_scale):
        """Earlier runs come from the run store now: a page opened later, or a rename, shows in the chart."""
        return ht.loss_view(ctx.studio, ctx.studio.job(current), owner, own_runs, smoothing, log_scale)

    redraw_inputs = [ui.job_id, ctx.owner, *_plot_options(ui)]
    for trigger in (ctx.demo.load, ctx.runs_version.change, ctx.owner.change, ui.own_runs.input,
                    ui.smoothing.change, ui.log_scale.input):
        # Raw values: the slider's number is checked by the handler, never by Gradio's error toast.
        trigger(redraw, redraw_inputs, ui.plot, preprocess=False, **QUIET)


def _form_shown(ctx: UiContext, ui: SimpleNamespace, form) -> dict:
    """Every form widget set to `form`'s values, with the method's help, boxes and budget line to match."""
    out = {getattr(ui, f): getattr(form, f) for f in FORM_FIELDS}
    out.update({ui.method_help: ht.method_help(ctx.studio, form.method), **_boxes_for(ui, form.method),
                ui.learning_rate: gr.Textbox(value=form.learning_rate, info=ht.learning_rate_hint(form.method),
                                             placeholder=f"{ht.default_learning_rate(form.method):g}"),
                ui.budget: ht.budget_text(ctx.studio, form.steps, form.batch_size, form.train_size)})
    return out


def _wire_presenter(ctx: UiContext, ui: SimpleNamespace) -> None:
    if ctx.presenter is None:
        return

    def show(presenter):
        on = presenter is True
        return {ui.controls: gr.Column(visible=not on), ui.experiment: gr.Accordion(visible=not on),
                ui.presenter_note: gr.Markdown(visible=on)}

    ctx.presenter.change(show, ctx.presenter, [ui.controls, ui.experiment, ui.presenter_note], **QUIET)
