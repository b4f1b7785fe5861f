"""Train tab: pick a method and budget, start a run, watch its loss live against earlier runs.

    tab_train.build(ctx)      # in app.py, inside gr.Tab("Train")

The form is section_train_form's (one widget per TrainForm field); beside it sit the base model's
memory line and switch (section_base_model), "Copy as command" (section_command) and, below,
"Train all three" (section_experiment). A gr.Timer polls this session's job every 1.5 s while it
is queued or running and switches itself off when the job ends; the last tick bumps
ctx.runs_version so the other tabs list the new run without a reload. On ZeroGPU the Start event
itself trains, inside a GPU call, and streams its loss points (no background queue).
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.model.methods import registry

from . import section_base_model, section_command, section_experiment, section_train_form
from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train as ht
from .section_train_form import DEFAULT_METHOD, TrainFormWidgets
from .turns import current_caller, session_owner

POLL_SECONDS = 1.5
# After Start, bring the status into view if the page is scrolled away from it (on a wide screen
# the sticky column already keeps it there, and "nearest" then does not move the page).
_SHOW_STATUS = "() => { document.getElementById('job-status')?.scrollIntoView({block: 'nearest'}); }"


@dataclass
class TrainTabWidgets:
    """The Train tab: its form, Start and Stop, and the live view of this session's job."""
    form: TrainFormWidgets
    controls: gr.Column            # the form's column: what presenter mode hides
    start: gr.Button
    stop: gr.Button
    job_id: gr.State               # the job this page follows
    timer: gr.Timer                # polls that job while it is queued or running
    steps_seen: gr.State           # loss points on the plot: redrawn only when they change
    presenter_note: gr.Markdown
    status: gr.Markdown
    progress: gr.Markdown
    params: gr.Markdown
    plot: gr.Plot
    own_runs: gr.Checkbox
    smoothing: gr.Slider
    log_scale: gr.Checkbox

    def view_outputs(self) -> list:
        return [self.status, self.progress, self.params, self.plot]

    def shown(self, view: ht.JobView, figure) -> dict:
        return {self.status: view.status, self.progress: view.progress, self.params: view.params, self.plot: figure}

    def plot_options(self) -> list:
        return [self.own_runs, self.smoothing, self.log_scale]


def build(ctx: UiContext) -> None:
    ui = _layout(ctx)
    _wire_job(ctx, ui)
    with ui.controls:
        section_base_model.build(ctx, ui.form)
        section_command.build(ui.form)
    experiment = section_experiment.build(ctx)  # "Train all three": one budget, then every pair compared
    _wire_presenter(ctx, ui, experiment)


def _layout(ctx: UiContext) -> TrainTabWidgets:
    job_id, timer, steps_seen = gr.State(None), gr.Timer(POLL_SECONDS, active=False), gr.State(-1)
    presenter = bool(ctx.studio.settings.presenter)
    with gr.Row():
        with gr.Column(scale=2, min_width=360, visible=not presenter) as controls:
            form = section_train_form.build(ctx)
            with gr.Row():
                start = gr.Button("Start training", variant="primary", elem_id="start-training")
                stop = gr.Button("Stop", variant="stop")
        # Sticky: the status, progress and plot stay on screen while the person scrolls the form
        # down to the Start button, where a long form would otherwise push them off screen.
        with gr.Column(scale=3, min_width=420, elem_id="train-live"):
            presenter_note = gr.Markdown("**Presenter mode:** training is switched off on this page; the "
                                         "chart shows the runs already saved.", visible=presenter,
                                         elem_id="presenter-note")
            status = gr.Markdown(ht.job_view(ctx.studio, None).status, elem_classes=["job-status"],
                                 elem_id="job-status")
            progress = gr.Markdown(elem_classes=["job-progress"], elem_id="job-progress")
            params = gr.Markdown(elem_id="job-params")
            plot = gr.Plot(ht.loss_view(ctx.studio), show_label=False, elem_id="loss-plot")
            # Minimum widths (style.css: a checkbox ignores min_width) let a phone wrap the three onto
            # lines of their own instead of squeezing "Overlay my earlier runs" one word per line.
            with gr.Row(equal_height=True, elem_id="loss-options"):
                own_runs = gr.Checkbox(label="Overlay my earlier runs", value=False, elem_classes=["loss-toggle"],
                                       elem_id="loss-overlay")
                smoothing = gr.Slider(1, ht.MAX_SMOOTHING, value=1, step=1, label="Smoothing (steps)",
                                      info="moving average; 1 = raw", min_width=220)
                log_scale = gr.Checkbox(label="Log scale", value=False, elem_classes=["loss-toggle"])
    return TrainTabWidgets(form=form, controls=controls, start=start, stop=stop, job_id=job_id, timer=timer,
                           steps_seen=steps_seen, presenter_note=presenter_note, status=status, progress=progress,
                           params=params, plot=plot, own_runs=own_runs, smoothing=smoothing, log_scale=log_scale)


