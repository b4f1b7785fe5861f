"""Train tab, the form: method, preset, budget and each method's own settings, one widget per TrainForm field.

    form = section_train_form.build(ctx)           # in the Train tab's form column
    form.widgets()                                 # {"method": Radio, "steps": Number, ..., "lora_r": Number, ...}
    form.showing(studio, TrainForm(method="lora")) # every widget set to a form's values (a reload's re-attachment)

Widget bounds, labels and defaults come from the settings' declarations through widgets.number and
widgets.setting_widget: each method's box of settings is built from its settings dataclass (registry),
shown while that method is picked. The form keeps its own help in step: the method's description and
learning-rate hint follow the method, a preset fills the budget, and the budget line follows the numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import gradio as gr

from studio.config.settings import TrainConfig
from studio.model.methods import registry
from studio.service.engine import Studio

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train as ht
from .widgets import SettingWidget, number, setting_widget, widget_args

DEFAULT_METHOD = registry.DEFAULT_TRAINING
# The form's fields, each with a widget: the shared ones, then every method's settings by their declared names.
FORM_FIELDS = tuple(f.name for f in fields(ht.TrainForm))


@dataclass
class TrainFormWidgets:
    """The Train form: a widget for each TrainForm field, and what explains them."""
    method: gr.Radio
    steps: gr.Number
    batch_size: gr.Number
    train_size: gr.Number
    learning_rate: gr.Textbox      # text, not a number: a Number cannot be blank, and blank means the method's default
    seed: gr.Number
    name: gr.Textbox
    report_to: gr.Dropdown
    settings: dict[str, SettingWidget]   # each method's own settings by their declared names (lora_r, prompt_init)
    method_boxes: dict[str, gr.Group]    # a method with settings of its own -> their box, shown while it is picked
    method_help: gr.Markdown
    preset: gr.Radio
    budget: gr.Markdown            # what Start will train, and how long that takes here
    built_for_base: str            # the base model whose quick preset filled the numbers

    def widgets(self) -> dict[str, gr.components.FormComponent]:
        """Every TrainForm field's widget by the field's name, in the form's order (an event's inputs)."""
        return {name: self.settings[name] if name in self.settings else getattr(self, name) for name in FORM_FIELDS}

    def boxes_for(self, method: str) -> dict[gr.Group, gr.Group]:
        """The method boxes with only `method`'s shown."""
        return {box: gr.Group(visible=name == method) for name, box in self.method_boxes.items()}

    def showing(self, studio: Studio, form: ht.TrainForm) -> dict:
        """Every form widget set to `form`'s values, with the method's help, boxes and budget line to match."""
        out = {widget: getattr(form, name) for name, widget in self.widgets().items()}
        out.update({self.method_help: ht.method_help(studio, form.method), **self.boxes_for(form.method),
                    self.learning_rate: gr.Textbox(value=form.learning_rate, info=ht.learning_rate_hint(form.method),
                                                   placeholder=f"{ht.default_learning_rate(form.method):g}"),
                    self.budget: ht.budget_text(studio, form.steps, form.batch_size, form.train_size,
                                                method=form.method)})
        return out

    def showing_outputs(self) -> list:
        """The components `showing` sets, as an event's outputs."""
        return [*self.widgets().values(), self.method_help, *self.method_boxes.values(), self.learning_rate,
                self.budget]


def build(ctx: UiContext) -> TrainFormWidgets:
    """Lay out the form and wire its own help; returns its widgets for Start, the base model and the command."""
    form = _layout(ctx)
    _wire(ctx, form)
    return form


