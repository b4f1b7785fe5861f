"""Train tab section "Train all three": one budget for every method, then ROUGE and every pair in words.

    box = section_experiment.build(ctx)     # in tab_train, below the form; a presenter page hides `box`

A gr.Timer polls this session's experiment while it trains and evaluates, redraws the
loss plot when new points arrive, and switches itself off once the result is in. After a
restart, a session's experiment that was cut short is shown with where it stopped and a
"Finish the experiment" button (its owner's only: the handler checks).
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.config.settings import EvaluationSettings, TrainConfig
from studio.model.methods import registry
from studio.service.experiment import ExperimentSettings

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train_experiment as hx
from .handlers.train import tracker_choices
from .turns import current_caller, session_owner
from .widgets import number, widget_args

POLL_SECONDS = 1.5


@dataclass
class ExperimentWidgets:
    """The "Train all three" section: its budget form, buttons, and the view of this session's experiment."""
    box: gr.Accordion              # the whole section: a presenter page hides it (it only trains)
    experiment_id: gr.State        # the experiment this page follows
    timer: gr.Timer                # polls it while it trains and evaluates
    seen: gr.State                 # loss points on the plot: redrawn only when they change
    methods: gr.CheckboxGroup
    steps: gr.Number
    batch_size: gr.Number
    train_size: gr.Number
    learning_rate: gr.Textbox      # blank: each method keeps its own
    seed: gr.Number
    limit: gr.Number               # test dialogues scored
    seeds: gr.Number
    report_to: gr.Dropdown
    start: gr.Button
    stop: gr.Button
    finish: gr.Button              # shown for an experiment a restart cut short
    status: gr.Markdown
    lines: gr.Markdown             # one line per method
    loss: gr.Plot
    rouge: gr.Plot
    sentences: gr.Markdown         # every pair in words

    def outputs(self) -> list:
        """The components _shown sets, as an event's outputs."""
        return [self.status, self.lines, self.sentences, self.loss, self.rouge, self.finish]


def build(ctx: UiContext) -> gr.Accordion:
    """Lay out and wire the section; returns its accordion, which a presenter page hides (it only trains)."""
    ui = _layout(ctx)
    _wire_controls(ctx, ui)
    _wire_poll(ctx, ui)
    return ui.box


def _layout(ctx: UiContext) -> ExperimentWidgets:
    experiment_id, timer, seen = gr.State(None), gr.Timer(POLL_SECONDS, active=False), gr.State(-1)
    form = hx.ExperimentForm()
    with gr.Accordion("Train all three: a fair experiment", open=False, elem_id="experiment",
                      visible=not ctx.studio.settings.presenter) as box:
        defaults = [registry.label(m) for m in registry.DEFAULT_NAMES]
        gr.Markdown(f"Trains {', '.join(defaults[:-1])} and {defaults[-1]} (or the methods you tick) with **the "
                    "same budget** (steps, batch, training pairs, seed; each keeps its own learning rate unless you "
                    "give one), then scores the original and every run on the same test dialogues and says, pair "
                    "by pair, which is better and by how much, with a 95% interval.", elem_classes=["tab-intro"])
        with gr.Row():
            with gr.Column(scale=2, min_width=360):
                methods = gr.CheckboxGroup([(m.label, m.name) for m in registry.METHODS], value=list(form.methods),
                                           label="Methods")
                with gr.Row():
                    steps = number(TrainConfig, "steps", form.steps, label="Steps, each method")
                    batch_size = number(TrainConfig, "batch_size", form.batch_size, label="Batch size, each method")
                    train_size = number(TrainConfig, "train_size", form.train_size, label="Training pairs, shared",
                                        info=f"at most; the training split has {hx.pairs_available(ctx.studio):,}")
                with gr.Row():
                    # Labels differ from the form above: a page (and a script) must tell the two apart.
                    learning_rate = gr.Textbox("", label="One rate for all (optional)", max_length=32,
                                               placeholder="blank = each method's own learning rate")
                    seed = number(TrainConfig, "seed", form.seed, label="Seed, shared")
                    # The split may hold fewer test dialogues than the default asks for (16 offline):
                    # the form shows what will be used, as the Evaluate tab's slider does.
                    test_size = len(ctx.studio.data.split("test"))
                    limit = number(EvaluationSettings, "limit", hx.test_dialogues(ctx.studio, form.limit),
                                   info=f"the test split has {test_size:,}")
                    seeds = number(ExperimentSettings, "seeds", form.seeds)
                report_to = gr.Dropdown(tracker_choices(), value=form.report_to, elem_id="experiment-report-to",
                                        **{**widget_args(TrainConfig, "report_to"), "label": "Report every run to"})
                with gr.Row():
                    start = gr.Button("Train all three", variant="primary", elem_id="experiment-start")
                    stop = gr.Button("Cancel the experiment", variant="stop", elem_id="experiment-cancel")
                    finish = gr.Button("Finish the experiment", variant="primary", visible=False,
                                       elem_id="experiment-finish")
            with gr.Column(scale=3, min_width=420):
                view = hx.experiment_view(ctx.studio, None)
                status = gr.Markdown(view.status, elem_id="experiment-status")
                lines = gr.Markdown(elem_id="experiment-methods")
                loss = gr.Plot(hx.experiment_loss_view(None), show_label=False, elem_id="experiment-loss")
        rouge = gr.Plot(visible=False, show_label=False, elem_id="experiment-rouge")
        sentences = gr.Markdown(elem_id="experiment-sentences")
    return ExperimentWidgets(box=box, experiment_id=experiment_id, timer=timer, seen=seen, methods=methods,
                             steps=steps, batch_size=batch_size, train_size=train_size, learning_rate=learning_rate,
                             seed=seed, limit=limit, seeds=seeds, report_to=report_to, start=start, stop=stop,
                             finish=finish, status=status, lines=lines, loss=loss, rouge=rouge, sentences=sentences)