def _wire_job(ctx: UiContext, ui: TrainTabWidgets) -> None:
    """Start, Stop, the live status while a job runs, a reload's re-attachment, and the loss chart."""
    if ctx.studio.on_zerogpu:  # the event itself trains, inside a GPU call; Stop cancels it
        _wire_start_on_zerogpu(ctx, ui)
    else:
        _wire_start_and_stop(ctx, ui)
    ui.start.click(None, None, None, js=_SHOW_STATUS)
    _wire_poll(ctx, ui)
    _wire_reattach(ctx, ui)
    _wire_chart(ctx, ui)


def _wire_start_and_stop(ctx: UiContext, ui: TrainTabWidgets) -> None:
    studio = ctx.studio

    @guarded
    def start_training(owner, presenter=False, own_runs=False, smoothing=1, log_scale=False, **fields):
        owner = session_owner(studio, owner, issue=True)  # a script's session has no page State
        job = ht.start_training(studio, owner, ht.TrainForm(**fields),
                                client=current_caller(studio, token=owner), presenter=presenter is True)
        figure = ht.loss_view(studio, job, owner, own_runs, smoothing, log_scale)
        return {ctx.owner: owner, ui.job_id: job.job_id, ui.timer: gr.Timer(active=True),
                **ui.shown(ht.job_view(studio, job), figure)}

    inputs = {"owner": ctx.owner, **ui.form.widgets(),
              "own_runs": ui.own_runs, "smoothing": ui.smoothing, "log_scale": ui.log_scale}
    if ctx.presenter is not None:
        inputs["presenter"] = ctx.presenter
    ui.start.click(start_training, outputs=[ctx.owner, ui.job_id, ui.timer, *ui.view_outputs()], api_name="train",
                   inputs_kwargs=inputs,
                   # Raw values reach the handler, which checks each one and says what is wrong with it
                   # (Gradio's own checks answer a script's "ten steps" with a bare error).
                   preprocess=False)

    @guarded
    def stop_training(current, owner):
        owner = session_owner(studio, owner)
        current = current or ht.active_job_id(studio, owner)  # a script's session: its training
        gr.Info(ht.stop_training(studio, current, owner))
        return {ui.status: ht.job_view(studio, studio.job(current)).status}

    ui.stop.click(stop_training, [ui.job_id, ctx.owner], ui.status, api_name="stop")


def _wire_start_on_zerogpu(ctx: UiContext, ui: TrainTabWidgets) -> None:
    """Start runs the training inside its own event, streaming loss points; Stop closes that event."""
    studio = ctx.studio

    def start(owner, version, **fields):
        owner = session_owner(studio, owner, issue=True)
        views = guarded(lambda: _first_and_rest(ht.train_stream(studio, owner, ht.TrainForm(**fields))))()
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
                             inputs_kwargs={"owner": ctx.owner, "version": ctx.runs_version, **ui.form.widgets()})
    # Stop closes the streaming event: the training stops at its next step and is saved as "stopped"
    # before the GPU call returns (studio/service/zerogpu.py), still this session's to rename or delete.
    ui.stop.click(None, None, None, cancels=[started])