def _layout(ctx: UiContext) -> TrainFormWidgets:
    studio = ctx.studio
    quick = ht.preset_values(studio, "quick")   # fitted to the loaded base model
    values = ht.TrainForm(method=DEFAULT_METHOD, **quick)
    method = gr.Radio([(m.label, m.name) for m in registry.METHODS], value=DEFAULT_METHOD, label="Method")
    method_help = gr.Markdown(ht.method_help(studio, DEFAULT_METHOD), elem_classes=["method-help"],
                              elem_id="method-help")
    preset = gr.Radio([("Quick", "quick"), ("Standard", "standard")], value="quick", label="Preset",
                      info=ht.preset_info(studio))
    with gr.Row():
        steps = number(TrainConfig, "steps", values.steps)
        batch_size = number(TrainConfig, "batch_size", values.batch_size)
        train_size = number(TrainConfig, "train_size", values.train_size)
    budget = gr.Markdown(ht.budget_text(studio, values.steps, values.batch_size, values.train_size),
                         elem_id="train-budget", elem_classes=["train-budget"])
    with gr.Row():
        learning_rate = gr.Textbox("", label="Learning rate", info=ht.learning_rate_hint(DEFAULT_METHOD),
                                   placeholder=f"{ht.default_learning_rate(DEFAULT_METHOD):g}", max_length=32)
        seed = number(TrainConfig, "seed", values.seed)
    # "" (not Gradio's None): the value is the API's default, so a script may leave the name out.
    name = gr.Textbox(values.name, label="Run name (optional)", max_length=80, placeholder="e.g. lora-r8-quick")
    settings, method_boxes = _method_boxes(values)
    with gr.Accordion("Advanced settings", open=False, elem_id="train-advanced"):
        report_to = gr.Dropdown(ht.tracker_choices(), value=values.report_to, elem_id="train-report-to",
                                **widget_args(TrainConfig, "report_to"))
    return TrainFormWidgets(method=method, steps=steps, batch_size=batch_size, train_size=train_size,
                            learning_rate=learning_rate, seed=seed, name=name, report_to=report_to,
                            settings=settings, method_boxes=method_boxes, method_help=method_help, preset=preset,
                            budget=budget, built_for_base=studio.settings.base_model)


def _method_boxes(values: ht.TrainForm) -> tuple[dict[str, SettingWidget], dict[str, gr.Group]]:
    """A box per method with settings of its own, shown while that method is picked: its numbers and
    choices side by side, then its lists and texts. Returns (setting widgets by name, boxes by method)."""
    settings, boxes = {}, {}
    for method in registry.METHODS:
        declared = [s for m, s in registry.form_settings() if m is method]
        if not declared:
            continue   # full fine-tuning: nothing to set but the shared budget
        short = [s for s in declared if s.kind in (int, float) or s.choices is not None]
        with gr.Group(visible=method.name == DEFAULT_METHOD) as boxes[method.name]:
            if short:
                with gr.Row():
                    for s in short:
                        settings[s.field] = setting_widget(method.settings, s.field, getattr(values, s.field))
            for s in declared:
                if s not in short:
                    settings[s.field] = setting_widget(method.settings, s.field, getattr(values, s.field))
    return settings, boxes


def _wire(ctx: UiContext, form: TrainFormWidgets) -> None:
    def on_method(key):
        key = key if key in registry.NAMES else DEFAULT_METHOD
        return {form.method_help: ht.method_help(ctx.studio, key), **form.boxes_for(key),
                form.learning_rate: gr.Textbox(info=ht.learning_rate_hint(key),
                                               placeholder=f"{ht.default_learning_rate(key):g}")}

    form.method.change(on_method, form.method, [form.method_help, *form.method_boxes.values(), form.learning_rate],
                       **QUIET)

    @guarded
    def on_preset(name_):
        values = ht.preset_values(ctx.studio, name_)
        return {form.steps: values["steps"], form.batch_size: values["batch_size"],
                form.train_size: values["train_size"]}

    form.preset.input(on_preset, form.preset, [form.steps, form.batch_size, form.train_size], **QUIET)

    def on_budget(method, steps, batch_size, train_size):
        return ht.budget_text(ctx.studio, steps, batch_size, train_size, method=method)

    # One event for every trigger (one writer). On page load too: the line built with the page is the
    # app's start-up estimate, from the model's size, and runs measured since then change it. For the
    # picked method: methods train at different speeds.
    # Raw values: a half-typed number gets the budget line's own message, not Gradio's error toast.
    budget_inputs = [form.method, form.steps, form.batch_size, form.train_size]
    gr.on([*(box.change for box in budget_inputs), ctx.demo.load], on_budget, budget_inputs, form.budget,
          preprocess=False, trigger_mode="always_last", **QUIET)