def _shown(ctx: UiContext, ui: ExperimentWidgets, experiment, redraw: bool = True) -> dict:
    """What the section shows of an experiment; the loss plot is sent only when asked to redraw."""
    view = hx.experiment_view(ctx.studio, experiment)
    return {ui.status: view.status, ui.lines: view.methods, ui.sentences: view.sentences,
            ui.loss: hx.experiment_loss_view(experiment) if redraw else gr.skip(),
            ui.rouge: gr.Plot(hx.experiment_rouge_view(experiment), visible=True) if view.has_result
            else gr.Plot(visible=False),
            ui.finish: gr.Button(visible=view.finishable)}


def _wire_controls(ctx: UiContext, ui: ExperimentWidgets) -> None:
    studio = ctx.studio

    @guarded
    def start(owner, methods, steps, batch_size, train_size, learning_rate, seed, limit, seeds, report_to="none"):
        owner = session_owner(studio, owner, issue=True)  # a script's session has no page State
        form = hx.ExperimentForm(methods, steps, batch_size, train_size, learning_rate, seed, limit, seeds,
                                 report_to)
        experiment = hx.start_experiment(studio, owner, form, client=current_caller(studio, token=owner))
        return {ctx.owner: owner, ui.experiment_id: experiment.experiment_id, ui.timer: gr.Timer(active=True),
                ui.seen: -1, **_shown(ctx, ui, experiment)}

    ui.start.click(start, [ctx.owner, ui.methods, ui.steps, ui.batch_size, ui.train_size, ui.learning_rate,
                           ui.seed, ui.limit, ui.seeds, ui.report_to],  # last: the others keep their places
                   [ctx.owner, ui.experiment_id, ui.timer, ui.seen, *ui.outputs()], api_name="experiment",
                   preprocess=False)  # the handler checks raw values and says what is wrong

    @guarded
    def finish(current, owner):
        owner = session_owner(studio, owner)
        current = current or hx.newest_experiment_id(studio, owner)  # a script's session: its experiment
        experiment = hx.finish_experiment(studio, current, owner, client=current_caller(studio, token=owner))
        return {ui.timer: gr.Timer(active=True), ui.seen: -1, **_shown(ctx, ui, experiment)}

    ui.finish.click(finish, [ui.experiment_id, ctx.owner], [ui.timer, ui.seen, *ui.outputs()],
                    api_name="finish_experiment")

    @guarded
    def stop(current, owner):
        owner = session_owner(studio, owner)
        current = current or hx.newest_experiment_id(studio, owner, running=True)
        gr.Info(hx.stop_experiment(studio, current, owner))
        return {ui.status: hx.experiment_view(studio, studio.experiment(current)).status}

    ui.stop.click(stop, [ui.experiment_id, ctx.owner], ui.status, api_name="stop_experiment")


def _wire_poll(ctx: UiContext, ui: ExperimentWidgets) -> None:
    studio = ctx.studio

    def poll(current, version, seen):
        experiment = studio.experiment(current)
        points = sum(len(job.events) for job in experiment.trainings.values()) if experiment else 0
        out = {**_shown(ctx, ui, experiment, redraw=points != seen or experiment is None or experiment.ended),
               ui.seen: points}
        if experiment is None or experiment.ended:
            out.update({ui.timer: gr.Timer(active=False), ctx.runs_version: (version or 0) + 1})
        return out

    ui.timer.tick(poll, [ui.experiment_id, ctx.runs_version, ui.seen],
                  [*ui.outputs(), ui.timer, ctx.runs_version, ui.seen], api_name="experiment_status",
                  show_progress="hidden", concurrency_limit=None)

    def reattach(owner):
        # One under way first; else one a restart cut short (the poll shows it once, with its Finish button).
        current = hx.active_experiment_id(studio, owner) or hx.finishable_experiment_id(studio, owner)
        return {ui.experiment_id: current, ui.timer: gr.Timer(active=True), ui.seen: -1} if current else gr.skip()

    ctx.owner.change(reattach, ctx.owner, [ui.experiment_id, ui.timer, ui.seen], **QUIET)