def _first_and_rest(views):
    """The first view (so bad input and a refused budget raise inside `guarded`), and the rest lazily."""
    return next(views), views


def _wire_poll(ctx: UiContext, ui: TrainTabWidgets) -> None:
    studio = ctx.studio

    def poll(current, version, seen, owner, own_runs, smoothing, log_scale):
        job = studio.job(current)
        view = ht.job_view(studio, job)
        redraw = view.steps_seen != seen or view.ended
        figure = ht.loss_view(studio, job, owner, own_runs, smoothing, log_scale) if redraw else gr.skip()
        out = {**ui.shown(view, figure), ui.steps_seen: view.steps_seen}
        if view.ended:
            if job is not None and job.status == "completed":
                gr.Info(f"{registry.label(job.spec.method)} training finished.")
            # The job ended: stop polling, and tell the other tabs a run list changed.
            out.update({ui.timer: gr.Timer(active=False), ctx.runs_version: (version or 0) + (job is not None)})
        return out

    ui.timer.tick(poll, [ui.job_id, ctx.runs_version, ui.steps_seen, ctx.owner, *ui.plot_options()],
                  [*ui.view_outputs(), ui.timer, ctx.runs_version, ui.steps_seen], api_name="job_status",
                  show_progress="hidden", concurrency_limit=None, preprocess=False)


def _wire_reattach(ctx: UiContext, ui: TrainTabWidgets) -> None:
    studio = ctx.studio

    def reattach(owner):
        """After a reload, pick up this browser's queued or running job again, and show the form that asked for it."""
        current = ht.active_job_id(studio, owner)
        if not current:
            return _form_for_switched_base(ctx, ui.form)
        return {ui.job_id: current, ui.timer: gr.Timer(active=True), ui.steps_seen: -1,
                **ui.form.showing(studio, ht.form_of_job(studio.job(current)))}

    ctx.owner.change(reattach, ctx.owner, [ui.job_id, ui.timer, ui.steps_seen, *ui.form.showing_outputs()], **QUIET)


def _form_for_switched_base(ctx: UiContext, form: TrainFormWidgets):
    """A page built before the base model was switched starts from the loaded base's quick preset
    (e.g. a smaller batch on a bigger model); otherwise the form stays as built."""
    if ctx.studio.settings.base_model == form.built_for_base:
        return gr.skip()
    quick = ht.preset_values(ctx.studio, "quick")
    return form.showing(ctx.studio, ht.TrainForm(method=DEFAULT_METHOD, **quick))


def _wire_chart(ctx: UiContext, ui: TrainTabWidgets) -> None:
    def redraw(current, owner, own_runs, smoothing, log_scale):
        """Earlier runs come from the run store now: a page opened later, or a rename, shows in the chart."""
        return ht.loss_view(ctx.studio, ctx.studio.job(current), owner, own_runs, smoothing, log_scale)

    redraw_inputs = [ui.job_id, ctx.owner, *ui.plot_options()]
    for trigger in (ctx.demo.load, ctx.runs_version.change, ctx.owner.change, ui.own_runs.input,
                    ui.smoothing.change, ui.log_scale.input):
        # Raw values: the slider's number is checked by the handler, never by Gradio's error toast.
        trigger(redraw, redraw_inputs, ui.plot, preprocess=False, **QUIET)


def _wire_presenter(ctx: UiContext, ui: TrainTabWidgets, experiment: gr.Accordion) -> None:
    if ctx.presenter is None:
        return

    def show(presenter):
        on = presenter is True
        return {ui.controls: gr.Column(visible=not on), experiment: gr.Accordion(visible=not on),
                ui.presenter_note: gr.Markdown(visible=on)}

    ctx.presenter.change(show, ctx.presenter, [ui.controls, experiment, ui.presenter_note], **QUIET)
